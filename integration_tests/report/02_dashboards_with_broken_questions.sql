-- Dashboards showing archived or broken questions
-- Per live dashboard, its cards whose question is archived or gone (not among the synced cards:
-- deleted, archived, or not readable by the syncing user), is built on a question or model that
-- is archived or gone (source_card_id), or reads a table that is not synced. Metabase leaves the
-- cards of archived questions out of a dashboard's detail, so those mostly show as "gone".
-- Text, heading and link cards (no card_id) are not questions and are left out.
WITH dashcards AS (
    SELECT d.id AS dashboard_id, d.name AS dashboard, CAST(card_id AS BIGINT) AS card_id
    FROM dashboards AS d, unnest(CAST(json_extract(d.dashcards, '$[*].card_id') AS JSON[])) AS t(card_id)
    WHERE NOT coalesce(d.archived, false) AND card_id IS NOT NULL AND CAST(card_id AS VARCHAR) <> 'null'
),
checked AS (
    SELECT dc.dashboard_id, dc.dashboard, dc.card_id,
           c.id IS NULL OR coalesce(c.archived, false) AS archived_or_gone,
           c.source_card_id IS NOT NULL AND (src.id IS NULL OR coalesce(src.archived, false)) AS on_archived_or_gone_source,
           c.table_id IS NOT NULL AND t.id IS NULL AS on_unsynced_table
    FROM dashcards AS dc
    LEFT JOIN cards AS c ON c.id = dc.card_id
    LEFT JOIN cards AS src ON src.id = c.source_card_id
    LEFT JOIN tables AS t ON t.id = c.table_id
)
SELECT dashboard_id, dashboard,
       count(*) FILTER (WHERE archived_or_gone OR on_archived_or_gone_source OR on_unsynced_table) AS broken_cards,
       count(*) AS question_cards,
       count(*) FILTER (WHERE archived_or_gone) AS archived_or_gone,
       count(*) FILTER (WHERE on_archived_or_gone_source) AS on_archived_or_gone_source,
       count(*) FILTER (WHERE on_unsynced_table) AS on_unsynced_table
FROM checked
GROUP BY dashboard_id, dashboard
HAVING broken_cards > 0
ORDER BY broken_cards DESC, dashboard_id;
