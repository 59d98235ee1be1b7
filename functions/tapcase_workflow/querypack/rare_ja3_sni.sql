-- name: rare_ja3_sni
-- title: Rare JA3/JA4 + SNI pairs
-- description: TLS client fingerprints (JA3 hash, JA4) with the server name they were used for,
--   where the fingerprint is used by at most two clients: malware TLS stacks stand out against
--   browsers and system libraries. Least seen first. Suricata TLS events (JA3/JA4 enabled).
-- tables: suricata_eve
WITH tls AS (
    SELECT e.ts, e.src_ip AS client, e.dest_ip AS server,
           e.tls.ja3.hash AS ja3, e.tls.ja4 AS ja4, NULLIF(e.tls.sni, '') AS sni
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'tls'
      AND (e.tls.ja3.hash IS NOT NULL OR e.tls.ja4 IS NOT NULL)
),
fingerprints AS (
    SELECT COALESCE(ja3, '') AS ja3_key, COALESCE(ja4, '') AS ja4_key,
           count(DISTINCT client) AS fingerprint_clients,
           count(*) AS fingerprint_sessions
    FROM tls
    GROUP BY COALESCE(ja3, ''), COALESCE(ja4, '')
)
SELECT t.ja3,
       t.ja4,
       t.sni,
       count(*) AS sessions,
       count(DISTINCT t.client) AS clients,
       slice(array_sort(array_agg(DISTINCT t.server)), 1, 5) AS servers,
       min(f.fingerprint_clients) AS fingerprint_clients,
       min(f.fingerprint_sessions) AS fingerprint_sessions,
       min(t.ts) AS first_ts,
       max(t.ts) AS last_ts
FROM tls t
JOIN fingerprints f ON f.ja3_key = COALESCE(t.ja3, '') AND f.ja4_key = COALESCE(t.ja4, '')
WHERE f.fingerprint_clients <= 2
GROUP BY t.ja3, t.ja4, t.sni
ORDER BY sessions, t.ja3, t.ja4, t.sni
LIMIT 100
