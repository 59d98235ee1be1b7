-- name: dns_top_queries
-- title: Most queried DNS names
-- description: The DNS names looked up most often, with the number of clients, query types and
--   NXDOMAIN answers: a baseline of what the network resolves, and names queried
--   suspiciously often. Zeek dns.log; Suricata DNS answers when Zeek logged no DNS.
-- tables: zeek_dns, suricata_eve
WITH dns AS (
    {{> dns_lookups}}
)
SELECT query,
       count(*) AS lookups,
       count(DISTINCT client) AS clients,
       slice(array_sort(array_agg(DISTINCT qtype) FILTER (WHERE qtype IS NOT NULL)), 1, 5) AS qtypes,
       count_if(rcode = 'NXDOMAIN') AS nxdomain,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM dns
GROUP BY query
ORDER BY lookups DESC, query
LIMIT 50
