-- name: finding_remote_ip
-- title: Activity with the finding's remote IP
-- description: A timeline of everything involving the remote IP addresses named in the
--   GuardDuty finding: connections, DNS answers that resolved to them, HTTP and TLS sessions
--   with them, and Suricata alerts. Zeek conn/dns/http/ssl logs and Suricata alerts; Suricata's
--   own flow, DNS, HTTP and TLS events when Zeek logged none of that kind.
-- tables: zeek_conn, zeek_dns, zeek_http, zeek_ssl, suricata_eve
-- requires: finding_remote_ips
WITH events AS (
    SELECT c.ts, 'conn' AS source, c.id_orig_h AS src, c.id_resp_h AS dst, c.id_resp_p AS dst_port,
           concat(c.proto, ' ', COALESCE(c.service, '-'), ' ', COALESCE(c.conn_state, '-'), ' ',
                  CAST(COALESCE(c.orig_bytes, 0) AS varchar), '/', CAST(COALESCE(c.resp_bytes, 0) AS varchar),
                  ' bytes') AS detail
    FROM {{database}}.zeek_conn c
    WHERE c.investigation_id = '{{investigation_id}}'
      AND (c.id_orig_h IN ({{finding_remote_ips}}) OR c.id_resp_h IN ({{finding_remote_ips}}))
    UNION ALL
    SELECT d.ts, 'dns', d.id_orig_h, d.id_resp_h, d.id_resp_p,
           concat(COALESCE(d.query, '-'), ' -> ', array_join(d.answers, ','))
    FROM {{database}}.zeek_dns d
    WHERE d.investigation_id = '{{investigation_id}}'
      AND cardinality(filter(d.answers, a -> a IN ({{finding_remote_ips}}))) > 0
    UNION ALL
    SELECT h.ts, 'http', h.id_orig_h, h.id_resp_h, h.id_resp_p,
           concat(COALESCE(h.method, '-'), ' ', COALESCE(h.host, '-'), COALESCE(h.uri, ''), ' ',
                  COALESCE(CAST(h.status_code AS varchar), '-'))
    FROM {{database}}.zeek_http h
    WHERE h.investigation_id = '{{investigation_id}}'
      AND (h.id_orig_h IN ({{finding_remote_ips}}) OR h.id_resp_h IN ({{finding_remote_ips}}))
    UNION ALL
    SELECT s.ts, 'tls', s.id_orig_h, s.id_resp_h, s.id_resp_p,
           concat(COALESCE(s.version, '-'), ' sni=', COALESCE(s.server_name, '-'), ' ',
                  COALESCE(s.validation_status, ''))
    FROM {{database}}.zeek_ssl s
    WHERE s.investigation_id = '{{investigation_id}}'
      AND (s.id_orig_h IN ({{finding_remote_ips}}) OR s.id_resp_h IN ({{finding_remote_ips}}))
    UNION ALL
    SELECT e.ts, 'conn', e.src_ip, e.dest_ip, e.dest_port,
           concat(lower(e.proto), ' ', COALESCE(e.app_proto, '-'), ' ', COALESCE(e.flow.state, '-'), ' ',
                  CAST(COALESCE(e.flow.bytes_toserver, 0) AS varchar), '/',
                  CAST(COALESCE(e.flow.bytes_toclient, 0) AS varchar), ' bytes')
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'flow'
      AND (e.src_ip IN ({{finding_remote_ips}}) OR e.dest_ip IN ({{finding_remote_ips}}))
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_conn z WHERE z.investigation_id = '{{investigation_id}}')
    UNION ALL
    SELECT e.ts, 'dns', e.src_ip, e.dest_ip, e.dest_port,
           concat(COALESCE(e.dns.rrname, '-'), ' -> ',
                  array_join(transform(e.dns.answers, a -> COALESCE(a.rdata, '')), ','))
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'dns' AND e.dns.type = 'response'
      AND cardinality(filter(e.dns.answers, a -> a.rdata IN ({{finding_remote_ips}}))) > 0
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_dns z WHERE z.investigation_id = '{{investigation_id}}')
    UNION ALL
    SELECT e.ts, 'http', e.src_ip, e.dest_ip, e.dest_port,
           concat(COALESCE(e.http.http_method, '-'), ' ', COALESCE(e.http.hostname, '-'), COALESCE(e.http.url, ''),
                  ' ', COALESCE(CAST(e.http.status AS varchar), '-'))
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'http'
      AND (e.src_ip IN ({{finding_remote_ips}}) OR e.dest_ip IN ({{finding_remote_ips}}))
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_http z WHERE z.investigation_id = '{{investigation_id}}')
    UNION ALL
    SELECT e.ts, 'tls', e.src_ip, e.dest_ip, e.dest_port,
           concat(COALESCE(e.tls.version, '-'), ' sni=', COALESCE(e.tls.sni, '-'))
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'tls'
      AND (e.src_ip IN ({{finding_remote_ips}}) OR e.dest_ip IN ({{finding_remote_ips}}))
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_ssl z WHERE z.investigation_id = '{{investigation_id}}')
    UNION ALL
    SELECT e.ts, 'alert', e.src_ip, e.dest_ip, e.dest_port,
           concat(CAST(e.alert.signature_id AS varchar), ' ', COALESCE(e.alert.signature, ''))
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'alert'
      AND (e.src_ip IN ({{finding_remote_ips}}) OR e.dest_ip IN ({{finding_remote_ips}}))
)
SELECT ts, source, src, dst, dst_port, detail
FROM events
ORDER BY ts, source, src, dst, dst_port, detail
LIMIT 1000
