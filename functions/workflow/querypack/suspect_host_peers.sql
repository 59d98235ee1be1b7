-- name: suspect_host_peers
-- title: Everything the suspect host talked to
-- description: Every peer of the suspect instance's addresses, inbound and outbound, with
--   ports, connections and bytes: the scope of the incident at a glance. Zeek conn.log;
--   Suricata flow events when Zeek logged no connections.
-- tables: zeek_conn, suricata_eve
-- requires: suspect_ips
WITH conns AS (
    SELECT c.ts, c.id_orig_h AS src, c.id_resp_h AS dst, c.id_orig_p AS src_port, c.id_resp_p AS dst_port, c.proto,
           COALESCE(c.orig_bytes, 0) AS src_bytes, COALESCE(c.resp_bytes, 0) AS dst_bytes
    FROM {{database}}.zeek_conn c
    WHERE c.investigation_id = '{{investigation_id}}'
      AND NOT COALESCE(c.proto = 'udp' AND c.id_resp_p = 4789, false)
    UNION ALL
    SELECT f.ts, f.src_ip, f.dest_ip, f.src_port, f.dest_port, lower(f.proto),
           COALESCE(f.flow.bytes_toserver, 0), COALESCE(f.flow.bytes_toclient, 0)
    FROM {{database}}.suricata_eve f
    WHERE f.investigation_id = '{{investigation_id}}' AND f.event_type = 'flow'
      AND NOT COALESCE(lower(f.proto) = 'udp' AND f.dest_port = 4789, false)
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_conn z WHERE z.investigation_id = '{{investigation_id}}')
),
oriented AS (
    SELECT ts,
           CASE WHEN src IN ({{suspect_ips}}) THEN dst ELSE src END AS peer,
           CASE WHEN src IN ({{suspect_ips}}) THEN 'outbound' ELSE 'inbound' END AS direction,
           dst_port, proto,
           CASE WHEN src IN ({{suspect_ips}}) THEN src_bytes ELSE dst_bytes END AS bytes_sent,
           CASE WHEN src IN ({{suspect_ips}}) THEN dst_bytes ELSE src_bytes END AS bytes_received
    FROM conns
    WHERE src IN ({{suspect_ips}}) OR dst IN ({{suspect_ips}})
)
SELECT peer,
       direction,
       count(*) AS connections,
       count(DISTINCT dst_port) AS ports,
       slice(array_sort(array_agg(DISTINCT dst_port) FILTER (WHERE dst_port IS NOT NULL)), 1, 10) AS dst_ports,
       slice(array_sort(array_agg(DISTINCT proto) FILTER (WHERE proto IS NOT NULL)), 1, 5) AS protocols,
       sum(bytes_sent) AS bytes_sent,
       sum(bytes_received) AS bytes_received,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM oriented
GROUP BY peer, direction
ORDER BY connections DESC, bytes_sent DESC, peer, direction
LIMIT 500
