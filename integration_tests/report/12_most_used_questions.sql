-- Most used questions
-- From Metabase Pro/Enterprise's query log (query_executions) when the sync has it: per question,
-- its runs, the users who ran it, its mean running time and its failed runs over the months read.
-- Otherwise from the questions' own figures: view_count (detail reads and dashboard views, the
-- connector's own reads included) and last_used_at (its last run). `source` says which.
WITH logged AS (
    SELECT card_id, count(*) AS runs, count(DISTINCT executor_id) AS users,
           round(avg(running_time)) AS mean_ms, count(*) FILTER (WHERE error IS NOT NULL) AS errors
    FROM query_executions WHERE card_id IS NOT NULL
    GROUP BY card_id
),
has_log AS (SELECT count(*) > 0 AS yes FROM query_executions)
SELECT 'query log' AS source, c.id AS card_id, c.name, l.runs, l.users, l.mean_ms, l.errors,
       c.view_count, c.last_used_at
FROM logged AS l JOIN cards AS c ON c.id = l.card_id
WHERE (SELECT yes FROM has_log) AND NOT coalesce(c.archived, false)
UNION ALL
SELECT 'view_count and last_used_at' AS source, c.id, c.name, NULL, NULL, NULL, NULL, c.view_count, c.last_used_at
FROM cards AS c
WHERE NOT (SELECT yes FROM has_log) AND NOT coalesce(c.archived, false) AND c.view_count IS NOT NULL
ORDER BY runs DESC NULLS LAST, view_count DESC NULLS LAST, card_id
LIMIT 50;
