-- name: http_raw_ip_and_uploads
-- title: HTTP to raw IP addresses and large uploads
-- description: HTTP requests whose Host is an IP address (no DNS name: typical of droppers and
--   C2) or without a Host, and requests that uploaded 1 MB or more in their body (exfiltration
--   over HTTP). Zeek http.log; Suricata HTTP events when Zeek logged no HTTP (no upload sizes).
-- tables: zeek_http, suricata_eve
WITH http AS (
    {{> http_requests}}
),
flagged AS (
    SELECT ts, client, server, port, method, host, uri, request_bytes, response_bytes,
           array_join(filter(ARRAY[
               CASE WHEN regexp_like(host, '^([0-9]{1,3}\.){3}[0-9]{1,3}(:[0-9]+)?$')
                      OR regexp_like(host, '^\[?[0-9a-fA-F]*:[0-9a-fA-F]*:[0-9a-fA-F:.]*\]?(:[0-9]+)?$') THEN 'raw_ip_host' END,
               CASE WHEN host IS NULL OR host = '' THEN 'no_host' END,
               CASE WHEN request_bytes >= 1000000 THEN 'large_upload' END
           ], r -> r IS NOT NULL), ',') AS issues
    FROM http
)
SELECT client,
       server,
       port,
       host,
       issues,
       count(*) AS requests,
       sum(COALESCE(request_bytes, 0)) AS request_bytes,
       sum(COALESCE(response_bytes, 0)) AS response_bytes,
       slice(array_sort(array_agg(DISTINCT method) FILTER (WHERE method IS NOT NULL)), 1, 5) AS methods,
       slice(array_sort(array_agg(DISTINCT uri) FILTER (WHERE uri IS NOT NULL)), 1, 5) AS example_uris,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM flagged
WHERE issues <> ''
GROUP BY client, server, port, host, issues
ORDER BY request_bytes DESC, requests DESC, client, server, port, host, issues
LIMIT 200
