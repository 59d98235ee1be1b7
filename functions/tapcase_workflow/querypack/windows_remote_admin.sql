-- name: windows_remote_admin
-- title: Windows remote administration and authentication
-- description: Who mapped administrative SMB shares (ADMIN$, C$, IPC$...) or opened service-control
--   and remote-registry pipes (svcctl, atsvc, winreg, samr, lsarpc: PsExec-style lateral movement),
--   and who authenticated with NTLM or Kerberos, per source and destination: counts, users and
--   share names, failures. Zeek smb_mapping, smb_files, ntlm and kerberos logs.
-- tables: zeek_smb_mapping, zeek_smb_files, zeek_ntlm, zeek_kerberos
WITH events AS (
    SELECT m.ts, m.id_orig_h AS src, m.id_resp_h AS dst, 'smb_share' AS kind, lower(m.path) AS detail,
           CAST(NULL AS boolean) AS success
    FROM {{database}}.zeek_smb_mapping m
    WHERE m.investigation_id = '{{investigation_id}}'
      AND regexp_like(lower(COALESCE(m.path, '')), '\\(admin|[a-z]|ipc)\$$')
    UNION ALL
    SELECT f.ts, f.id_orig_h, f.id_resp_h, 'smb_pipe', lower(f.name), CAST(NULL AS boolean)
    FROM {{database}}.zeek_smb_files f
    WHERE f.investigation_id = '{{investigation_id}}'
      AND regexp_like(lower(COALESCE(f.name, '')), '^\\?(svcctl|atsvc|winreg|samr|lsarpc|srvsvc|wkssvc|ntsvcs)$')
    UNION ALL
    SELECT n.ts, n.id_orig_h, n.id_resp_h, 'ntlm',
           concat(COALESCE(n.domainname, '?'), '\', COALESCE(n.username, '?')), n.success
    FROM {{database}}.zeek_ntlm n
    WHERE n.investigation_id = '{{investigation_id}}'
    UNION ALL
    SELECT k.ts, k.id_orig_h, k.id_resp_h, concat('kerberos_', lower(COALESCE(k.request_type, '?'))),
           concat(COALESCE(k.client, '?'), ' -> ', COALESCE(k.service, '?')), k.success
    FROM {{database}}.zeek_kerberos k
    WHERE k.investigation_id = '{{investigation_id}}'
)
SELECT src,
       dst,
       kind,
       count(*) AS events,
       count_if(success = false) AS failures,
       slice(array_sort(array_agg(DISTINCT detail) FILTER (WHERE detail IS NOT NULL)), 1, 5) AS details,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM events
GROUP BY src, dst, kind
ORDER BY events DESC, src, dst, kind
LIMIT 300
