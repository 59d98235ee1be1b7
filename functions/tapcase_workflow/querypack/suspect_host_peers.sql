-- name: suspect_host_peers
-- title: Everything the suspect host talked to
-- description: Every peer of the suspect instance's addresses, inbound and outbound, with
--   ports, connections and bytes: the scope of the incident at a glance. Zeek conn.log;
--   Suricata flow events when Zeek logged no connections.
-- tables: zeek_conn, suricata_eve
-- requires: suspect_ips
WITH conns AS (
    {{> connections}}
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
