-- Questions nobody ran in the last 90 days
-- Cards (questions, models, metrics) not run in the 90 days before $as_of, or never.
-- last_used_at is when Metabase last ran the card for someone; versions without it have
-- last_query_start. Neither moves when the card is only read: view_count and last_viewed_at are
-- left out on purpose, since every sync's dashboard reads count as views on Metabase 0.50+
-- (docs/metabase.md, "Reads that count as views"). Archived cards are not counted (the cards
-- stream lists live ones).
SELECT coalesce(type, 'all') AS kind,
       count(*) AS cards,
       count(*) FILTER (WHERE coalesce(last_used_at, last_query_start) IS NULL
                           OR coalesce(last_used_at, last_query_start) < $as_of - INTERVAL 90 DAY) AS not_run_in_90_days
FROM cards
WHERE NOT coalesce(archived, false)
GROUP BY ROLLUP (type)
ORDER BY type NULLS LAST;
