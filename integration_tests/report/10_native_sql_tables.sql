-- Tables named in native SQL (best effort)
-- The connector does not parse SQL: cards.dependencies of a native question holds only its
-- template tags. This section parses each live native question's text with DuckDB's own SQL parser
-- (json_serialize_sql), after taking out Metabase's syntax ([[optional clauses]], {{#27-card}}
-- as __card_27, {{snippet: ...}} dropped, other {{tags}} as NULL), and matches the table names
-- it finds to the synced tables of the card's database (schema and name, case-insensitive; an
-- unqualified name matches that name in any schema). Best effort: SQL that DuckDB cannot parse
-- (another dialect) is "not parsed", CTE names and {{#27-card}} references are names, not tables,
-- and a snippet's own tables are not looked at.
WITH native AS (
    SELECT id AS card_id, name AS card, database_id,
           coalesce(dataset_query->'native'->>'query', dataset_query->'stages'->0->>'native') AS sql
    FROM cards
    WHERE query_type = 'native' AND NOT coalesce(archived, false)
),
parsed AS (
    SELECT card_id, card, database_id,
           CAST(json_serialize_sql(regexp_replace(regexp_replace(regexp_replace(regexp_replace(sql,
               '\[\[.*?\]\]', '', 'gs'),
               '\{\{\s*#(\d+)[^}]*\}\}', '__card_\1', 'g'),
               '\{\{\s*snippet:[^}]*\}\}', '', 'g'),
               '\{\{[^}]*\}\}', 'NULL', 'g')) AS VARCHAR) AS ast
    FROM native
),
names AS (
    SELECT card_id, regexp_extract(ref, '"schema_name":"([^"]*)"', 1) AS schema_name,
           regexp_extract(ref, '"table_name":"([^"]*)"', 1) AS table_name
    FROM parsed, unnest(regexp_extract_all(ast, '"type":"BASE_TABLE"[^{}]*?"schema_name":"[^"]*","table_name":"[^"]*"')) AS r(ref)
),
matched AS (
    SELECT n.card_id, n.schema_name, n.table_name, t.id AS table_id
    FROM names AS n
    JOIN parsed AS p ON p.card_id = n.card_id
    LEFT JOIN tables AS t ON t.db_id = p.database_id AND lower(t.name) = lower(n.table_name)
                         AND (n.schema_name = '' OR lower(t.schema) = lower(n.schema_name))
)
SELECT p.card_id, p.card,
       NOT coalesce(CAST(json_extract(p.ast, '$.error') AS BOOLEAN), true) AS parsed,
       (SELECT string_agg(DISTINCT CAST(m.table_id AS VARCHAR), ', ' ORDER BY CAST(m.table_id AS VARCHAR))
        FROM matched AS m WHERE m.card_id = p.card_id AND m.table_id IS NOT NULL) AS table_ids,
       (SELECT string_agg(DISTINCT concat_ws('.', nullif(m.schema_name, ''), m.table_name), ', '
                          ORDER BY concat_ws('.', nullif(m.schema_name, ''), m.table_name))
        FROM matched AS m WHERE m.card_id = p.card_id AND m.table_id IS NULL) AS unmatched_names
FROM parsed AS p
ORDER BY p.card_id;
