-- Content per collection
-- Live questions and dashboards per collection; "root" is Metabase's root collection (Our
-- analytics). collections.id is text ("root" or a number), so the content's ids are cast.
WITH content AS (
    SELECT coalesce(CAST(collection_id AS VARCHAR), 'root') AS collection_id, 1 AS is_question, 0 AS is_dashboard
    FROM cards WHERE NOT coalesce(archived, false)
    UNION ALL
    SELECT coalesce(CAST(collection_id AS VARCHAR), 'root'), 0, 1
    FROM dashboards WHERE NOT coalesce(archived, false)
)
SELECT content.collection_id, col.name AS collection,
       col.personal_owner_id IS NOT NULL AS personal,
       sum(is_question) AS questions, sum(is_dashboard) AS dashboards
FROM content
LEFT JOIN collections AS col ON col.id = content.collection_id
GROUP BY content.collection_id, col.name, col.personal_owner_id
ORDER BY sum(is_question) + sum(is_dashboard) DESC, content.collection_id;
