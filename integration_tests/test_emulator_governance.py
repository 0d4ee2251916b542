"""The emulator's governance endpoints (metabase-api.md 11.7-11.9), through plain `requests`:
GET /api/session/properties, per profile and edition."""

import re

import pytest

from integration_tests.metabase_emulator import Emulator, Scale
from integration_tests.test_emulator import Client

SMALL = Scale(cards=60)


def as_user(emu, who="admin"):
    return Client(emu, **{"X-Metabase-Session": emu.mint_session(emu.credentials[who + "_email"])})


@pytest.fixture(scope="module", params=["v0.40", "v0.50", "v0.52", "v0.57"])
def emu(request):
    with Emulator(profile=request.param, seed=1, scale=SMALL) as emulator:
        yield emulator
        emulator.configure(edition="oss")


OLD_KEYS = {"version", "site-name", "site-url", "site-locale", "application-name", "has-user-setup", "setup-token",
            "enable-password-login", "google-auth-enabled", "ldap-enabled", "anon-tracking-enabled",
            "available-locales", "token-features", "version-info-last-checked", "startup-time-millis"}


def test_session_properties_by_caller_and_edition(emu):
    p = emu.profile
    admin, analyst, anonymous = as_user(emu), as_user(emu, "analyst"), Client(emu)
    for edition in ("oss", "ee-unlicensed", "ee"):
        emu.configure(edition=edition)
        anon = anonymous.get("/api/session/properties").json()
        mine = analyst.get("/api/session/properties").json()
        full = admin.get("/api/session/properties").json()
        assert OLD_KEYS <= set(anon) and set(anon) < set(mine) < set(full)
        assert "check-for-updates" in full and "check-for-updates" not in mine and "enable-xrays" in mine
        assert "premium-embedding-token" not in full  # sensitive: never sent
        tag = anon["version"]["tag"]
        assert re.fullmatch(r"v%d\.%s\.\d+" % (0 if edition == "oss" else 1, p.tag.split(".")[1]), tag)
        assert {"sso_saml", "sso_jwt", "embedding", "official_collections"} <= set(anon["token-features"])
        features = anon["token-features"] if p.since(41) else anon["premium-features"]
        assert all(isinstance(v, bool) for v in features.values())
        assert (features["audit_app"], any(features.values())) == ((True, True) if edition == "ee" else (False, False))
        if p.since(41) and edition == "ee":
            assert features["sandboxes"] and not features["hosting"]
        bad = Client(emu, **{"X-Metabase-Session": "00000000-0000-4000-8000-000000000000"})
        assert bad.get("/api/session/properties").json() == anon  # an unknown session: a public answer
    if p.api_keys:
        key = Client(emu, **{"X-API-Key": emu.credentials["admin_api_key"]}).get("/api/session/properties").json()
        assert "check-for-updates" in key
    emu.configure(edition="oss")
    assert set(as_user(emu).get("/api/session/properties").json()["token-features"]) >= \
        ({"audit_app", "sandboxes", "advanced_permissions"} if p.since(41) else {"sso_saml"})
