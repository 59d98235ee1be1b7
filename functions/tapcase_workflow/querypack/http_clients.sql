-- name: http_clients
-- title: HTTP clients, servers and user agents
-- description: HTTP requests per client, server, port, Host and User-Agent: requests, methods,
--   example URIs and bytes: which tool talked to which web server (implants announce themselves in
--   their User-Agent or in its absence). Zeek http.log; Suricata HTTP events when Zeek logged no
--   HTTP.
-- tables: zeek_http, suricata_eve
WITH http AS (
    {{> http_requests}}
)
SELECT client,
       server,
       port,
       host,
       COALESCE(user_agent, '(none)') AS user_agent,
       count(*) AS requests,
       slice(array_sort(array_agg(DISTINCT method) FILTER (WHERE method IS NOT NULL)), 1, 5) AS methods,
       slice(array_sort(array_agg(DISTINCT uri) FILTER (WHERE uri IS NOT NULL)), 1, 3) AS example_uris,
       sum(COALESCE(request_bytes, 0)) AS request_bytes,
       sum(COALESCE(response_bytes, 0)) AS response_bytes,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM http
GROUP BY client, server, port, host, COALESCE(user_agent, '(none)')
ORDER BY requests DESC, client, server, port, host, user_agent
LIMIT 500
