-- name: dns_tunneling
-- title: DNS tunnelling volume
-- description: Clients that send many distinct names, long labels or many TXT/NULL queries under
--   one registered domain: data carried in DNS names (iodine, dnscat2, DNS exfiltration).
--   Flagged when a client asks 20 or more distinct names under one domain, a first label of
--   40 characters or more, or 10 or more TXT/NULL queries. Reverse lookups are left out.
--   Zeek dns.log; Suricata DNS answers when Zeek logged no DNS.
-- tables: zeek_dns, suricata_eve
WITH dns AS (
    {{> dns_lookups}}
),
named AS (
    SELECT client, query, qtype,
           COALESCE(regexp_extract(query, '([^.]+\.[^.]+)$', 1), query) AS base_domain,
           split_part(query, '.', 1) AS first_label
    FROM dns
    WHERE strpos(query, '.') > 0
      AND NOT regexp_like(query, '\.(in-addr|ip6)\.arpa$')
)
SELECT client,
       base_domain,
       count(*) AS lookups,
       count(DISTINCT query) AS names,
       max(length(first_label)) AS longest_label,
       max(length(query)) AS longest_name,
       round(avg(CAST(length(query) AS double)), 1) AS avg_name_length,
       sum(length(query)) AS name_bytes,
       count_if(qtype = 'TXT') AS txt,
       count_if(qtype = 'NULL') AS null_queries,
       count_if(qtype = 'CNAME') AS cname,
       count_if(qtype = 'MX') AS mx
FROM named
GROUP BY client, base_domain
HAVING count(DISTINCT query) >= 20
    OR max(length(first_label)) >= 40
    OR count_if(qtype IN ('TXT', 'NULL')) >= 10
ORDER BY names DESC, name_bytes DESC, client, base_domain
LIMIT 100
