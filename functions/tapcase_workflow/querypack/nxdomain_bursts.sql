-- name: nxdomain_bursts
-- title: NXDOMAIN bursts
-- description: Clients that got 10 or more NXDOMAIN answers within one minute: a DGA walking
--   its list of candidate domains, or a misconfigured host. Zeek dns.log; Suricata DNS answers
--   when Zeek logged no DNS.
-- tables: zeek_dns, suricata_eve
WITH dns AS (
    {{> dns_lookups}}
),
failures AS (
    SELECT client, query, floor(ts / 60) * 60 AS minute_start,
           COALESCE(regexp_extract(query, '([^.]+\.[^.]+)$', 1), query) AS base_domain
    FROM dns
    WHERE rcode = 'NXDOMAIN'
)
SELECT client,
       minute_start,
       count(*) AS nxdomain,
       count(DISTINCT query) AS names,
       count(DISTINCT base_domain) AS base_domains,
       slice(array_sort(array_agg(DISTINCT query)), 1, 5) AS examples
FROM failures
GROUP BY client, minute_start
HAVING count(*) >= 10
ORDER BY nxdomain DESC, client, minute_start
LIMIT 100
