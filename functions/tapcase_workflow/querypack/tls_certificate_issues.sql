-- name: tls_certificate_issues
-- title: TLS without SNI, invalid or self-signed certificates
-- description: TLS servers reached without a server name (SNI), or presenting a certificate
--   that failed validation or is self-signed (subject = issuer): typical of C2 servers and of
--   interception. One row per server, port, SNI and set of issues. Zeek ssl.log with x509.log;
--   Suricata TLS events when Zeek logged no TLS.
-- tables: zeek_ssl, zeek_x509, suricata_eve
WITH certs AS (
    SELECT x.fingerprint,
           min(x.certificate_subject) AS subject,
           min(x.certificate_issuer) AS issuer
    FROM {{database}}.zeek_x509 x
    WHERE x.investigation_id = '{{investigation_id}}'
    GROUP BY x.fingerprint
),
sessions AS (
    SELECT s.ts, s.id_orig_h AS client, s.id_resp_h AS server, s.id_resp_p AS port,
           NULLIF(s.server_name, '') AS sni, s.validation_status, k.subject, k.issuer
    FROM {{database}}.zeek_ssl s
    LEFT JOIN certs k ON k.fingerprint = element_at(s.cert_chain_fps, 1)
    WHERE s.investigation_id = '{{investigation_id}}'
    UNION ALL
    SELECT e.ts, e.src_ip, e.dest_ip, e.dest_port, NULLIF(e.tls.sni, ''), CAST(NULL AS varchar),
           e.tls.subject, e.tls.issuerdn
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'tls'
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_ssl z WHERE z.investigation_id = '{{investigation_id}}')
),
flagged AS (
    SELECT ts, client, server, port, sni, validation_status, subject, issuer,
           array_join(filter(ARRAY[
               CASE WHEN sni IS NULL THEN 'no_sni' END,
               CASE WHEN validation_status LIKE '%self signed%' OR subject = issuer THEN 'self_signed' END,
               CASE WHEN validation_status <> 'ok' THEN 'invalid_certificate' END
           ], r -> r IS NOT NULL), ',') AS issues
    FROM sessions
)
SELECT server,
       port,
       sni,
       issues,
       count(*) AS sessions,
       count(DISTINCT client) AS clients,
       min(validation_status) AS validation_status,
       min(subject) AS subject,
       min(issuer) AS issuer,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM flagged
WHERE issues <> ''
GROUP BY server, port, sni, issues
ORDER BY sessions DESC, server, port, sni, issues
LIMIT 200
