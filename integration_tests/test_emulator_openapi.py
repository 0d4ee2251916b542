"""The v0.64 emulator's answers against Metabase's own OpenAPI spec, for every path that has a
response schema (integration_tests/metabase_emulator/openapi/README.md): transforms (closed
objects), measures, timelines."""

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from integration_tests.metabase_emulator import Emulator, Scale
from integration_tests.test_emulator import Client

SPEC = Path(__file__).resolve().parent / "metabase_emulator" / "openapi"
BASE = "https://metabase-openapi.invalid/split/"  # hierarchical, so relative $refs resolve


def anything_or_null(node):
    """Metabase writes a nullable "anything" as oneOf [{}, {"type": "null"}], which no null passes
    (both branches match): read such a oneOf as anyOf."""
    if isinstance(node, dict):
        out = {k: anything_or_null(v) for k, v in node.items()}
        if "oneOf" in out and {} in out["oneOf"]:
            out["anyOf"] = out.pop("oneOf")
        return out
    if isinstance(node, list):
        return [anything_or_null(v) for v in node]
    return node


def retrieve(uri: str) -> Resource:
    path = SPEC / uri[len(BASE):]
    return Resource.from_contents(anything_or_null(json.loads(path.read_text())), default_specification=DRAFT202012)


REGISTRY = Registry(retrieve=retrieve)


def validator(path_file: str) -> Draft202012Validator:
    """The GET 2XX JSON schema of one path file, its $refs resolved relative to that file."""
    pointer = "#/get/responses/2XX/content/application~1json/schema"
    return Draft202012Validator({"$ref": BASE + "paths/" + path_file + pointer}, registry=REGISTRY)


def errors(path_file: str, answer) -> list:
    return ["%s: %s" % (list(e.absolute_path), e.message) for e in validator(path_file).iter_errors(answer)]


@pytest.fixture(scope="module")
def emu():
    with Emulator(profile="v0.64", seed=1, scale=Scale(cards=60)) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def admin(emu):
    return Client(emu, **{"X-Metabase-Session": emu.mint_session(emu.credentials["admin_email"])})


def test_transforms_validate_as_closed_objects(emu, admin):
    listed = admin.get("/api/transform").json()
    assert listed and errors("api_transform.json", listed) == []
    for t in listed:
        assert errors("api_transform_{id}.json", admin.get("/api/transform/%d" % t["id"]).json()) == []
    # the validator is not vacuous: a key the spec does not allow, a missing one, a wrong status fail
    extra, missing, wrong = (copy.deepcopy(listed[0]) for _ in range(3))
    extra["archived"] = False
    del missing["dependency_analysis_version"]
    wrong["last_run"] = dict(wrong["last_run"] or {}, status="exploded")
    assert errors("api_transform_{id}.json", extra) and errors("api_transform_{id}.json", missing)
    assert errors("api_transform.json", [wrong])
    assert errors("api_transform_{id}.json", dict(listed[0], creator=dict(listed[0]["creator"], locale="de")))


def test_measures_validate(emu, admin):
    listed = admin.get("/api/measure").json()
    assert listed and errors("api_measure.json", listed) == []
    for ms in emu.model.measures.values():
        assert errors("api_measure_{id}.json", admin.get("/api/measure/%d" % ms.id).json()) == []
    assert errors("api_measure_{id}.json", dict(listed[0], name="")) and \
        errors("api_measure_{id}.json", {k: v for k, v in listed[0].items() if k != "definition"})


def test_timelines_validate(emu, admin):
    for params in ({}, {"include": "events"}, {"archived": "true"}):
        answer = admin.get("/api/timeline", params=params).json()
        assert answer and errors("api_timeline.json", answer) == []
    assert errors("api_timeline.json", [{"name": "no id"}])


def test_the_nullable_anything_quirk_is_read_as_any_of():
    assert anything_or_null({"oneOf": [{}, {"type": "null"}]}) == {"anyOf": [{}, {"type": "null"}]}
    assert anything_or_null({"oneOf": [{"type": "string"}, {"type": "null"}]}) == \
        {"oneOf": [{"type": "string"}, {"type": "null"}]}
    raw = json.loads((SPEC / "paths" / "api_transform.json").read_text())
    strict = Draft202012Validator(raw["get"]["responses"]["2XX"]["content"]["application/json"]["schema"]["items"]
                                  ["properties"]["last_run"]["oneOf"][0]["properties"]["end_time"])
    assert not strict.is_valid(None)  # why the quirk must be read so: both branches match a null
