-- name: mail_and_software
-- title: Mail sent, software announced, RDP cookies
-- description: Evidence the other protocol logs carry: SMTP transactions (sender, recipients,
--   subject, the client's user agent, TLS or not: spam or exfiltration by mail), software versions
--   hosts announced (outdated clients and servers to patch or to recognise an attacker's tools),
--   and RDP connection cookies (the user name an RDP client sends in the clear). One row per
--   kind, host pair and value. Zeek smtp, software and rdp logs.
-- tables: zeek_smtp, zeek_software, zeek_rdp
WITH events AS (
    SELECT m.ts, 'smtp' AS kind, m.id_orig_h AS src, m.id_resp_h AS dst,
           concat(COALESCE(m.mailfrom, '-'), ' -> ', COALESCE(array_join(m.rcptto, ','), '-'), ' ',
                  COALESCE(m.subject, ''), CASE WHEN m.tls THEN ' (tls)' ELSE '' END) AS detail
    FROM {{database}}.zeek_smtp m
    WHERE m.investigation_id = '{{investigation_id}}' AND (m.mailfrom IS NOT NULL OR m.rcptto IS NOT NULL)
    UNION ALL
    SELECT s.ts, concat('software ', lower(COALESCE(s.software_type, '?'))), s.host, CAST(NULL AS varchar),
           COALESCE(s.unparsed_version, s.name)
    FROM {{database}}.zeek_software s
    WHERE s.investigation_id = '{{investigation_id}}'
    UNION ALL
    SELECT r.ts, 'rdp_cookie', r.id_orig_h, r.id_resp_h, r.cookie
    FROM {{database}}.zeek_rdp r
    WHERE r.investigation_id = '{{investigation_id}}' AND r.cookie IS NOT NULL AND r.cookie <> ''
)
SELECT kind,
       src,
       dst,
       detail,
       count(*) AS events,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM events
GROUP BY kind, src, dst, detail
ORDER BY kind, events DESC, src, dst, detail
LIMIT 500
