-- Groups and their members
-- Each permission group with its members, from users.group_ids (the
-- permission_group_memberships stream gives the same pairs); member_count is Metabase's own.
WITH members AS (
    SELECT u.id, u.email, u.is_active, CAST(group_id AS BIGINT) AS group_id
    FROM users AS u, unnest(CAST(u.group_ids AS JSON[])) AS t(group_id)
)
SELECT g.id AS group_id, g.name AS "group", g.member_count,
       count(m.id) FILTER (WHERE m.is_active) AS active_members,
       count(m.id) FILTER (WHERE NOT m.is_active) AS deactivated_members,
       array_to_string(list_slice(list(m.email ORDER BY m.id) FILTER (WHERE m.is_active), 1, 3), ', ') AS first_active_members
FROM permission_groups AS g
LEFT JOIN members AS m ON m.group_id = g.id
GROUP BY g.id, g.name, g.member_count
ORDER BY g.id;
