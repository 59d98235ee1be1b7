-- fragment: http_requests
-- HTTP requests (client, server, port, method, host, uri, user_agent, request/response bytes): Zeek
-- http.log; Suricata HTTP events when Zeek logged no HTTP. Used as a CTE body: WITH http AS ({{> http_requests}})
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
