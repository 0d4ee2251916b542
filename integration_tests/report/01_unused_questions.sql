-- Questions nobody viewed in the last 90 days
-- Cards (questions, models, metrics) not run or viewed in the 90 days before $as_of, or never.
-- last_used_at is when Metabase last ran the card for someone; versions without it have
-- last_query_start. Archived cards are not counted (the cards stream lists live ones).
SELECT coalesce(type, 'all') AS kind,
       count(*) AS cards,
       count(*) FILTER (WHERE coalesce(last_used_at, last_query_start) IS NULL
                           OR coalesce(last_used_at, last_query_start) < $as_of - INTERVAL 90 DAY) AS not_viewed_in_90_days
FROM cards
WHERE NOT coalesce(archived, false)
GROUP BY ROLLUP (type)
ORDER BY type NULLS LAST;
