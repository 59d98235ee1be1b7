-- name: nxdomain_bursts
-- title: NXDOMAIN bursts
-- description: Clients that got 10 or more NXDOMAIN answers within one minute: a DGA walking
--   its list of candidate domains, a reverse-lookup sweep (reverse_lookups: PTR names under
--   in-addr.arpa/ip6.arpa, e.g. a scanner resolving the addresses it probes) or a misconfigured
--   host. Names of AWS service endpoints of the region and under popular domains are not counted
--   unless the finding names them. Zeek dns.log; Suricata DNS answers when Zeek logged no DNS.
-- tables: zeek_dns, suricata_eve
WITH dns AS (
    {{> dns_lookups}}
),
failures AS (
    SELECT client, query, floor(ts / 60) * 60 AS minute_start,
           COALESCE(regexp_extract(query, '([^.]+\.[^.]+)$', 1), query) AS base_domain
    FROM dns
    WHERE rcode = 'NXDOMAIN'
      AND (NOT regexp_like(query, '{{benign_domain_pattern}}')
           OR regexp_like(query, '{{finding_domain_or_none_pattern}}'))
)
SELECT client,
       minute_start,
       count(*) AS nxdomain,
       count(DISTINCT query) AS names,
       count(DISTINCT base_domain) AS base_domains,
       count_if(regexp_like(query, '\.(in-addr|ip6)\.arpa$')) AS reverse_lookups,
       slice(array_sort(array_agg(DISTINCT query)), 1, 5) AS examples
FROM failures
GROUP BY client, minute_start
HAVING count(*) >= 10
ORDER BY nxdomain DESC, client, minute_start
LIMIT 100
