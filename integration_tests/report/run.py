"""The day-one report on a DuckDB file loaded by integration_tests.report.load: one section per
SQL file of this folder (NN_name.sql, in order; its first comment line is the title). Runs in
.venv-pyairbyte, which has duckdb:

    .venv-pyairbyte/bin/python -m integration_tests.report.run --db metabase.duckdb
    .venv-pyairbyte/bin/python -m integration_tests.report.run --db metabase.duckdb --as-of 2025-09-30 --json out.json

A query may use $as_of, the report's date (default: now, UTC)."""

import argparse
import datetime
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def queries() -> list:
    """(name, title, sql) for each report query, in file order."""
    found = []
    for path in sorted(HERE.glob("[0-9][0-9]_*.sql")):
        sql = path.read_text()
        title = sql.splitlines()[0].removeprefix("--").strip()
        found.append((path.stem, title, sql))
    return found


def run(db: Path, as_of: datetime.datetime) -> list:
    """Every query's answer: dicts with name, title, columns, rows."""
    import duckdb

    sections = []
    with duckdb.connect(str(db), read_only=True) as connection:
        stand_in_for_missing_streams(connection)
        for name, title, sql in queries():
            parameters = {"as_of": as_of} if "$as_of" in sql else {}
            result = connection.execute(sql, parameters)
            columns = [column[0] for column in result.description]
            sections.append({"name": name, "title": title, "columns": columns,
                             "rows": [list(row) for row in result.fetchall()]})
    return sections


# JSON Schema types as DuckDB columns, for the stand-in of a stream that loaded nothing.
DUCKDB_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN", "string": "VARCHAR"}


def stand_in_for_missing_streams(connection) -> None:
    """A stream this Metabase does not serve or this credential cannot read (documents before
    0.58, the query log on open source, the permission graphs for a non-admin) loads no table:
    an empty temporary one with its schema's columns stands in, so every section still runs."""
    present = {row[0] for row in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    for path in sorted((HERE.parent.parent / "schemas").glob("*.json")):
        if path.stem in present:
            continue
        columns = []
        for column, spec in json.loads(path.read_text())["properties"].items():
            kinds = [t for t in (spec.get("type") if isinstance(spec.get("type"), list) else [spec.get("type")]) if t != "null"]
            columns.append(f'"{column}" {DUCKDB_TYPES.get(kinds[0], "JSON") if len(kinds) == 1 else "JSON"}')
        connection.execute(f'CREATE TEMP TABLE "{path.stem}" ({", ".join(columns)})')


def render(sections: list, as_of: datetime.datetime, max_rows: int) -> str:
    lines = [f"Metabase content report, as of {as_of:%Y-%m-%d %H:%M} UTC"]
    for section in sections:
        rows = [[cell(column, value) for column, value in zip(section["columns"], row)]
                for row in section["rows"][:max_rows]]
        lines += ["", section["title"]]
        if not rows:
            lines.append("  (none)")
            continue
        widths = [max(len(str(c)), *(len(r[i]) for r in rows)) for i, c in enumerate(section["columns"])]
        widths = [min(width, 60) for width in widths]
        for row in [section["columns"], *rows]:
            lines.append("  " + "  ".join(str(v)[:w].ljust(w) for v, w in zip(row, widths)).rstrip())
        if len(section["rows"]) > max_rows:
            lines.append(f"  ... and {len(section['rows']) - max_rows:,} more")
    return "\n".join(lines)


def cell(column: str, value) -> str:
    """Counts with thousands separators; ids and other values as they are."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and not column.endswith("id"):
        return f"{value:,}"
    return str(value)


def parse_as_of(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--as-of", type=parse_as_of, help="the report's date, UTC (default: now)")
    parser.add_argument("--rows", type=int, default=10, help="rows shown per section")
    parser.add_argument("--json", type=Path, help="also write every section, all rows, as JSON")
    args = parser.parse_args()

    as_of = args.as_of or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    sections = run(args.db, as_of)
    print(render(sections, as_of, args.rows))
    if args.json:
        args.json.write_text(json.dumps({"as_of": as_of.isoformat(), "sections": sections}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
