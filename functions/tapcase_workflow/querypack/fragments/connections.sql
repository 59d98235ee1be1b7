-- fragment: connections
-- Connections (src, dst, ports, proto, bytes): Zeek conn.log; Suricata flows when Zeek logged no connections;
-- the mirrored VXLAN carrier (UDP 4789) left out. Used as a CTE body: WITH conns AS ({{> connections}})
    SELECT c.ts, c.id_orig_h AS src, c.id_resp_h AS dst, c.id_orig_p AS src_port, c.id_resp_p AS dst_port, c.proto,
           COALESCE(c.orig_bytes, 0) AS src_bytes, COALESCE(c.resp_bytes, 0) AS dst_bytes
    FROM {{database}}.zeek_conn c
    WHERE c.investigation_id = '{{investigation_id}}'
      AND NOT COALESCE(c.proto = 'udp' AND c.id_resp_p = 4789, false)
    UNION ALL
    SELECT f.ts, f.src_ip, f.dest_ip, f.src_port, f.dest_port, lower(f.proto),
           COALESCE(f.flow.bytes_toserver, 0), COALESCE(f.flow.bytes_toclient, 0)
    FROM {{database}}.suricata_eve f
    WHERE f.investigation_id = '{{investigation_id}}' AND f.event_type = 'flow'
      AND NOT COALESCE(lower(f.proto) = 'udp' AND f.dest_port = 4789, false)
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_conn z WHERE z.investigation_id = '{{investigation_id}}')
