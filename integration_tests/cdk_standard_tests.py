"""Airbyte's own test command, `airbyte-cdk connector test`, against the bundled emulator.

    python -m integration_tests.cdk_standard_tests                 # make connector-test
    python -m integration_tests.cdk_standard_tests --with-image-tests
    python -m integration_tests.cdk_standard_tests -- -k test_check   # more pytest arguments

The command runs the CDK's standard tests (DeclarativeSourceTestSuite, as Airbyte's CI does)
with the configs acceptance-test-config.yml names, so this starts a v0.64 Enterprise emulator,
writes those configs into integration_tests/secrets/ (git-ignored; removed afterwards), trusts the emulator's
CA and runs the real `airbyte-cdk connector test` on this folder. The Docker image tests need a
Docker daemon and Airbyte's published base image: they are left out (`-m "not image_tests"`)
unless --with-image-tests."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

from integration_tests.connector import ROOT, connector_env
from integration_tests.metabase_emulator import Emulator, Scale
from integration_tests.conftest import acceptance_configs
from integration_tests.test_standard_suite import SECRETS

AIRBYTE_CDK = Path(sys.executable).parent / "airbyte-cdk"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--with-image-tests", action="store_true", help="also the Docker image tests")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args()

    command = [str(AIRBYTE_CDK), "connector", "test", str(ROOT)]
    if not args.with_image_tests:
        command += ["--pytest-arg=-m", "--pytest-arg=not image_tests"]
    command += [f"--pytest-arg={arg}" for arg in args.pytest_args]

    with Emulator(profile="v0.64", seed=7, scale=Scale(cards=60), edition="ee") as emulator:
        made = not SECRETS.exists()
        SECRETS.mkdir(exist_ok=True)
        written = []
        try:
            for name, config in acceptance_configs(emulator).items():
                written.append(SECRETS / f"{name}.json")
                written[-1].write_text(json.dumps(config))
            print(" ".join(command), flush=True)
            return subprocess.run(command, cwd=ROOT, env=connector_env(emulator.ca_bundle)).returncode
        finally:
            for path in written:
                path.unlink(missing_ok=True)
            if made:
                SECRETS.rmdir()


if __name__ == "__main__":
    sys.exit(main())
