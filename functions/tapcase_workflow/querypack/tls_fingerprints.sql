-- name: tls_fingerprints
-- title: TLS clients and servers: JA3, JA4, SNI, certificates
-- description: TLS sessions per server, port, server name (SNI) and client fingerprint (JA3 hash,
--   JA4) with the server's JA3S and certificate subject and issuer: which client stack talked to
--   which server; busiest first. Fingerprints to block or hunt come from here. Suricata TLS events (JA3/JA4
--   enabled); Zeek ssl.log (SNI, JA3 where the ja3 package logs it) when Suricata logged no TLS.
-- tables: suricata_eve, zeek_ssl
WITH tls AS (
    SELECT e.ts, e.src_ip AS client, e.dest_ip AS server, e.dest_port AS port, lower(NULLIF(e.tls.sni, '')) AS sni,
           e.tls.ja3.hash AS ja3, e.tls.ja4 AS ja4, e.tls.ja3s.hash AS ja3s, e.tls.version AS version,
           e.tls.subject AS subject, e.tls.issuerdn AS issuer
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'tls'
    UNION ALL
    SELECT s.ts, s.id_orig_h, s.id_resp_h, s.id_resp_p, lower(NULLIF(s.server_name, '')), s.ja3, CAST(NULL AS varchar),
           s.ja3s, s.version, s.subject, s.issuer
    FROM {{database}}.zeek_ssl s
    WHERE s.investigation_id = '{{investigation_id}}'
      AND NOT EXISTS (SELECT 1 FROM {{database}}.suricata_eve x
                      WHERE x.investigation_id = '{{investigation_id}}' AND x.event_type = 'tls')
)
SELECT server,
       port,
       sni,
       ja3,
       ja4,
       ja3s,
       min(version) AS version,
       min(subject) AS subject,
       min(issuer) AS issuer,
       count(*) AS sessions,
       count(DISTINCT client) AS clients,
       slice(array_sort(array_agg(DISTINCT client)), 1, 5) AS example_clients,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM tls
GROUP BY server, port, sni, ja3, ja4, ja3s
ORDER BY sessions DESC, server, port, sni, ja3, ja4, ja3s
LIMIT 1000
