-- Content per creator
-- Live questions and dashboards per creator, flagging creators who are deactivated (their
-- content has no active owner) or not among the synced users.
WITH content AS (
    SELECT creator_id, 1 AS is_question, 0 AS is_dashboard FROM cards WHERE NOT coalesce(archived, false)
    UNION ALL
    SELECT creator_id, 0, 1 FROM dashboards WHERE NOT coalesce(archived, false)
)
SELECT content.creator_id, u.email,
       CASE WHEN u.id IS NULL THEN 'not synced' WHEN u.is_active THEN '' ELSE 'deactivated' END AS flag,
       sum(is_question) AS questions, sum(is_dashboard) AS dashboards
FROM content
LEFT JOIN users AS u ON u.id = content.creator_id
GROUP BY content.creator_id, u.email, u.id, u.is_active
ORDER BY sum(is_question) + sum(is_dashboard) DESC, content.creator_id;
