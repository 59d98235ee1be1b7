-- name: rare_user_agents
-- title: Rare HTTP user agents
-- description: User-Agent strings sent by at most two clients, least used first: scripted
--   clients, implants and tools that do not pretend to be a browser (or do it badly).
--   Zeek http.log; Suricata HTTP events when Zeek logged no HTTP.
-- tables: zeek_http, suricata_eve
WITH http AS (
    SELECT h.ts, h.id_orig_h AS client, h.id_resp_h AS server, h.id_resp_p AS port, h.method, h.host,
           h.uri, h.user_agent, h.request_body_len AS request_bytes, h.response_body_len AS response_bytes
    FROM {{database}}.zeek_http h
    WHERE h.investigation_id = '{{investigation_id}}'
    UNION ALL
    SELECT e.ts, e.src_ip, e.dest_ip, e.dest_port, e.http.http_method, e.http.hostname,
           e.http.url, e.http.http_user_agent, CAST(NULL AS bigint), e.http.length
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'http'
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_http z WHERE z.investigation_id = '{{investigation_id}}')
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
