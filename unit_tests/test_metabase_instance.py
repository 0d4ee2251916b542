"""components.Instance: what a Metabase's GET /api/session/properties says of its version,
edition and the caller, and the notices a sync starts with (metabase-api.md 11.9)."""

import pytest


def properties(tag, features=None, admin=False):
    answer = {"version": {"tag": tag, "hash": "abc1234", "date": "2026-01-01", "branch": "release"},
              "token-features": features or {}, "site-name": "Metabase"}
    if admin:
        answer["check-for-updates"] = True  # a setting of :admin visibility: sent to superusers only
    return answer


@pytest.mark.parametrize("tag, minor, enterprise", [
    ("v0.40.8", 40, False), ("v0.57.3", 57, False), ("v1.60.2", 60, True), ("v1.64.0-beta", 64, True),
    ("vLOCAL_DEV", None, False), ("", None, False)])
def test_the_version_tag_gives_the_minor_version_and_the_edition(components, tag, minor, enterprise):
    instance = components.Instance.from_properties(properties(tag))
    assert (instance.minor, instance.enterprise) == (minor, enterprise)


@pytest.mark.parametrize("tag, admin_setting, admin", [
    ("v0.50.29", True, True), ("v0.50.29", False, False),
    ("v0.40.5", False, False),  # api/session.clj merges the :admin settings in for superusers on every version
    ("v0.40.5", True, True),
    ("", True, None),  # no answer: nothing known
])
def test_an_admin_is_told_by_the_settings_only_admins_read(components, tag, admin_setting, admin):
    assert components.Instance.from_properties(properties(tag, admin=admin_setting)).admin is admin


@pytest.mark.parametrize("tag, features, endpoint, served", [
    ("v0.53.1", {}, "notification", False), ("v0.54.0", {}, "notification", True),
    ("v0.57.3", {}, "document", False), ("v1.57.3", {}, "ee/document", True), ("v0.58.0", {}, "document", True),
    ("v1.58.1", {}, "ee/transform", True), ("v0.58.1", {}, "transform", False), ("v0.59.0", {}, "transform", True),
    ("v0.59.0", {}, "measure", False), ("v0.60.0", {}, "measure", True),
    ("v0.64.2", {}, "ee/logs/query_execution", False), ("v1.64.2", {}, "ee/logs/query_execution", False),
    ("v1.64.2", {"audit_app": True}, "ee/logs/query_execution", True),
    ("v0.42.0", {}, "timeline", False), ("v0.43.0", {}, "timeline", True), ("v0.40.8", {}, "segment", True),
])
def test_which_endpoints_a_version_and_edition_serve(components, tag, features, endpoint, served):
    assert components.Instance.from_properties(properties(tag, features)).has(endpoint) is served


def test_an_unknown_version_serves_what_is_asked_for(components):
    instance = components.Instance.from_properties({})
    assert instance.has("measure") is None and instance.cannot("measure") is None


def test_the_notices_name_the_version_edition_and_what_cannot_be_read(components):
    oss_analyst = components.Instance.from_properties(properties("v0.57.3"))
    (level, first), (warning_level, second) = components._describe(oss_analyst, "https://mb.example.com/api/")
    assert (level, first) == ("info", "Metabase v0.57.3 (open source) at https://mb.example.com/api/; "
                                      "this credential is not an admin.")
    assert warning_level == "warning"
    for stream, why in [("documents", "0.58"), ("transforms", "0.59"), ("measures", "0.60"),
                        ("query_executions", "audit app"), ("users", "admins only"),
                        ("permission_groups", "admins only"), ("collection_permissions", "admins only"),
                        ("data_permissions", "admins only")]:
        assert f"{stream} (" in second and why in second.split(f"{stream} (")[1].split(")")[0] + ")", stream
    assert "timelines" not in second and "alerts" not in second and "cards" not in second

    ee_admin = components.Instance.from_properties(properties("v1.64.2", {"audit_app": True, "sso_saml": False},
                                                              admin=True))
    notices = components._describe(ee_admin, "https://mb.example.com/api/")
    assert notices == [("info", "Metabase v1.64.2 (Enterprise with audit_app) at https://mb.example.com/api/; "
                                "this credential is an admin.")]

    without_audit = components.Instance.from_properties(properties("v1.60.0", {"audit_app": False, "sso_jwt": True}))
    assert "(Enterprise, licensed)" in components._describe(without_audit, "https://mb.example.com/api/")[0][1]
    cloud = components.Instance.from_properties(properties("v1.64.2", {"audit_app": True, "transforms": True,
                                                                       "sso_jwt": True, "whitelabel": True}))
    assert "(Enterprise with audit_app, transforms)" in components._describe(cloud, "https://mb.example.com/api/")[0][1]

    unlicensed = components.Instance.from_properties(properties("v1.60.0", {"audit_app": False}, admin=True))
    (_, first), (_, second) = components._describe(unlicensed, "https://mb.example.com/api/")
    assert "Enterprise, without a licence" in first
    assert "query_executions (this Enterprise build has no audit_app or advanced_config feature)" in second
    # the log's routes asked for advanced_config before audit_app (api/routes.clj): either opens it
    older = components.Instance.from_properties(properties("v1.47.2", {"audit_app": False, "advanced_config": True}))
    assert older.has("ee/logs/query_execution") is True


def test_a_metabase_that_does_not_say_its_version_is_noticed(components):
    [(level, text)] = components._describe(components.Instance.from_properties({}), "https://mb.example.com/api/")
    assert level == "warning" and "did not say its version" in text
