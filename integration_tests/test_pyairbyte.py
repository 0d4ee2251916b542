"""PyAirbyte runs the connector from manifest.yaml (it injects the components.py lying beside it)
and reads every stream into its default DuckDB cache, against the emulator (v0.50).

PyAirbyte cannot share .venv (its pins conflict with the project's), so it gets its own,
.venv-pyairbyte/, built from requirements-pyairbyte.lock the first time and again whenever the
lock changes (a fresh install takes about 1.5 minutes)."""

import hashlib
import json
import shutil
import subprocess
import sys

from integration_tests.conftest import current_rows, expected_keys, make_config, start_emulator
from integration_tests.connector import ROOT, STREAMS, connector_env, instant
from integration_tests.metabase_emulator import Scale

LOCK = ROOT / "requirements-pyairbyte.lock"
VENV = ROOT / ".venv-pyairbyte"

# Run in .venv-pyairbyte, the config on stdin (no secret in argv); prints the counts last.
SCRIPT = """
import json, sys
from pathlib import Path
import airbyte

source = airbyte.get_source("source-metabase", source_manifest=Path(sys.argv[1]), config=json.load(sys.stdin))
source.check()
source.select_all_streams()
result = source.read()
print(json.dumps({"cache": type(result.cache).__name__, "db_path": str(result.cache.db_path),
                  "counts": {name: len(dataset) for name, dataset in result.streams.items()}}))
"""


def pyairbyte_python():
    """.venv-pyairbyte's python, (re)built from the lock when missing or made from another lock."""
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    marker = VENV / "lock.sha256"  # written last: a half-built venv is never taken as ready
    python = VENV / "bin" / "python"
    if python.exists() and marker.exists() and marker.read_text() == digest:
        return python
    shutil.rmtree(VENV, ignore_errors=True)
    for command in ([sys.executable, "-m", "venv", str(VENV)],
                    [str(python), "-m", "pip", "install", "--quiet", "-r", str(LOCK)]):
        done = subprocess.run(command, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    marker.write_text(digest)
    return python


def test_pyairbyte_reads_every_stream_into_its_default_duckdb_cache(emulators, tmp_path):
    python = pyairbyte_python()
    emulator = emulators("v0.50")
    # connector_env sets AIRBYTE_ENABLE_UNSAFE_CODE=true: PyAirbyte refuses the injected
    # components.py without it. Offline mode: no registry look-up, no telemetry. Its cache
    # (cwd/.cache), logs and home files all go to tmp_path, none into the repo.
    env = connector_env(emulator.ca_bundle, AIRBYTE_OFFLINE_MODE="1", HOME=str(tmp_path),
                        AIRBYTE_LOGGING_ROOT=str(tmp_path / "logs"))
    run = subprocess.run([str(python), "-c", SCRIPT, str(ROOT / "manifest.yaml")],
                         input=json.dumps(make_config(emulator, "api_key")), env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["cache"] == "DuckDBCache"
    assert result["db_path"].startswith(str(tmp_path))
    assert result["counts"] == {stream: len(expected_keys(emulator, stream)) for stream in STREAMS}


# Two reads into the same cache; after each, every incremental stream's rows as (id, updated_at).
INCREMENTAL_SCRIPT = """
import json, sys
from pathlib import Path
import airbyte

source = airbyte.get_source("source-metabase", source_manifest=Path(sys.argv[1]), config=json.load(sys.stdin))
source.select_streams(sys.argv[2].split(","))
result = source.read()  # the default DuckDB cache, which keeps the state between reads
rows = {}
for name in result.streams:
    table = result.cache.processor.get_sql_table_name(name)
    with result.cache.processor.get_sql_connection() as connection:
        found = connection.exec_driver_sql(f"select id, updated_at from {table}").fetchall()
    rows[name] = sorted([row[0], row[1].isoformat() if row[1] is not None else None] for row in found)
print(json.dumps({"processed": result.processed_records, "rows": rows}))
"""


def test_a_second_pyairbyte_read_after_edits_leaves_exactly_the_current_content(tmp_path):
    python = pyairbyte_python()
    # Timestamps in UTC: PyAirbyte 0.71.3's DuckDB loader reads them as TIMESTAMP before storing
    # them as TIMESTAMPTZ (str(TIMESTAMP(timezone=True)) is "TIMESTAMP"), so a -05:00 offset
    # would be dropped on the way in, whatever the connector sends (docs: known limitations).
    emulator = start_emulator("v0.50", scale=Scale(cards=120, dashboards=30), timestamp_offsets=False)
    streams = ["cards", "dashboards", "native_query_snippets"]
    env = connector_env(emulator.ca_bundle, AIRBYTE_OFFLINE_MODE="1", HOME=str(tmp_path),
                        AIRBYTE_LOGGING_ROOT=str(tmp_path / "logs"))

    def read():
        run = subprocess.run([str(python), "-c", INCREMENTAL_SCRIPT, str(ROOT / "manifest.yaml"), ",".join(streams)],
                             input=json.dumps(make_config(emulator, "api_key")), env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        return json.loads(run.stdout.splitlines()[-1])

    try:
        first = read()
        assert first["processed"] == sum(len(emulator.expected_ids(s, "admin")) for s in streams)
        edited = {"cards": emulator.edit("cards", emulator.expected_ids("cards", "admin")[:4]) + emulator.add("cards", 2),
                  "dashboards": emulator.edit("dashboards", emulator.expected_ids("dashboards", "admin")[:2]),
                  "native_query_snippets": emulator.add("native_query_snippets", 1)}
        second = read()
        # PyAirbyte (0.71.3) builds the in-process declarative source without the state it
        # keeps (airbyte/_executors/declarative.py), so its second read reads everything again
        # (the CLI reads only what changed: test_incremental.py); what matters here is that
        # the cache, deduplicated on id, then holds exactly what Metabase holds now.
        assert second["processed"] >= sum(len(ids) for ids in edited.values())
        for stream in streams:
            current = sorted([row["id"], instant(row["updated_at"]).isoformat()] for row in current_rows(emulator, stream))
            cached = sorted([row_id, instant(value).isoformat()] for row_id, value in second["rows"][stream])
            assert cached == current, stream
    finally:
        emulator.stop()
