-- name: inbound_remote_access
-- title: Inbound remote access from outside
-- description: Connections from public addresses to remote-access services of private hosts
--   (SSH 22, Telnet 23, RDP 3389, VNC 5900, WinRM 5985/5986, SMB 445), per source, destination and
--   port: connections, bytes, and the SSH client software they announced. Brute force, exposed
--   management ports, an attacker's own sessions. Zeek conn/ssh logs; Suricata flow and SSH events
--   when Zeek logged none of that kind.
-- tables: zeek_conn, zeek_ssh, suricata_eve
WITH conns AS (
    {{> connections}}
),
ssh_clients AS (
    SELECT s.id_orig_h AS src, s.id_resp_h AS dst, s.client AS software
    FROM {{database}}.zeek_ssh s
    WHERE s.investigation_id = '{{investigation_id}}' AND s.client IS NOT NULL
    UNION ALL
    SELECT e.src_ip, e.dest_ip, concat('SSH-', COALESCE(e.ssh.client.proto_version, ''), '-',
                                       COALESCE(e.ssh.client.software_version, ''))
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'ssh'
      AND e.ssh.client.software_version IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_ssh z WHERE z.investigation_id = '{{investigation_id}}')
),
software AS (
    SELECT src, dst, array_join(slice(array_sort(array_agg(DISTINCT software)), 1, 3), ', ') AS client_software
    FROM ssh_clients
    GROUP BY src, dst
),
inbound AS (
    SELECT ts, src, dst, dst_port, src_bytes, dst_bytes
    FROM conns
    WHERE dst_port IN (22, 23, 445, 3389, 5900, 5985, 5986)
      AND regexp_like(dst, '{{private_ip_pattern}}')
      AND NOT regexp_like(src, '{{non_public_ip_pattern}}')
)
SELECT i.src,
       i.dst,
       i.dst_port,
       CASE i.dst_port WHEN 22 THEN 'ssh' WHEN 23 THEN 'telnet' WHEN 445 THEN 'smb' WHEN 3389 THEN 'rdp'
                       WHEN 5900 THEN 'vnc' ELSE 'winrm' END AS service,
       count(*) AS connections,
       sum(i.src_bytes) AS bytes_in,
       sum(i.dst_bytes) AS bytes_out,
       min(w.client_software) AS client_software,
       min(i.ts) AS first_ts,
       max(i.ts) AS last_ts
FROM inbound i
LEFT JOIN software w ON w.src = i.src AND w.dst = i.dst
GROUP BY i.src, i.dst, i.dst_port
ORDER BY connections DESC, i.src, i.dst, i.dst_port
LIMIT 200
