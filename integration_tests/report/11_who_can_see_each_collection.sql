-- Who can see each collection
-- Per collection (the root one included; not personal ones nor those inside them: only their
-- owner sees them), the groups that may write to it and those that may only read it, from the
-- collection permission graph (collection_permissions, admins only), with each group's member
-- count as Metabase gives it; a collection no group may read is listed with none.
WITH access AS (
    SELECT CAST(p.collection_id AS VARCHAR) AS collection_id, p.access, g.name, g.member_count
    FROM collection_permissions AS p
    JOIN permission_groups AS g ON g.id = p.group_id
)
SELECT CAST(c.id AS VARCHAR) AS collection_id, c.name AS collection,
       coalesce(string_agg(a.name || ' (' || a.member_count || ')', ', ' ORDER BY a.name) FILTER (WHERE a.access = 'write'), '') AS write_groups,
       coalesce(string_agg(a.name || ' (' || a.member_count || ')', ', ' ORDER BY a.name) FILTER (WHERE a.access = 'read'), '') AS read_only_groups,
       coalesce(sum(a.member_count), 0) AS members_with_access
FROM collections AS c
LEFT JOIN access AS a ON a.collection_id = CAST(c.id AS VARCHAR)
WHERE c.personal_owner_id IS NULL AND NOT coalesce(c.is_personal, false)
  AND NOT coalesce(c.archived, false) AND c.type IS DISTINCT FROM 'trash'
  AND (c.namespace IS NULL OR c.namespace = '')
  AND EXISTS (SELECT 1 FROM collection_permissions)
GROUP BY c.id, c.name
ORDER BY members_with_access DESC, CAST(c.id AS VARCHAR);
