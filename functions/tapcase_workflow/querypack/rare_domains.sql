-- name: rare_domains
-- title: Rare domains
-- description: Registered domains (last two labels) that only one or two clients looked up,
--   least looked-up first: first contact with new infrastructure, typo-squats, one-off C2
--   domains. Reverse (PTR) lookups are left out. Zeek dns.log; Suricata DNS answers when Zeek
--   logged no DNS.
-- tables: zeek_dns, suricata_eve
WITH dns AS (
    {{> dns_lookups}}
),
named AS (
    SELECT ts, client, query,
           COALESCE(regexp_extract(query, '([^.]+\.[^.]+)$', 1), query) AS base_domain
    FROM dns
    WHERE strpos(query, '.') > 0
      AND NOT regexp_like(query, '\.(in-addr|ip6)\.arpa$')
)
SELECT base_domain,
       count(DISTINCT client) AS clients,
       count(*) AS lookups,
       count(DISTINCT query) AS names,
       slice(array_sort(array_agg(DISTINCT query)), 1, 5) AS example_names,
       slice(array_sort(array_agg(DISTINCT client)), 1, 5) AS example_clients,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM named
GROUP BY base_domain
HAVING count(DISTINCT client) <= 2
ORDER BY clients, lookups, base_domain
LIMIT 100
