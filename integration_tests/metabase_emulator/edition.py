"""The edition the emulator plays: open source, licensed Enterprise, or Enterprise without a license.

The emulator setting `edition` takes:
- "oss" (default): the open-source build. No /api/ee/ route exists (404 "API endpoint does not exist.");
  `version.tag` is v0.N.P; every token feature is false.
- "ee": an Enterprise build with a Pro self-hosted token: `audit_app`, `sandboxes` and the other
  self-hosted features true, cloud-only features and paid add-ons false; `version.tag` v1.N.P.
- "ee-unlicensed": an Enterprise build without a token: `version.tag` v1.N.P, every token feature
  false, and the /api/ee/ routes still mounted, answering 402 "<Feature> is a paid feature ..."
  (metabase-api.md 11.9).

It also completes GET /api/session/properties: the settings readable by whoever asks
(`setting/user-readable-values-map` of `current-user-readable-visibilities` in
src/metabase/session/api.clj; `properties :public/:authenticated/:admin` in
src/metabase/api/session.clj @ v0.40.5), the version tag and the token features of the version
(src/metabase/premium_features/settings.clj `-token-features`, `define-premium-feature ^{:added}`;
src/metabase/public_settings.clj `token-features` at ~0.47 and ~0.51, `premium-features` @ v0.40.5).
"""

from __future__ import annotations

from .web import json_response, text_response

EDITIONS = ("oss", "ee", "ee-unlicensed")

# The key set of the token-features setting, by era (the setting's map literal in each version).
_FEATURES_047 = ("advanced_permissions", "audit_app", "cache_granular_controls", "config_text_file",
                 "content_verification", "dashboard_subscription_filters", "disable_password_login",
                 "email_allow_list", "email_restrict_recipients", "embedding", "hosting", "official_collections",
                 "sandboxes", "session_timeout_config", "snippet_collections", "sso_google", "sso_jwt", "sso_ldap",
                 "sso_saml", "whitelabel")
_FEATURES_051 = _FEATURES_047 + ("attached_dwh", "collection_cleanup", "scim", "upload_management",
                                 "llm_autodescription")
_FEATURES_NEWEST = _FEATURES_051 + (
    "ai_sql_fixer", "ai_sql_generation", "ai_entity_analysis", "cache_preemptive", "cloud_custom_smtp",
    "content_translation", "database_auth_providers", "database_routing", "data_studio", "dependencies",
    "development_mode", "embedding_sdk", "embedding_simple", "etl_connections", "etl_connections_pg", "metabot_v3",
    "query_reference_validation", "remote_sync", "semantic_search", "serialization", "sso_slack", "support-users",
    "table_data_editing", "tenants", "transforms", "transforms-python", "workspaces")
# `^{:added "0.N"}` of define-premium-feature (1.53 is 0.53 on the EE tag); the rest predate the map.
_ADDED = {"advanced_permissions": 41, "cache_granular_controls": 41, "config_text_file": 41,
          "content_verification": 41, "dashboard_subscription_filters": 41, "email_allow_list": 41,
          "official_collections": 41, "snippet_collections": 41, "serialization": 45, "email_restrict_recipients": 47,
          "llm_autodescription": 50, "query_reference_validation": 51, "collection_cleanup": 51,
          "database_auth_providers": 51, "metabot_v3": 52, "cache_preemptive": 53, "database_routing": 54,
          "ai_sql_fixer": 54, "ai_sql_generation": 54, "development_mode": 55, "embedding_simple": 55,
          "ai_entity_analysis": 55, "content_translation": 56, "cloud_custom_smtp": 56, "etl_connections": 56,
          "etl_connections_pg": 56, "semantic_search": 56, "table_data_editing": 57, "remote_sync": 57,
          "transforms": 57, "transforms-python": 57, "dependencies": 57, "support-users": 57, "data_studio": 58,
          "tenants": 58, "sso_slack": 59, "workspaces": 59}
# What a Pro self-hosted token leaves out: Metabase Cloud only, and paid add-ons.
_NOT_IN_SELF_HOSTED = {"hosting", "attached_dwh", "development_mode", "cloud_custom_smtp", "etl_connections",
                       "etl_connections_pg", "metabot_v3", "ai_sql_fixer", "ai_sql_generation", "ai_entity_analysis",
                       "llm_autodescription", "semantic_search", "database_routing", "workspaces"}
# The emulator's answer has always carried these four (keys of the real map in every era from 0.41).
_LEGACY_KEYS = ("sso_saml", "sso_jwt", "embedding", "official_collections")

# Settings beyond the public ones: default :visibility is :admin (check-for-updates has none);
# enable-xrays, enable-public-sharing and admin-email are :authenticated (public_settings.clj @ v0.40.5).
AUTHENTICATED_SETTINGS = {"admin-email": None, "enable-public-sharing": False, "enable-xrays": True}
ADMIN_SETTINGS = {"check-for-updates": True}
# The label of the premium feature each /api/ee/ context requires (api_routes/routes.clj's
# required-feature->message); a kind module serving another /api/ee/ route adds its own here.
PREMIUM_CONTEXTS = {"logs": ("audit_app", "Audit app"), "audit-app": ("audit_app", "Audit app")}


def edition_of(settings) -> str:
    return settings.get("edition", "oss")


def check_edition(value) -> str:
    """The `edition` setting's validator."""
    if value not in EDITIONS:
        raise ValueError("edition: %r is not one of %s" % (value, ", ".join(EDITIONS)))
    return value


def feature_keys(profile) -> tuple:
    """The keys of `token-features` in this version (0.41+)."""
    minor = _minor(profile)
    era = _FEATURES_047 if minor < 50 else _FEATURES_051 if minor < 53 else _FEATURES_NEWEST
    return tuple(sorted({k for k in era if _ADDED.get(k, 0) <= minor} | set(_LEGACY_KEYS)))


def has_feature(profile, edition: str, feature: str) -> bool:
    """Whether the token grants `feature` (a token-features key, e.g. "audit_app", "sandboxes")."""
    return edition == "ee" and feature not in _NOT_IN_SELF_HOSTED and feature in feature_keys(profile)


def token_features(profile, edition: str) -> dict:
    return {k: has_feature(profile, edition, k) for k in feature_keys(profile)}


def version_tag(profile, edition: str) -> str:
    """v0.N.P on open source, v1.N.P on Enterprise builds, licensed or not (metabase-api.md 11.9)."""
    return profile.tag if edition == "oss" else "v1." + profile.tag.split(".", 1)[1]


def session_properties(props: dict, profile, edition: str, viewer) -> dict:
    """Render.session_properties' public settings, completed for the edition and for what the caller
    may read: authenticated settings for any user, admin ones for superusers (sensitive ones never)."""
    props = dict(props)
    props["version"] = dict(props["version"], tag=version_tag(profile, edition))
    if profile.since(41):
        props["token-features"] = token_features(profile, edition)
    else:
        # 0.40 has no token-features setting but `premium-features`; the emulator's four keys stay
        props["token-features"] = {k: False for k in _LEGACY_KEYS}
        props["premium-features"] = {k: edition == "ee" for k in ("embedding", "whitelabel", "audit_app",
                                                                  "sandboxes", "sso")}
    if viewer is not None:
        props.update(AUTHENTICATED_SETTINGS)
        if viewer.superuser:
            props.update(ADMIN_SETTINGS)
    return props


def premium_refusal(profile, edition: str, context: str):
    """The answer Metabase gives instead of running an /api/ee/<context>/... route, or None when the route
    may run: 404 on open source (no EE routes at all), 402 on an Enterprise build whose token lacks the
    feature (metabase_enterprise/api/routes/common.clj `+require-premium-feature`, premium_features
    `ee-feature-error`)."""
    if edition == "oss":
        return text_response("API endpoint does not exist.", 404)
    feature, label = PREMIUM_CONTEXTS[context]
    if has_feature(profile, edition, feature):
        return None
    if not profile.since(47):  # before PR #32522 the message named the token feature
        return text_response("This API endpoint is only enabled if you have a premium token with the :%s feature."
                             % feature.replace("_", "-"), 402)
    message = ("%s is a paid feature not currently available to your instance. Please upgrade to use it. "
               "Learn more at metabase.com/upgrade/" % label)
    if not profile.since(51):  # ex-info with only :status-code: the message is the plain-text body
        return text_response(message, 402)
    # later ee-feature-error carries :status too, so the body is the exception as JSON
    # (server/middleware/exceptions.clj; e2e getPartialPremiumFeatureError)
    status = "error-premium-feature-not-available"
    return json_response({"message": message, "status": status, "cause": message,
                          "data": {"status-code": 402, "status": status}, "via": [], "trace": []}, 402)


def _minor(profile) -> int:
    return int(profile.tag.split(".")[1])

