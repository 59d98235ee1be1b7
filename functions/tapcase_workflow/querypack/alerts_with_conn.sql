-- name: alerts_with_conn
-- title: Suricata alerts with their Zeek connection
-- description: Each Suricata alert joined to the Zeek connection it belongs to, on the
--   community ID flow hash (and time), so the alert comes with duration, bytes, state and
--   history of the session it fired on. Needs community ID logging in both engines.
-- tables: suricata_eve, zeek_conn
WITH alerts AS (
    SELECT e.ts, e.community_id, e.src_ip, e.src_port, e.dest_ip, e.dest_port, e.proto,
           e.alert.signature_id AS signature_id, e.alert.signature AS signature,
           e.alert.severity AS severity
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}'
      AND e.event_type = 'alert'
      AND e.community_id IS NOT NULL
),
conns AS (
    SELECT c.ts, c.community_id, c.uid, c.duration, c.orig_bytes, c.resp_bytes, c.conn_state,
           c.service, c.history
    FROM {{database}}.zeek_conn c
    WHERE c.investigation_id = '{{investigation_id}}'
      AND c.community_id IS NOT NULL
)
SELECT a.ts AS alert_ts,
       a.signature_id,
       a.signature,
       a.severity,
       a.src_ip,
       a.src_port,
       a.dest_ip,
       a.dest_port,
       a.proto,
       k.uid,
       k.ts AS conn_ts,
       round(k.duration, 3) AS duration,
       k.orig_bytes,
       k.resp_bytes,
       k.conn_state,
       k.service,
       k.history,
       a.community_id
FROM alerts a
JOIN conns k
  ON k.community_id = a.community_id
 AND a.ts >= k.ts - 5
 AND a.ts <= k.ts + COALESCE(k.duration, CAST(0 AS double)) + 120
ORDER BY alert_ts, signature_id, uid, src_ip, src_port
LIMIT 1000
