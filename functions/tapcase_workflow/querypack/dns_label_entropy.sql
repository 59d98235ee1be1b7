-- name: dns_label_entropy
-- title: High-entropy first labels (DGA)
-- description: Shannon entropy of the first label of each distinct name a client looked up.
--   Random-looking labels (12 characters or more, entropy of 3.5 bits per character or more)
--   are what domain generation algorithms produce. Per client: how many such names, under how
--   many registered domains, and how many got NXDOMAIN (a DGA mostly hits unregistered
--   domains; a CDN's random host names resolve, under one or two domains). Flagged from 3
--   random-looking names; NXDOMAIN-heavy clients first. Zeek dns.log; Suricata DNS answers when
--   Zeek logged no DNS.
-- tables: zeek_dns, suricata_eve
WITH dns AS (
    {{> dns_lookups}}
),
names AS (
    SELECT client, query,
           split_part(query, '.', 1) AS label,
           COALESCE(regexp_extract(query, '([^.]+\.[^.]+)$', 1), query) AS base_domain,
           CASE WHEN rcode = 'NXDOMAIN' THEN 1 ELSE 0 END AS nx
    FROM dns
    WHERE strpos(query, '.') > 0
      AND NOT regexp_like(query, '\.(in-addr|ip6)\.arpa$')
),
labels AS (
    SELECT client, query, label, base_domain, sum(nx) AS nxdomain
    FROM names
    GROUP BY client, query, label, base_domain
),
chars AS (
    SELECT l.client, l.query, l.label, t.ch, count(*) AS n
    FROM labels l
    CROSS JOIN UNNEST(regexp_extract_all(l.label, '.')) AS t(ch)
    GROUP BY l.client, l.query, l.label, t.ch
),
entropy AS (
    SELECT client, query,
           round(-sum((CAST(n AS double) / length(label)) * log2(CAST(n AS double) / length(label))), 6) AS entropy
    FROM chars
    GROUP BY client, query, label
),
scored AS (
    SELECT l.client, l.base_domain, l.query, length(l.label) AS label_length, e.entropy, l.nxdomain,
           length(l.label) >= 12 AND e.entropy >= 3.5 AS random_looking
    FROM labels l
    JOIN entropy e ON e.client = l.client AND e.query = l.query
)
SELECT client,
       count_if(random_looking) AS high_entropy_names,
       sum(CASE WHEN random_looking THEN nxdomain ELSE 0 END) AS high_entropy_nxdomain,
       count(DISTINCT base_domain) FILTER (WHERE random_looking) AS base_domains,
       count(*) AS names,
       round(max(entropy), 3) AS max_entropy,
       slice(array_sort(array_agg(DISTINCT base_domain) FILTER (WHERE random_looking)), 1, 5) AS example_domains,
       slice(array_sort(array_agg(query) FILTER (WHERE random_looking)), 1, 5) AS examples
FROM scored
GROUP BY client
HAVING count_if(random_looking) >= 3
ORDER BY high_entropy_nxdomain DESC, high_entropy_names DESC, client
LIMIT 100
