-- name: rare_user_agents
-- title: Rare HTTP user agents
-- description: User-Agent strings sent by at most two clients, least used first: scripted
--   clients, implants and tools that do not pretend to be a browser (or do it badly).
--   Zeek http.log; Suricata HTTP events when Zeek logged no HTTP.
-- tables: zeek_http, suricata_eve
WITH http AS (
    {{> http_requests}}
),
agents AS (
    SELECT ts, client, host, COALESCE(user_agent, '(none)') AS user_agent
    FROM http
)
SELECT user_agent,
       count(DISTINCT client) AS clients,
       count(*) AS requests,
       slice(array_sort(array_agg(DISTINCT client)), 1, 5) AS example_clients,
       slice(array_sort(array_agg(DISTINCT host) FILTER (WHERE host IS NOT NULL)), 1, 5) AS example_hosts,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM agents
GROUP BY user_agent
HAVING count(DISTINCT client) <= 2
ORDER BY clients, requests, user_agent
LIMIT 100
