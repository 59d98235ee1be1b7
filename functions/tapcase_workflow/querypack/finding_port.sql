-- name: finding_port
-- title: Traffic on the finding's ports
-- description: Connections to or from the ports named in the GuardDuty finding (e.g. 22 for an
--   SSH brute force, the probed port of a port probe), per host pair and port. Zeek conn.log;
--   Suricata flow events when Zeek logged no connections.
-- tables: zeek_conn, suricata_eve
-- requires: finding_ports
WITH conns AS (
    {{> connections}}
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
