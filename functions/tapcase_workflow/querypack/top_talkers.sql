-- name: top_talkers
-- title: Top talkers
-- description: Host pairs ranked by bytes exchanged (both directions), with connection counts,
--   the first destination ports and the time span. Zeek conn.log; Suricata flow events when
--   Zeek logged no connections. The mirroring tunnel itself (VXLAN, UDP 4789) is left out.
-- tables: zeek_conn, suricata_eve
WITH conns AS (
    SELECT c.ts, c.id_orig_h AS src, c.id_resp_h AS dst, c.id_resp_p AS dst_port,
           COALESCE(c.orig_bytes, 0) AS src_bytes, COALESCE(c.resp_bytes, 0) AS dst_bytes
    FROM {{database}}.zeek_conn c
    WHERE c.investigation_id = '{{investigation_id}}'
      AND NOT COALESCE(c.proto = 'udp' AND c.id_resp_p = 4789, false)
    UNION ALL
    SELECT f.ts, f.src_ip, f.dest_ip, f.dest_port,
           COALESCE(f.flow.bytes_toserver, 0), COALESCE(f.flow.bytes_toclient, 0)
    FROM {{database}}.suricata_eve f
    WHERE f.investigation_id = '{{investigation_id}}' AND f.event_type = 'flow'
      AND NOT COALESCE(lower(f.proto) = 'udp' AND f.dest_port = 4789, false)
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_conn z WHERE z.investigation_id = '{{investigation_id}}')
)
SELECT src,
       dst,
       count(*) AS connections,
       sum(src_bytes) AS src_bytes,
       sum(dst_bytes) AS dst_bytes,
       sum(src_bytes + dst_bytes) AS total_bytes,
       slice(array_sort(array_agg(DISTINCT dst_port) FILTER (WHERE dst_port IS NOT NULL)), 1, 10) AS dst_ports,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM conns
GROUP BY src, dst
ORDER BY total_bytes DESC, connections DESC, src, dst
LIMIT 50
