-- name: coverage_before
-- title: Before the finding: what the sensor fleet already kept (coverage mode)
-- description: The suspect was covered (coverage mode: its interfaces mirrored to the sensor fleet
--   all the time), so the fleet's rolling logs hold its traffic before the finding. Its peers in
--   the hour before GuardDuty last saw the activity (without a finding, before the capture): flows
--   each way, packets and bytes, service ports, application protocols, DNS names, TLS SNI, HTTP
--   hosts and Suricata alerts, first and last time. Runs only for a covered instance.
-- tables: coverage_events
-- requires: suspect_ips, coverage_window
WITH events AS (
    SELECT e.*,
           CASE WHEN e.src_ip IN ({{suspect_ips}}) THEN e.dest_ip ELSE e.src_ip END AS peer,
           CASE WHEN e.src_ip IN ({{suspect_ips}}) THEN 'outbound' ELSE 'inbound' END AS direction,
           CASE WHEN e.src_ip IN ({{suspect_ips}}) THEN e.dest_port ELSE e.src_port END AS peer_port
    FROM {{database}}.coverage_events e
    WHERE e.day IN ({{coverage_days}})
      AND e.event_time >= {{coverage_start}}
      AND e.event_time < {{coverage_end}}
      AND (e.src_ip IN ({{suspect_ips}}) OR e.dest_ip IN ({{suspect_ips}}))
)
SELECT peer,
       array_join(array_sort(array_agg(DISTINCT direction)), ',') AS directions,
       slice(array_sort(array_agg(DISTINCT peer_port)), 1, 10) AS peer_ports,
       array_join(slice(array_sort(array_agg(DISTINCT app_proto) FILTER (WHERE app_proto IS NOT NULL AND app_proto <> 'failed')), 1, 5), ',') AS app_protos,
       count_if(event_type = 'flow') AS flows,
       coalesce(sum(CASE WHEN direction = 'outbound' THEN pkts_toserver ELSE pkts_toclient END) FILTER (WHERE event_type = 'flow'), 0) AS packets_out,
       coalesce(sum(CASE WHEN direction = 'outbound' THEN pkts_toclient ELSE pkts_toserver END) FILTER (WHERE event_type = 'flow'), 0) AS packets_in,
       coalesce(sum(CASE WHEN direction = 'outbound' THEN bytes_toserver ELSE bytes_toclient END) FILTER (WHERE event_type = 'flow'), 0) AS bytes_out,
       coalesce(sum(CASE WHEN direction = 'outbound' THEN bytes_toclient ELSE bytes_toserver END) FILTER (WHERE event_type = 'flow'), 0) AS bytes_in,
       array_join(slice(array_sort(array_agg(DISTINCT coalesce(tls_sni, http_host, dns_rrname)) FILTER (WHERE coalesce(tls_sni, http_host, dns_rrname) IS NOT NULL)), 1, 5), ',') AS names,
       count_if(event_type = 'alert') AS alerts,
       array_join(slice(array_sort(array_agg(DISTINCT alert_signature) FILTER (WHERE alert_signature IS NOT NULL)), 1, 5), ' | ') AS signatures,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM events
GROUP BY peer
ORDER BY alerts DESC, bytes_out + bytes_in DESC, flows DESC, peer
LIMIT 200
