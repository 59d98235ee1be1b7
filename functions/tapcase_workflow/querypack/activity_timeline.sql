-- name: activity_timeline
-- title: Activity per minute
-- description: The capture window minute by minute: connections started, bytes, DNS lookups,
--   NXDOMAIN answers and Suricata alerts (the report draws its charts from this). Zeek conn and
--   dns logs; Suricata flow and DNS events when Zeek logged none of that kind; Suricata alerts.
-- tables: zeek_conn, zeek_dns, suricata_eve
WITH conns AS (
    {{> connections}}
),
dns AS (
    {{> dns_lookups}}
),
events AS (
    SELECT floor(ts / 60) * 60 AS minute_start, 1 AS connections, src_bytes + dst_bytes AS bytes,
           0 AS lookups, 0 AS nxdomain, 0 AS alerts
    FROM conns
    UNION ALL
    SELECT floor(ts / 60) * 60, 0, 0, 1, CASE WHEN rcode = 'NXDOMAIN' THEN 1 ELSE 0 END, 0
    FROM dns
    UNION ALL
    SELECT floor(e.ts / 60) * 60, 0, 0, 0, 0, 1
    FROM {{database}}.suricata_eve e
    WHERE e.investigation_id = '{{investigation_id}}' AND e.event_type = 'alert'
)
SELECT minute_start,
       sum(connections) AS connections,
       sum(bytes) AS bytes,
       sum(lookups) AS dns_lookups,
       sum(nxdomain) AS nxdomain,
       sum(alerts) AS alerts
FROM events
WHERE minute_start IS NOT NULL
GROUP BY minute_start
ORDER BY minute_start
LIMIT 1440
