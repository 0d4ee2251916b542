"""The CDK's standard tests (DeclarativeSourceTestSuite), driven by acceptance-test-config.yml,
against a running Metabase emulator (v0.64, Enterprise: every stream has records).

The suite runs the connector in-process (manifest.yaml with components.py injected, as the
`source-declarative-manifest` image does). The configs it reads are written into
integration_tests/secrets/ (git-ignored) by the `emulator` fixture before any test runs."""

import json
import os
import sys
from pathlib import Path

import pytest

from airbyte_cdk.models import (
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    DestinationSyncMode,
    SyncMode,
)
from airbyte_cdk.test.standard_tests import DeclarativeSourceTestSuite
from airbyte_cdk.test.standard_tests._job_runner import run_test_job
from integration_tests.conftest import acceptance_configs, expected_keys, start_emulator
from integration_tests.connector import ROOT, STREAMS, connector_env, id_order, key_of

SECRETS = Path(__file__).resolve().parent / "secrets"
# Where the injected components.py is registered for the runtime to import it.
COMPONENT_MODULES = ("components", "source_declarative_manifest.components")
# The connector command each scenario test runs: it is given exactly the configs listed under
# the acceptance-test-config.yml sections that run that command (so no pair is skipped).
COMMANDS = {
    "test_config_matches_spec": "spec",
    "test_check": "check",
    "test_discover": "discover",
    "test_basic_read": "read",
    "test_fail_read_with_bad_catalog": "read",
    "test_every_stream_reads_the_emulators_records": "read",
}

# The catalog checks the suite only warns about fail here.
pytestmark = pytest.mark.filterwarnings(
    "error::airbyte_cdk.test.standard_tests.DiscoveredCatalogWarning"
)


def pytest_generate_tests(metafunc):
    if "scenario" in metafunc.fixturenames:
        command = COMMANDS[metafunc.function.__name__]  # a new suite test must be listed above
        scenarios = [s for s in metafunc.cls.get_scenarios() if s.runs(command)]
        assert scenarios, f"acceptance-test-config.yml lists no config for `{command}`"
        metafunc.parametrize("scenario", scenarios, ids=[s.id for s in scenarios])


@pytest.fixture(scope="module", autouse=True)
def emulator():
    """A v0.64 Enterprise emulator (every stream has records), its configs written where
    acceptance-test-config.yml points, and this process trusting its CA (the suite runs the
    connector in-process); all undone afterwards."""
    emulator = start_emulator("v0.64", edition="ee")
    made_secrets = not SECRETS.exists()
    SECRETS.mkdir(exist_ok=True)
    written = []
    for name, config in acceptance_configs(emulator).items():
        written.append(SECRETS / f"{name}.json")
        written[-1].write_text(json.dumps(config))
    saved_env, saved_modules = dict(os.environ), {m: sys.modules.get(m) for m in COMPONENT_MODULES}
    os.environ.update(connector_env(emulator.ca_bundle))
    yield emulator
    os.environ.clear()
    os.environ.update(saved_env)
    for name, module in saved_modules.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module
    for path in written:
        path.unlink()
    if made_secrets:
        SECRETS.rmdir()
    emulator.stop()


class TestMetabaseStandardSuite(DeclarativeSourceTestSuite):
    """spec, check (good and bad configs), discover, basic read and full refresh, as Airbyte's
    connector CI runs them."""

    # The image tests need a Docker daemon and Airbyte's published base image; the image runs
    # this same manifest and components.py in the same CDK, which the tests here run in-process.
    test_docker_image_build_and_spec = None
    test_docker_image_spec_backward_compatibility = None
    test_docker_image_build_and_check = None
    test_docker_image_build_and_config_matches_spec = None
    test_docker_image_build_and_discover = None
    test_docker_image_build_and_read = None

    def test_every_stream_reads_the_emulators_records(self, scenario, emulator):
        """The suite only asks for some valid records per stream (`expect_records` is no longer
        read): each stream must return exactly the records the emulator holds for its admin."""
        root = self.get_connector_root_dir()
        scenario = scenario.with_expecting_success()
        discovered = run_test_job(self.create_connector(scenario), "discover",
                                  connector_root=root, test_scenario=scenario)
        catalog = ConfiguredAirbyteCatalog(streams=[
            ConfiguredAirbyteStream(stream=stream, sync_mode=SyncMode.full_refresh,
                                    destination_sync_mode=DestinationSyncMode.overwrite)
            for stream in discovered.catalog.catalog.streams
        ])
        read = run_test_job(self.create_connector(scenario), "read", connector_root=root,
                            test_scenario=scenario, catalog=catalog)

        ids = {stream.name: [] for stream in discovered.catalog.catalog.streams}
        for message in read.records:
            ids[message.record.stream].append(key_of(message.record.stream, message.record.data))
        assert sorted(ids) == sorted(STREAMS)
        for stream in STREAMS:
            assert sort(ids[stream]) == sort(expected_keys(emulator, stream)), stream


def sort(ids: list) -> list:
    return id_order(ids)


def test_make_connector_test_starts():
    """`make connector-test` (the CDK's own runner of this suite) at least starts: its entry point
    imports and parses its options."""
    import subprocess

    done = subprocess.run([sys.executable, "-m", "integration_tests.cdk_standard_tests", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--with-image-tests" in done.stdout, done.stderr[-2000:]
