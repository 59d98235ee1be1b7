-- name: finding_port
-- title: Traffic on the finding's ports
-- description: Connections to or from the ports named in the GuardDuty finding (e.g. 22 for an
--   SSH brute force, the probed port of a port probe), per host pair and port. Zeek conn.log;
--   Suricata flow events when Zeek logged no connections.
-- tables: zeek_conn, suricata_eve
-- requires: finding_ports
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
matched AS (
    SELECT ts, src, dst, proto, src_bytes, dst_bytes,
           CASE WHEN dst_port IN ({{finding_ports}}) THEN dst_port ELSE src_port END AS port
    FROM conns
    WHERE dst_port IN ({{finding_ports}}) OR src_port IN ({{finding_ports}})
)
SELECT src,
       dst,
       port,
       proto,
       count(*) AS connections,
       sum(src_bytes) AS src_bytes,
       sum(dst_bytes) AS dst_bytes,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM matched
GROUP BY src, dst, port, proto
ORDER BY connections DESC, src, dst, port, proto
LIMIT 500
