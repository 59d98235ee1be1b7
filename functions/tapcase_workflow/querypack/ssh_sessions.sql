-- name: ssh_sessions
-- title: SSH sessions: banners, HASSH, authentication
-- description: SSH sessions per client, server and port with the software both sides announced
--   (banners), the HASSH fingerprints of their key-exchange offers (client tools stand out: libssh2,
--   paramiko, Go), and, from Zeek, whether and how often authentication succeeded. Zeek ssh.log;
--   Suricata SSH events (HASSH enabled) when Zeek logged no SSH.
-- tables: zeek_ssh, suricata_eve
WITH sessions AS (
    SELECT s.ts, s.id_orig_h AS client, s.id_resp_h AS server, s.id_resp_p AS port, s.client AS client_banner,
           s.server AS server_banner, s.hassh, s.hasshserver AS hassh_server, s.auth_success,
           s.auth_attempts
    FROM {{database}}.zeek_ssh s
    WHERE s.investigation_id = '{{investigation_id}}'
    UNION ALL
    SELECT e.ts, e.src_ip, e.dest_ip, e.dest_port,
           concat('SSH-', COALESCE(e.ssh.client.proto_version, '?'), '-', COALESCE(e.ssh.client.software_version, '?')),
           concat('SSH-', COALESCE(e.ssh.server.proto_version, '?'), '-', COALESCE(e.ssh.server.software_version, '?')),
           e.ssh.client.hassh.hash, e.ssh.server.hassh.hash, CAST(NULL AS boolean), CAST(NULL AS bigint)
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'ssh'
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_ssh z WHERE z.investigation_id = '{{investigation_id}}')
)
SELECT client,
       server,
       port,
       client_banner,
       server_banner,
       hassh,
       hassh_server,
       count(*) AS sessions,
       count_if(auth_success) AS auth_successes,
       sum(auth_attempts) AS auth_attempts,
       min(ts) AS first_ts,
       max(ts) AS last_ts
FROM sessions
GROUP BY client, server, port, client_banner, server_banner, hassh, hassh_server
ORDER BY sessions DESC, client, server, port, client_banner, server_banner, hassh, hassh_server
LIMIT 200
