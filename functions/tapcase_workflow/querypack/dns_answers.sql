-- name: dns_answers
-- title: DNS answers: what names resolved to
-- description: Each name looked up (A, AAAA, CNAME), with each address or name it resolved to:
--   lookups answered so, clients, first and last time. A C2 domain's address shows up here.
--   Names of AWS service endpoints of the region and under popular domains are left out unless
--   the finding names them; reverse (PTR) lookups too. Zeek dns.log answers; Suricata DNS
--   answers when Zeek logged no DNS.
-- tables: zeek_dns, suricata_eve
WITH answers AS (
    SELECT d.ts, d.id_orig_h AS client, lower(d.query) AS query, d.qtype_name AS qtype, t.answer
    FROM {{database}}.zeek_dns d
    CROSS JOIN UNNEST(d.answers) AS t(answer)
    WHERE d.investigation_id = '{{investigation_id}}' AND d.query IS NOT NULL
    UNION ALL
    SELECT e.ts, e.src_ip, lower(e.dns.rrname), e.dns.rrtype, t.answer
    FROM {{database}}.suricata_eve e
    CROSS JOIN UNNEST(transform(e.dns.answers, a -> a.rdata)) AS t(answer)
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'dns' AND e.dns.type = 'response'
      AND e.dns.rrname IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_dns z WHERE z.investigation_id = '{{investigation_id}}')
)
SELECT query,
       qtype,
       answer,
       count(*) AS lookups,
       count(DISTINCT client) AS clients,
       slice(array_sort(array_agg(DISTINCT client)), 1, 5) AS example_clients,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM answers
WHERE answer IS NOT NULL AND answer <> '' AND qtype IN ('A', 'AAAA', 'CNAME')
  AND NOT regexp_like(query, '\.(in-addr|ip6)\.arpa$')
  AND (NOT regexp_like(query, '{{benign_domain_pattern}}') OR regexp_like(query, '{{finding_domain_or_none_pattern}}'))
GROUP BY query, qtype, answer
ORDER BY lookups DESC, query, qtype, answer
LIMIT 500
