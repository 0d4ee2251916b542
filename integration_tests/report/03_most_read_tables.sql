-- Tables most questions read
-- Live cards per source table (table_id: the table a question, model or metric starts from;
-- native SQL questions usually have none), with the table's database and schema.
SELECT t.id AS table_id, db.name AS database, t.schema, t.name AS table_name, count(*) AS questions
FROM cards AS c
JOIN tables AS t ON t.id = c.table_id
LEFT JOIN databases AS db ON db.id = t.db_id
WHERE NOT coalesce(c.archived, false)
GROUP BY t.id, db.name, t.schema, t.name
ORDER BY questions DESC, t.id;
