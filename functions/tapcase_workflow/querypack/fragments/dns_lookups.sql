-- fragment: dns_lookups
-- DNS lookups (client, query, qtype, rcode): Zeek dns.log; Suricata DNS answers when Zeek logged no DNS.
-- Used as a CTE body: WITH dns AS ({{> dns_lookups}})
    SELECT d.ts, d.id_orig_h AS client, lower(d.query) AS query, d.qtype_name AS qtype, d.rcode_name AS rcode
    FROM {{database}}.zeek_dns d
    WHERE d.investigation_id = '{{investigation_id}}' AND d.query IS NOT NULL
    UNION ALL
    SELECT e.ts, e.src_ip, lower(e.dns.rrname), e.dns.rrtype, e.dns.rcode
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'dns'
      AND e.dns.type = 'response' AND e.dns.rrname IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_dns z WHERE z.investigation_id = '{{investigation_id}}')
