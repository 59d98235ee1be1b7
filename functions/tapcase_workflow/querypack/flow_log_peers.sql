-- name: flow_log_peers
-- title: Peers in the hour before the capture (VPC Flow Logs)
-- description: Every peer of the suspect's network interfaces in the VPC Flow Logs of the hour
--   before the finding (GuardDuty's last sighting; without a finding, the hour before the
--   capture): directions, service ports (the lower port of each record), records, packets and
--   bytes each way, ACCEPT and REJECT records, first and last time. Runs only where the stack
--   knows where the flow logs are (FlowLogsBucket); flow logs record accepted and rejected
--   traffic but no payload.
-- tables: vpc_flow_logs
-- requires: suspect_ips, suspect_enis, flow_log_window
WITH records AS (
    SELECT f.interface_id, f.srcaddr, f.dstaddr, f.srcport, f.dstport, f.protocol,
           f.packets, f.bytes, f.start, f."end", f.action
    FROM {{database}}.vpc_flow_logs f
    WHERE f.day IN ({{flow_log_days}})
      AND f.interface_id IN ({{suspect_enis}})
      AND f.log_status = 'OK'
      AND f."end" >= {{flow_log_start}}
      AND f.start < {{flow_log_end}}
),
oriented AS (
    SELECT CASE WHEN srcaddr IN ({{suspect_ips}}) THEN dstaddr ELSE srcaddr END AS peer,
           CASE WHEN srcaddr IN ({{suspect_ips}}) THEN 'outbound' ELSE 'inbound' END AS direction,
           CASE WHEN srcport < dstport THEN srcport ELSE dstport END AS service_port,
           protocol, packets, bytes, start, "end", action
    FROM records
)
SELECT peer,
       array_join(array_sort(array_agg(DISTINCT direction)), ',') AS directions,
       slice(array_sort(array_agg(DISTINCT service_port)), 1, 10) AS service_ports,
       slice(array_sort(array_agg(DISTINCT protocol)), 1, 5) AS protocols,
       count(*) AS records,
       sum(CASE WHEN direction = 'outbound' THEN packets ELSE 0 END) AS packets_out,
       sum(CASE WHEN direction = 'inbound' THEN packets ELSE 0 END) AS packets_in,
       sum(CASE WHEN direction = 'outbound' THEN bytes ELSE 0 END) AS bytes_out,
       sum(CASE WHEN direction = 'inbound' THEN bytes ELSE 0 END) AS bytes_in,
       count_if(action = 'ACCEPT') AS accepted,
       count_if(action = 'REJECT') AS rejected,
       min(start) AS first_start,
       max("end") AS last_end
FROM oriented
GROUP BY peer
ORDER BY bytes_out + bytes_in DESC, records DESC, peer
LIMIT 200
