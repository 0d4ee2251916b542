-- Content owned by deactivated users
-- What would have no active owner if nobody takes it over: deactivated users, how many of them
-- created live questions or dashboards, and how many.
WITH gone AS (SELECT id FROM users WHERE NOT is_active)
SELECT (SELECT count(*) FROM gone) AS deactivated_users,
       (SELECT count(DISTINCT creator_id) FROM (
            SELECT creator_id FROM cards WHERE NOT coalesce(archived, false)
            UNION ALL
            SELECT creator_id FROM dashboards WHERE NOT coalesce(archived, false)
        ) WHERE creator_id IN (SELECT id FROM gone)) AS with_content,
       (SELECT count(*) FROM cards
        WHERE NOT coalesce(archived, false) AND creator_id IN (SELECT id FROM gone)) AS questions,
       (SELECT count(*) FROM dashboards
        WHERE NOT coalesce(archived, false) AND creator_id IN (SELECT id FROM gone)) AS dashboards;
