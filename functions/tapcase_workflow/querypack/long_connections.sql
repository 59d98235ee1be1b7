-- name: long_connections
-- title: Long connections
-- description: Host pairs whose connections on one port add up to an hour or more (RITA's
--   "long connections"): remote shells, tunnels and C2 channels kept open. Zeek conn.log;
--   Suricata flow events (flow age) when Zeek logged no connections.
-- tables: zeek_conn, suricata_eve
WITH conns AS (
    SELECT c.ts, c.id_orig_h AS src, c.id_resp_h AS dst, c.id_resp_p AS dst_port, c.proto,
           COALESCE(c.duration, CAST(0 AS double)) AS duration,
           COALESCE(c.orig_bytes, 0) + COALESCE(c.resp_bytes, 0) AS bytes
    FROM {{database}}.zeek_conn c
    WHERE c.investigation_id = '{{investigation_id}}'
      AND NOT COALESCE(c.proto = 'udp' AND c.id_resp_p = 4789, false)
    UNION ALL
    SELECT f.ts, f.src_ip, f.dest_ip, f.dest_port, lower(f.proto),
           CAST(COALESCE(f.flow.age, 0) AS double),
           COALESCE(f.flow.bytes_toserver, 0) + COALESCE(f.flow.bytes_toclient, 0)
    FROM {{database}}.suricata_eve f
    WHERE f.investigation_id = '{{investigation_id}}' AND f.event_type = 'flow'
      AND NOT COALESCE(lower(f.proto) = 'udp' AND f.dest_port = 4789, false)
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_conn z WHERE z.investigation_id = '{{investigation_id}}')
)
SELECT src,
       dst,
       dst_port,
       proto,
       count(*) AS connections,
       round(sum(duration), 3) AS total_duration,
       round(max(duration), 3) AS longest_duration,
       sum(bytes) AS bytes,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM conns
GROUP BY src, dst, dst_port, proto
HAVING sum(duration) >= 3600
ORDER BY total_duration DESC, src, dst, dst_port, proto
LIMIT 100
