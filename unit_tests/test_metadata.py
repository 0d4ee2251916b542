"""metadata.yaml: valid for the Airbyte registry's own model and consistent with the connector."""

import re
from pathlib import Path

import yaml
from airbyte_connector_models.metadata.v0.connector_metadata_definition_v0 import (
    ConnectorMetadataDefinitionV0,
)

ROOT = Path(__file__).resolve().parent.parent
METADATA = yaml.safe_load((ROOT / "metadata.yaml").read_text())
MANIFEST = yaml.safe_load((ROOT / "manifest.yaml").read_text())


def version(text):
    return tuple(int(part) for part in text.split("."))


def test_metadata_validates_with_the_registry_model():
    model = ConnectorMetadataDefinitionV0.model_validate(METADATA)
    assert str(model.data.definition_id) == "c7cb421b-942e-4468-99ee-e369bcabaec5"
    assert model.data.docker_repository == "airbyte/source-metabase"


def test_metadata_declares_a_manifest_only_low_code_connector_on_the_manifest_cdk():
    data = METADATA["data"]
    assert {"language:manifest-only", "cdk:low-code"} <= set(data["tags"])
    base_image = data["connectorBuildOptions"]["baseImage"]
    assert re.fullmatch(r"docker\.io/airbyte/source-declarative-manifest:[\d.]+(@sha256:[0-9a-f]{64})?", base_image)
    assert base_image.split(":")[1].split("@")[0] == MANIFEST["version"]


def test_version_succeeds_the_2_1_line_and_matches_pyproject():
    tag = METADATA["data"]["dockerImageTag"]
    assert version(tag) > (2, 1, 14)
    assert f'version = "{tag}"' in (ROOT / "pyproject.toml").read_text()


def test_breaking_changes_name_real_streams_and_a_major_version():
    names = {stream["name"] for stream in MANIFEST["streams"]}
    for release, change in METADATA["data"]["releases"]["breakingChanges"].items():
        assert version(release)[1:] == (0, 0), "breaking changes need a major version"
        assert version(release) <= version(METADATA["data"]["dockerImageTag"])
        for scope in change.get("scopedImpact", []):
            assert set(scope["impactedScopes"]) <= names
