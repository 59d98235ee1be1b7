-- name: dns_top_queries
-- title: Most queried DNS names
-- description: The DNS names looked up most often, with the number of clients, query types and
--   NXDOMAIN answers: a baseline of what the network resolves, and names queried
--   suspiciously often. Zeek dns.log; Suricata DNS answers when Zeek logged no DNS.
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
