-- name: suricata_alert_summary
-- title: Suricata alerts by signature
-- description: Every Suricata signature that fired, with its category and severity (1 = most
--   severe), how often, between which hosts and when. Suricata alert events.
-- tables: suricata_eve
SELECT e.alert.signature_id AS signature_id,
       e.alert.signature AS signature,
       e.alert.category AS category,
       min(e.alert.severity) AS severity,
       count(*) AS alerts,
       count(DISTINCT e.src_ip) AS sources,
       count(DISTINCT e.dest_ip) AS destinations,
       slice(array_sort(array_agg(DISTINCT e.src_ip) FILTER (WHERE e.src_ip IS NOT NULL)), 1, 5) AS example_sources,
       slice(array_sort(array_agg(DISTINCT e.dest_ip) FILTER (WHERE e.dest_ip IS NOT NULL)), 1, 5) AS example_destinations,
       min(e.ts) AS first_ts,
       max(e.ts) AS last_ts
FROM {{database}}.suricata_eve e
WHERE e.investigation_id = '{{investigation_id}}'
  AND e.event_type = 'alert'
GROUP BY e.alert.signature_id, e.alert.signature, e.alert.category
ORDER BY alerts DESC, severity, signature_id, signature, category
LIMIT 200
