-- What reads each table
-- Per table, the live questions, models and metrics that read it, directly (cards.dependencies)
-- or through other cards (a question on a model on the table), the live dashboards showing any of
-- them (dashboard_cards), the documents that embed or link such a card or the table itself, the
-- transforms that read it, and the transform that builds it (transforms.target_table_id). Native SQL reads only what its template tags name: the tables in
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
),
document_edges AS (
    SELECT doc.id AS document_id, d->>'type' AS type, CAST(d->>'id' AS BIGINT) AS dependency_id
    FROM documents AS doc, unnest(CAST(doc.dependencies AS JSON[])) AS t(d)
    WHERE NOT coalesce(doc.archived, false)
),
in_documents AS (  -- a document reads a table it links, and what the cards it embeds or links read
    SELECT DISTINCT dependency_id AS table_id, document_id FROM document_edges WHERE type = 'table'
    UNION
    SELECT r.table_id, e.document_id FROM document_edges AS e JOIN readers AS r ON e.type = 'card' AND r.card_id = e.dependency_id
),
in_transforms AS (
    SELECT DISTINCT CAST(d->>'id' AS BIGINT) AS table_id, tr.id AS transform_id
    FROM transforms AS tr, unnest(CAST(tr.dependencies AS JSON[])) AS t(d)
    WHERE (d->>'type') = 'table' AND (d->>'id') IS NOT NULL
),
card_counts AS (
    SELECT r.table_id,
           count(*) FILTER (WHERE c.type = 'question') AS questions,
           count(*) FILTER (WHERE c.type = 'model') AS models,
           count(*) FILTER (WHERE c.type = 'metric') AS metrics,
           count(*) FILTER (WHERE r.depth > 1) AS through_other_cards
    FROM readers AS r JOIN cards AS c ON c.id = r.card_id
    GROUP BY r.table_id
)
SELECT t.id AS table_id, t.schema, t.name AS table_name,
       coalesce(cc.questions, 0) AS questions, coalesce(cc.models, 0) AS models, coalesce(cc.metrics, 0) AS metrics,
       coalesce(cc.through_other_cards, 0) AS through_other_cards,
       (SELECT count(*) FROM shown AS s WHERE s.table_id = t.id) AS dashboards,
       (SELECT count(DISTINCT document_id) FROM in_documents AS i WHERE i.table_id = t.id) AS documents,
       (SELECT count(*) FROM in_transforms AS i WHERE i.table_id = t.id) AS transforms,
       (SELECT min(tr.name) FROM transforms AS tr WHERE tr.target_table_id = t.id) AS built_by_transform
FROM tables AS t
LEFT JOIN card_counts AS cc ON cc.table_id = t.id
WHERE cc.table_id IS NOT NULL
   OR t.id IN (SELECT table_id FROM in_documents UNION SELECT table_id FROM in_transforms)
   OR t.id IN (SELECT target_table_id FROM transforms)
ORDER BY dashboards DESC, questions + models + metrics DESC, transforms DESC, t.id;
