-- name: beaconing
-- title: Beaconing (RITA-style score)
-- description: Host pairs that connect at regular intervals with regular sizes, as implants
--   checking in with their C2 do. For each pair with at least 6 connections, scores in [0, 1]
--   (1 = perfect beacon) from the inter-arrival times (Bowley skew, median absolute deviation
--   relative to the median, share of the capture the pair spans) and from the bytes per
--   connection (Bowley skew, MAD relative to the median, smallness). Quantiles are exact
--   (lower nearest rank). Zeek conn.log; Suricata flow events when Zeek logged no connections.
-- tables: zeek_conn, suricata_eve
WITH conns AS (
    SELECT c.ts, c.id_orig_h AS src, c.id_resp_h AS dst,
           CAST(COALESCE(c.orig_bytes, 0) + COALESCE(c.resp_bytes, 0) AS double) AS bytes
    FROM {{database}}.zeek_conn c
    WHERE c.investigation_id = '{{investigation_id}}'
      AND NOT COALESCE(c.proto = 'udp' AND c.id_resp_p = 4789, false)
    UNION ALL
    SELECT f.ts, f.src_ip, f.dest_ip,
           CAST(COALESCE(f.flow.bytes_toserver, 0) + COALESCE(f.flow.bytes_toclient, 0) AS double)
    FROM {{database}}.suricata_eve f
    WHERE f.investigation_id = '{{investigation_id}}' AND f.event_type = 'flow'
      AND NOT COALESCE(lower(f.proto) = 'udp' AND f.dest_port = 4789, false)
      AND NOT EXISTS (SELECT 1 FROM {{database}}.zeek_conn z WHERE z.investigation_id = '{{investigation_id}}')
),
capture AS (
    SELECT min(ts) AS capture_first, max(ts) AS capture_last FROM conns
),
intervals AS (
    SELECT src, dst, ts, bytes,
           ts - lag(ts) OVER (PARTITION BY src, dst ORDER BY ts) AS gap
    FROM conns
),
pairs AS (
    SELECT src, dst,
           count(*) AS connections,
           min(ts) AS first_ts,
           max(ts) AS last_ts,
           array_sort(array_agg(gap) FILTER (WHERE gap IS NOT NULL)) AS gaps,
           array_sort(array_agg(bytes)) AS sizes
    FROM intervals
    GROUP BY src, dst
    HAVING count(*) >= 6
),
quartiles AS (
    SELECT p.*,
           element_at(gaps, CAST(floor(CAST(cardinality(gaps) - 1 AS double) * 0.25) AS bigint) + 1) AS gap_q1,
           element_at(gaps, CAST(floor(CAST(cardinality(gaps) - 1 AS double) * 0.5) AS bigint) + 1) AS gap_q2,
           element_at(gaps, CAST(floor(CAST(cardinality(gaps) - 1 AS double) * 0.75) AS bigint) + 1) AS gap_q3,
           element_at(sizes, CAST(floor(CAST(cardinality(sizes) - 1 AS double) * 0.25) AS bigint) + 1) AS size_q1,
           element_at(sizes, CAST(floor(CAST(cardinality(sizes) - 1 AS double) * 0.5) AS bigint) + 1) AS size_q2,
           element_at(sizes, CAST(floor(CAST(cardinality(sizes) - 1 AS double) * 0.75) AS bigint) + 1) AS size_q3
    FROM pairs p
),
dispersion AS (
    SELECT q.*,
           element_at(array_sort(transform(gaps, g -> abs(g - gap_q2))),
                      CAST(floor(CAST(cardinality(gaps) - 1 AS double) * 0.5) AS bigint) + 1) AS gap_mad,
           element_at(array_sort(transform(sizes, s -> abs(s - size_q2))),
                      CAST(floor(CAST(cardinality(sizes) - 1 AS double) * 0.5) AS bigint) + 1) AS size_mad
    FROM quartiles q
),
parts AS (
    SELECT d.src, d.dst, d.connections, d.first_ts, d.last_ts, d.gap_q2, d.gap_mad, d.size_q2, d.size_mad,
           CASE WHEN d.gap_q3 - d.gap_q1 > 0
                THEN (d.gap_q1 + d.gap_q3 - 2 * d.gap_q2) / (d.gap_q3 - d.gap_q1)
                ELSE CAST(0 AS double) END AS gap_skew,
           CASE WHEN d.size_q3 - d.size_q1 > 0
                THEN (d.size_q1 + d.size_q3 - 2 * d.size_q2) / (d.size_q3 - d.size_q1)
                ELSE CAST(0 AS double) END AS size_skew,
           CASE WHEN d.gap_q2 > 0 THEN greatest(CAST(0 AS double), 1 - d.gap_mad / d.gap_q2)
                ELSE CAST(0 AS double) END AS gap_mad_score,
           CASE WHEN d.size_q2 >= 1 THEN greatest(CAST(0 AS double), 1 - d.size_mad / d.size_q2)
                ELSE CAST(1 AS double) END AS size_mad_score,
           CASE WHEN k.capture_last > k.capture_first
                THEN (d.last_ts - d.first_ts) / (k.capture_last - k.capture_first)
                ELSE CAST(0 AS double) END AS coverage_score,
           1 - least(d.size_q2, CAST(65535 AS double)) / 65535 AS smallness_score
    FROM dispersion d
    CROSS JOIN capture k
),
scored AS (
    SELECT p.*,
           ((1 - abs(p.gap_skew)) + p.gap_mad_score + p.coverage_score) / 3 AS interval_score,
           ((1 - abs(p.size_skew)) + p.size_mad_score + p.smallness_score) / 3 AS size_score
    FROM parts p
)
SELECT src,
       dst,
       round((interval_score + size_score) / 2, 3) AS score,
       round(interval_score, 3) AS interval_score,
       round(size_score, 3) AS size_score,
       connections,
       round(gap_q2, 3) AS median_interval,
       round(gap_mad, 3) AS interval_mad,
       round(gap_skew, 3) AS interval_skew,
       size_q2 AS median_bytes,
       round(size_skew, 3) AS size_skew,
       first_ts,
       last_ts
FROM scored
ORDER BY score DESC, connections DESC, src, dst
LIMIT 50
