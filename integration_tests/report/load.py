"""Loads every stream of a Metabase into a DuckDB file through PyAirbyte. Runs in .venv-pyairbyte
(PyAirbyte's pins conflict with the project's), the connector config on stdin:

    .venv-pyairbyte/bin/python -m integration_tests.report.load --db metabase.duckdb --result out.json < config.json

PyAirbyte runs the connector as a local executable (integration_tests/bin/source-metabase: the
real `source-declarative-manifest` CLI with manifest.yaml and components.py, whose output is also
read for per-stream progress) and writes each stream to a table of the DuckDB file, replacing
the tables of an earlier load. Writes the records per stream, as JSON, to --result."""

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXECUTABLE = HERE.parent / "bin" / "source-metabase"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True, help="the DuckDB file to write")
    parser.add_argument("--cache-dir", type=Path, help="PyAirbyte's scratch folder (default: beside --db)")
    parser.add_argument("--result", type=Path, required=True, help="where to write the records per stream")
    args = parser.parse_args()

    import airbyte
    from airbyte.caches import DuckDBCache

    source = airbyte.get_source("source-metabase", local_executable=str(EXECUTABLE), config=json.load(sys.stdin))
    source.select_all_streams()
    cache = DuckDBCache(db_path=args.db.resolve(), cache_dir=(args.cache_dir or args.db.parent / ".pyairbyte").resolve())
    result = source.read(cache=cache, write_strategy="replace", force_full_refresh=True)
    counts = {name: len(dataset) for name, dataset in result.streams.items()}
    args.result.write_text(json.dumps({"db_path": str(args.db.resolve()), "counts": counts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
