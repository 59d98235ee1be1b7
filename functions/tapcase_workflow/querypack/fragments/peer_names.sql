-- fragment: peer_names
-- The names each server address was known by (ip, name): the addresses DNS answers gave for a name
-- (Zeek dns.log answers; Suricata DNS answers, A and AAAA), the TLS server name (Zeek ssl.log,
-- Suricata TLS SNI) and the HTTP Host (Zeek http.log, Suricata HTTP). Used as a CTE body:
-- WITH peer_names AS ({{> peer_names}})
    SELECT DISTINCT ip, name FROM (
        SELECT t.answer AS ip, lower(d.query) AS name
        FROM {{database}}.zeek_dns d
        CROSS JOIN UNNEST(d.answers) AS t(answer)
        WHERE d.investigation_id = '{{investigation_id}}' AND d.query IS NOT NULL
          AND (regexp_like(t.answer, '^[0-9]{1,3}(\.[0-9]{1,3}){3}$') OR strpos(t.answer, ':') > 0)
        UNION ALL
        SELECT t.answer, lower(e.dns.rrname)
        FROM {{database}}.suricata_eve e
        CROSS JOIN UNNEST(transform(filter(e.dns.answers, a -> a.rrtype IN ('A', 'AAAA')), a -> a.rdata)) AS t(answer)
        WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'dns' AND e.dns.rrname IS NOT NULL
        UNION ALL
        SELECT s.id_resp_h, lower(s.server_name)
        FROM {{database}}.zeek_ssl s
        WHERE s.investigation_id = '{{investigation_id}}' AND s.server_name IS NOT NULL AND s.server_name <> ''
        UNION ALL
        SELECT e.dest_ip, lower(e.tls.sni)
        FROM {{database}}.suricata_eve e
        WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'tls'
          AND e.tls.sni IS NOT NULL AND e.tls.sni <> ''
        UNION ALL
        SELECT h.id_resp_h, lower(split_part(h.host, ':', 1))
        FROM {{database}}.zeek_http h
        WHERE h.investigation_id = '{{investigation_id}}' AND h.host IS NOT NULL AND h.host <> ''
        UNION ALL
        SELECT e.dest_ip, lower(split_part(e.http.hostname, ':', 1))
        FROM {{database}}.suricata_eve e
        WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'http'
          AND e.http.hostname IS NOT NULL AND e.http.hostname <> ''
    ) n
    WHERE ip IS NOT NULL AND name IS NOT NULL
