-- name: notice_weird_summary
-- title: Zeek notices, weirds and Suricata anomalies
-- description: Zeek notices (policy detections such as invalid certificates, scans, brute
--   force) and weirds (protocol violations), and Suricata anomaly events, counted by name with
--   the hosts involved and one example message.
-- tables: zeek_notice, zeek_weird, suricata_eve
WITH events AS (
    SELECT 'notice' AS log, n.note AS name, COALESCE(n.src, n.id_orig_h) AS host,
           COALESCE(n.dst, n.id_resp_h) AS peer, n.msg AS detail, n.ts
    FROM {{database}}.zeek_notice n
    WHERE n.investigation_id = '{{investigation_id}}'
    UNION ALL
    SELECT 'weird', w.name, w.id_orig_h, w.id_resp_h, w.addl, w.ts
    FROM {{database}}.zeek_weird w
    WHERE w.investigation_id = '{{investigation_id}}'
    UNION ALL
    SELECT 'suricata_anomaly', e.anomaly.event, e.src_ip, e.dest_ip,
           concat(COALESCE(e.anomaly.type, ''), ' ', COALESCE(e.anomaly.layer, '')), e.ts
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'anomaly'
)
SELECT log,
       COALESCE(name, '(none)') AS name,
       count(*) AS events,
       count(DISTINCT host) AS hosts,
       count(DISTINCT peer) AS peers,
       min(detail) AS example_detail,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM events
GROUP BY log, COALESCE(name, '(none)')
ORDER BY events DESC, log, name
LIMIT 200
