-- name: finding_domain
-- title: Activity with the finding's domain
-- description: A timeline of lookups of the domains named in the GuardDuty finding (and their
--   subdomains), TLS sessions and HTTP requests naming them, and Suricata alerts on them.
--   Zeek dns/ssl/http logs and Suricata alerts; Suricata's own DNS answers, TLS and HTTP events
--   when Zeek logged none of that kind.
-- tables: zeek_dns, zeek_ssl, zeek_http, suricata_eve
-- requires: finding_domains
WITH events AS (
    SELECT d.ts, 'dns' AS source, d.id_orig_h AS src, d.id_resp_h AS dst, lower(d.query) AS name,
           concat(COALESCE(d.qtype_name, '-'), ' ', COALESCE(d.rcode_name, '-'), ' ',
                  COALESCE(array_join(d.answers, ','), '')) AS detail
    FROM {{database}}.zeek_dns d
    WHERE d.investigation_id = '{{investigation_id}}'
      AND regexp_like(lower(d.query), '{{finding_domain_pattern}}')
    UNION ALL
    SELECT s.ts, 'tls', s.id_orig_h, s.id_resp_h, lower(s.server_name),
           concat(COALESCE(s.version, '-'), ' ', COALESCE(s.validation_status, ''))
    FROM {{database}}.zeek_ssl s
    WHERE s.investigation_id = '{{investigation_id}}'
      AND regexp_like(lower(s.server_name), '{{finding_domain_pattern}}')
    UNION ALL
    SELECT h.ts, 'http', h.id_orig_h, h.id_resp_h, lower(split_part(h.host, ':', 1)),
           concat(COALESCE(h.method, '-'), ' ', COALESCE(h.uri, ''), ' ', COALESCE(h.user_agent, ''))
    FROM {{database}}.zeek_http h
    WHERE h.investigation_id = '{{investigation_id}}'
      AND regexp_like(lower(split_part(h.host, ':', 1)), '{{finding_domain_pattern}}')
    UNION ALL
    SELECT e.ts, 'dns', e.src_ip, e.dest_ip, lower(e.dns.rrname),
           concat(COALESCE(e.dns.rrtype, '-'), ' ', COALESCE(e.dns.rcode, '-'))
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'dns' AND e.dns.type = 'response'
      AND regexp_like(lower(COALESCE(e.dns.rrname, '')), '{{finding_domain_pattern}}')
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_dns z WHERE z.investigation_id = '{{investigation_id}}')
    UNION ALL
    SELECT e.ts, 'tls', e.src_ip, e.dest_ip, lower(e.tls.sni), COALESCE(e.tls.version, '-')
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'tls'
      AND regexp_like(lower(COALESCE(e.tls.sni, '')), '{{finding_domain_pattern}}')
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_ssl z WHERE z.investigation_id = '{{investigation_id}}')
    UNION ALL
    SELECT e.ts, 'http', e.src_ip, e.dest_ip, lower(split_part(e.http.hostname, ':', 1)),
           concat(COALESCE(e.http.http_method, '-'), ' ', COALESCE(e.http.url, ''), ' ',
                  COALESCE(e.http.http_user_agent, ''))
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'http'
      AND regexp_like(lower(split_part(COALESCE(e.http.hostname, ''), ':', 1)), '{{finding_domain_pattern}}')
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_http z WHERE z.investigation_id = '{{investigation_id}}')
    UNION ALL
    SELECT e.ts, 'alert', e.src_ip, e.dest_ip,
           lower(COALESCE(e.dns.rrname, e.http.hostname, e.tls.sni)),
           concat(CAST(e.alert.signature_id AS varchar), ' ', COALESCE(e.alert.signature, ''))
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'alert'
      AND regexp_like(lower(COALESCE(e.dns.rrname, e.http.hostname, e.tls.sni, '')), '{{finding_domain_pattern}}')
)
SELECT ts, source, src, dst, name, detail
FROM events
ORDER BY ts, source, src, dst, name, detail
LIMIT 1000
