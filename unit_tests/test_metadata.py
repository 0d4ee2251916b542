"""metadata.yaml: valid for the Airbyte registry's own model and consistent with the connector."""

import re
from pathlib import Path

import yaml
from airbyte_cdk.sources.declarative.parsers.manifest_reference_resolver import ManifestReferenceResolver
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
    names = {stream["name"] for stream in ManifestReferenceResolver().preprocess_manifest(MANIFEST)["streams"]}
    for release, change in METADATA["data"]["releases"]["breakingChanges"].items():
        assert version(release)[1:] == (0, 0), "breaking changes need a major version"
        assert version(release) <= version(METADATA["data"]["dockerImageTag"])
        for scope in change.get("scopedImpact", []):
            assert set(scope["impactedScopes"]) <= names


def test_allowed_hosts_are_the_configured_instance_only():
    hosts = METADATA["data"]["allowedHosts"]["hosts"]
    assert hosts == ["${instance_api_url}"]
    # the platform fills ${...} from the config: the key must be the spec's, and required
    spec = MANIFEST["spec"]["connection_specification"]
    assert "instance_api_url" in spec["properties"] and "instance_api_url" in spec["required"]


def test_no_pypi_package_of_its_own_as_for_manifest_only_connectors():
    assert METADATA["data"]["remoteRegistries"] == {
        "pypi": {"enabled": False, "packageName": "airbyte-source-metabase"}}


def test_the_migration_guide_has_a_section_per_breaking_version_newest_first():
    guide = (ROOT / "docs" / "metabase-migrations.md").read_text()
    assert guide.splitlines()[0] == "# Metabase Migration Guide"
    sections = re.split(r"^## ", guide, flags=re.M)[1:]
    titles = [section.splitlines()[0] for section in sections]
    breaking = sorted(METADATA["data"]["releases"]["breakingChanges"], key=version, reverse=True)
    assert titles == [f"Upgrading to {release}" for release in breaking]
    for release, section in zip(breaking, sections):
        change = METADATA["data"]["releases"]["breakingChanges"][release]
        for scope in change.get("scopedImpact", []):
            for stream in scope["impactedScopes"]:
                assert f"`{stream}`" in section, (release, stream)
        assert "What to do" in section and "refresh the source schema" in section.lower(), release
