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

from integration_tests.conftest import make_config
from integration_tests.connector import ROOT, STREAMS, connector_env

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
    assert result["counts"] == {stream: len(emulator.expected_ids(stream, "admin")) for stream in STREAMS}
