-- Questions at risk
-- Live cards that read (cards.dependencies) an archived or missing card or metric, a hidden or
-- missing table, an inactive, hidden or missing field (Metabase lists inactive fields nowhere),
-- or an archived or missing segment: they fail or change when run. "Missing" also covers what
-- the syncing user cannot read; before Metabase 0.50 every metric (a legacy metric, which no stream
-- syncs) shows as missing. With the number of live dashboards that show each.
WITH edges AS (
    SELECT c.id AS card_id, d->>'type' AS type, CAST(d->>'id' AS BIGINT) AS dependency_id
    FROM cards AS c, unnest(CAST(c.dependencies AS JSON[])) AS t(d)
    WHERE NOT coalesce(c.archived, false)
),
risks AS (
    SELECT e.card_id,
           CASE
               WHEN e.type = 'card' AND (c.id IS NULL OR coalesce(c.archived, false))
                   THEN 'archived or missing card'
               WHEN e.type = 'metric' AND (c.id IS NULL OR c.type <> 'metric' OR coalesce(c.archived, false))
                   THEN 'archived or missing metric'
               WHEN e.type = 'table' AND (t.id IS NULL OR t.visibility_type IS NOT NULL OR NOT coalesce(t.active, true))
                   THEN 'hidden or missing table'
               WHEN e.type = 'field' AND (f.id IS NULL OR NOT coalesce(f.active, true)
                                          OR f.visibility_type IN ('sensitive', 'retired', 'hidden'))
                   THEN 'inactive, hidden or missing field'
               WHEN e.type = 'segment' AND (s.id IS NULL OR coalesce(s.archived, false))
                   THEN 'archived or missing segment'
           END AS reason
    FROM edges AS e
    LEFT JOIN cards AS c ON e.type IN ('card', 'metric') AND c.id = e.dependency_id
    LEFT JOIN tables AS t ON e.type = 'table' AND t.id = e.dependency_id
    LEFT JOIN fields AS f ON e.type = 'field' AND f.id = e.dependency_id
    LEFT JOIN segments AS s ON e.type = 'segment' AND s.id = e.dependency_id
)
SELECT c.id AS card_id, c.name AS card, c.type,
       string_agg(DISTINCT r.reason, '; ' ORDER BY r.reason) AS reasons,
       count(*) AS risky_dependencies,
       (SELECT count(DISTINCT dc.dashboard_id) FROM dashboard_cards AS dc
        JOIN dashboards AS d ON d.id = dc.dashboard_id AND NOT coalesce(d.archived, false)
        WHERE dc.card_id = c.id) AS dashboards
FROM risks AS r
JOIN cards AS c ON c.id = r.card_id
WHERE r.reason IS NOT NULL
GROUP BY c.id, c.name, c.type
ORDER BY dashboards DESC, c.id;
