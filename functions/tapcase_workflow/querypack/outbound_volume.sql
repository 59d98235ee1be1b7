-- name: outbound_volume
-- title: Outbound volume (exfiltration)
-- description: Bytes sent from private addresses to public ones, per pair, largest first, with
--   the ratio of bytes sent to bytes received: a host that uploads far more than it downloads
--   to one destination may be exfiltrating. Zeek conn.log (payload bytes); Suricata flow events
--   (packet bytes) when Zeek logged no connections.
-- tables: zeek_conn, suricata_eve
WITH conns AS (
    {{> connections}}
)
SELECT src,
       dst,
       count(*) AS connections,
       sum(src_bytes) AS bytes_out,
       sum(dst_bytes) AS bytes_in,
       round(CAST(sum(src_bytes) AS double) / CAST(greatest(sum(dst_bytes), 1) AS double), 3) AS out_in_ratio,
       slice(array_sort(array_agg(DISTINCT dst_port) FILTER (WHERE dst_port IS NOT NULL)), 1, 10) AS dst_ports,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM conns
WHERE regexp_like(src, '{{private_ip_pattern}}')
  AND NOT regexp_like(dst, '{{non_public_ip_pattern}}')
GROUP BY src, dst
HAVING sum(src_bytes) > 0
ORDER BY bytes_out DESC, src, dst
LIMIT 50
