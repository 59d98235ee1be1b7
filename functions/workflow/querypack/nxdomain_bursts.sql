-- name: nxdomain_bursts
-- title: NXDOMAIN bursts
-- description: Clients that got 10 or more NXDOMAIN answers within one minute: a DGA walking
--   its list of candidate domains, or a misconfigured host. Zeek dns.log; Suricata DNS answers
--   when Zeek logged no DNS.
-- tables: zeek_dns, suricata_eve
WITH dns AS (
    SELECT d.ts, d.id_orig_h AS client, lower(d.query) AS query, d.qtype_name AS qtype, d.rcode_name AS rcode
    FROM {{database}}.zeek_dns d
    WHERE d.investigation_id = '{{investigation_id}}' AND d.query IS NOT NULL
    UNION ALL
    SELECT e.ts, e.src_ip, lower(e.dns.rrname), e.dns.rrtype, e.dns.rcode
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'dns'
      AND e.dns.type = 'response' AND e.dns.rrname IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_dns z WHERE z.investigation_id = '{{investigation_id}}')
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
