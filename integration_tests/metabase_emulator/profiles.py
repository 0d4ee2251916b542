"""Version profiles: which routes exist and how each version renders the model's rows.

Only the differences that real Metabase versions show (metabase-api.md sections 2-3) are
modelled; a profile is a bundle of flags, and `Render` (render.py, re-exported here) turns rows
into wire dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .render import GARBAGE_UPDATED_AT, Render, field_visibility  # noqa: F401 (re-exported)


@dataclass(frozen=True)
class Profile:
    name: str
    tag: str  # version.tag of /api/session/properties
    hash: str
    date: str
    api_keys: bool  # X-API-Key honoured (v0.49+)
    user_list_admin_only: bool  # GET /api/user 403 for non-admins (v0.47+)
    activity_feed: bool  # GET /api/activity (removed in v0.47)
    dashcards_key: str  # "ordered_cards" (<0.48) or "dashcards"
    snake_sizes: bool  # size_x/size_y (v0.45+) instead of sizeX/sizeY
    tabs: bool  # dashboard tabs (v0.47+)
    card_type: bool  # card "type" (v0.49+) instead of "dataset"
    trash: bool  # Trash collection, archived_directly, can_restore/can_delete (v0.50+)
    mbql5: bool  # dataset_query as MBQL 5 + legacy_query + card_schema (v0.57+)
    remote_sync: bool  # is_remote_synced (v0.57+)
    dashboard_questions: bool  # card.dashboard_id / dashboard (v0.53+)
    legacy_rows: bool  # some rows without entity_id, some H2 zone-less timestamps
    throttle_status: int  # status of a throttled login
    sso_source: bool  # users carry sso_source instead of google_auth/ldap_auth
    view_bumps_updated_at: bool = False  # a card/dashboard view moves updated_at (v0.52, metabase#53687)
    # GET /api/dashboard: removed in 0.48.0 (metabase#35235), restored in a later 0.48.x (PR #37458)
    dashboard_list: bool = True

    def since(self, minor: int) -> bool:
        """This version is 0.<minor> or later (for the differences metabase-api.md section 9 lists)."""
        return int(self.tag.split(".")[1]) >= minor

    # The newer kinds, by the minor version that brought them (metabase-api.md 11.9's table).
    @property
    def notifications(self) -> bool:  # alerts are notifications; /api/alert a shim (11.2)
        return self.since(54)

    @property
    def documents(self) -> bool:  # OSS /api/document (11.3)
        return self.since(58)

    @property
    def transforms(self) -> bool:  # OSS /api/transform (11.4)
        return self.since(59)

    @property
    def library(self) -> bool:  # Library collection types (11.6)
        return self.since(59)

    @property
    def measures(self) -> bool:  # /api/measure; cards may aggregate a measure (11.5)
        return self.since(60)


PROFILES = {
    "v0.40": Profile("v0.40", "v0.40.8", "f8a3a54", "2021-09-27", api_keys=False,
                     user_list_admin_only=False, activity_feed=True, dashcards_key="ordered_cards",
                     snake_sizes=False, tabs=False, card_type=False, trash=False, mbql5=False,
                     remote_sync=False, dashboard_questions=False, legacy_rows=True,
                     throttle_status=400, sso_source=False),
    "v0.50": Profile("v0.50", "v0.50.29", "e8d2f4b", "2024-10-03", api_keys=True,
                     user_list_admin_only=True, activity_feed=False, dashcards_key="dashcards",
                     snake_sizes=True, tabs=True, card_type=True, trash=True, mbql5=False,
                     remote_sync=False, dashboard_questions=False, legacy_rows=False,
                     throttle_status=401, sso_source=True),
    "v0.57": Profile("v0.57", "v0.57.3", "2c41b9e", "2025-11-05", api_keys=True,
                     user_list_admin_only=True, activity_feed=False, dashcards_key="dashcards",
                     snake_sizes=True, tabs=True, card_type=True, trash=True, mbql5=True,
                     remote_sync=True, dashboard_questions=True, legacy_rows=False,
                     throttle_status=401, sso_source=True),
}
# 0.48.0 as it shipped: dashcards/tabs renamed, no card type (0.49), no API keys (0.49), no Trash
# (0.50), and no GET /api/dashboard (metabase-api.md 11.1)
PROFILES["v0.48"] = Profile("v0.48", "v0.48.0", "c5ea7d3", "2023-12-05", api_keys=False,
                            user_list_admin_only=True, activity_feed=False, dashcards_key="dashcards",
                            snake_sizes=True, tabs=True, card_type=False, trash=False, mbql5=False,
                            remote_sync=False, dashboard_questions=False, legacy_rows=False,
                            throttle_status=401, sso_source=True, dashboard_list=False)
# 0.64 as 0.57, plus what 0.58-0.64 brought (the since()-based flags above)
PROFILES["v0.64"] = replace(PROFILES["v0.57"], name="v0.64", tag="v0.64.2", hash="8b1e4f0", date="2026-04-21")
# 0.52 as 0.50, plus its bug: every view of a card or dashboard bumped updated_at (fixed later)
PROFILES["v0.52"] = replace(PROFILES["v0.50"], name="v0.52", tag="v0.52.11", hash="3f7c1d2", date="2025-02-10",
                            view_bumps_updated_at=True)
PROFILES = dict(sorted(PROFILES.items()))


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError("unknown profile %r (known: %s)" % (name, ", ".join(PROFILES))) from None
