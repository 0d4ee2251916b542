-- What reads each table
-- Per table, the live questions, models and metrics that read it, directly (cards.dependencies)
-- or through other cards (a question on a model on the table), and the live dashboards showing
-- any of them (dashboard_cards). Native SQL reads only what its template tags name: the tables in
-- its SQL text are not resolved. A chain through an archived or unreadable card stops there.
WITH RECURSIVE edges AS (
    SELECT c.id AS card_id, d->>'type' AS type, CAST(d->>'id' AS BIGINT) AS dependency_id
    FROM cards AS c, unnest(CAST(c.dependencies AS JSON[])) AS t(d)
    WHERE NOT coalesce(c.archived, false)
),
reads(table_id, card_id, depth) AS (
    SELECT dependency_id, card_id, 1 FROM edges WHERE type = 'table'
    UNION
    -- a card reads what the cards it is built on read; a metric is a card of type metric from
    -- Metabase 0.50 (before, a legacy metric, which no stream syncs and no card matches)
    SELECT r.table_id, e.card_id, r.depth + 1
    FROM reads AS r
    JOIN cards AS source ON source.id = r.card_id
    JOIN edges AS e ON e.dependency_id = r.card_id AND (e.type = 'card' OR (e.type = 'metric' AND source.type = 'metric'))
    WHERE r.depth < 20
),
readers AS (
    SELECT table_id, card_id, min(depth) AS depth FROM reads GROUP BY table_id, card_id
),
shown AS (
    SELECT DISTINCT r.table_id, dc.dashboard_id
    FROM readers AS r
    JOIN dashboard_cards AS dc ON dc.card_id = r.card_id
    JOIN dashboards AS d ON d.id = dc.dashboard_id AND NOT coalesce(d.archived, false)
)
SELECT t.id AS table_id, t.schema, t.name AS table_name,
       count(*) FILTER (WHERE c.type = 'question') AS questions,
       count(*) FILTER (WHERE c.type = 'model') AS models,
       count(*) FILTER (WHERE c.type = 'metric') AS metrics,
       count(*) FILTER (WHERE r.depth > 1) AS through_other_cards,
       (SELECT count(*) FROM shown AS s WHERE s.table_id = t.id) AS dashboards
FROM readers AS r
JOIN cards AS c ON c.id = r.card_id
JOIN tables AS t ON t.id = r.table_id
GROUP BY t.id, t.schema, t.name
ORDER BY dashboards DESC, questions + models + metrics DESC, t.id;
