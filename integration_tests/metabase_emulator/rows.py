"""The data model's rows and constants: what a Metabase instance holds, version independent.

Plain dataclasses, one per table of Metabase's application database that the emulator serves,
the instance's fixed groups and credentials, and `Scale` (how big it is). Generation
(generate.py) fills a `Model` (model.py) with these; render*.py decide how a row looks on the wire.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field as dc_field

T0 = 1551398400  # 2019-03-01: the instance's birth; all timestamps lie after it
T1 = 1759190400  # 2025-09-30: "now" for the generated history

# Fixed group ids as in a fresh Metabase (All Users and Administrators are created first).
ALL_USERS, ADMINISTRATORS, ANALYSTS, FINANCE, MARKETING = 1, 2, 3, 4, 5
GROUP_NAMES = {ALL_USERS: "All Users", ADMINISTRATORS: "Administrators", ANALYSTS: "Analysts",
               FINANCE: "Finance", MARKETING: "Marketing"}


def _key(prefix: str, body: str) -> str:
    """An obviously fake API key in Metabase's shape: mb_ + 44 base64 chars (47 in all)."""
    return (prefix + body).ljust(46, "0") + "="


CREDENTIALS = {
    "admin_email": "admin@example.com",
    "admin_password": "fake-admin-password-1234",
    "analyst_email": "analyst@example.com",
    "analyst_password": "fake-analyst-password-5678",
    "deactivated_email": "former.employee@example.com",
    "deactivated_password": "fake-former-password-9012",
    "admin_api_key": _key("mb_", "FAKEadminKEYforTESTSonly"),
    "analyst_api_key": _key("mb_", "FAKEanalystKEYforTESTSonly"),
}


class Scale:
    """How big the instance is. Only `cards` matters; the rest follow it unless given."""

    def __init__(self, cards: int = 60, dashboards=None, collections=None, users=None,
                 databases=None, snippets=None, dashcards_per_dashboard=None, segments=None,
                 timelines=None, subscriptions=None):
        def pick(given, derived, minimum):
            return max(0, int(given)) if given is not None else max(minimum, int(derived))

        self.cards = max(0, int(cards))
        self.dashboards = pick(dashboards, self.cards / 10, 4)
        self.collections = pick(collections, self.cards / 25, 6)
        self.users = pick(users, self.cards / 30, 4)  # generated users besides the fixed three
        # three by default so that a small instance has the sample DB, a warehouse and a
        # database the analyst may not see
        self.databases = pick(databases, self.cards / 1000, 3)
        self.snippets = pick(snippets, self.cards / 50, 3)
        self.dashcards_per_dashboard = pick(dashcards_per_dashboard, 8, 0)
        self.segments = pick(segments, self.cards / 20, 3)
        self.timelines = pick(timelines, self.cards / 30, 3)
        self.subscriptions = pick(subscriptions, self.dashboards / 3, 3)  # dashboard subscriptions

    def as_dict(self):
        return dict(vars(self))

    def __repr__(self):
        return "Scale(%s)" % ", ".join("%s=%s" % kv for kv in vars(self).items())


# --- rows ---------------------------------------------------------------------------------

@dataclass(slots=True)
class User:
    id: int
    email: str
    first_name: str | None
    last_name: str | None
    is_superuser: bool
    is_active: bool
    group_ids: list
    date_joined: int
    last_login: int | None
    updated_at: int
    kind: str = "personal"  # or "api-key": the hidden user behind an API key
    password: str | None = None
    locale: str | None = None
    sso_source: str | None = None
    is_qbnewb: bool = False
    personal_collection_id: int | None = None

    @property
    def common_name(self):
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.email


@dataclass(slots=True)
class Field:
    id: int
    table_id: int
    name: str
    display_name: str
    base_type: str
    semantic_type: str | None
    database_type: str
    position: int
    fk_target_field_id: int | None
    fingerprint: dict | None
    description: str | None = None
    active: bool = True  # False: the column was dropped; Metabase keeps the field but lists it nowhere


@dataclass(slots=True)
class Table:
    id: int
    db_id: int
    name: str
    schema: str
    display_name: str
    description: str | None
    entity_type: str
    created_at: int
    updated_at: int
    entity_id: str
    estimated_row_count: int | None
    fields: list = dc_field(default_factory=list)
    visibility_type: str | None = None  # "hidden" tables are left out of metadata unless include_hidden


@dataclass(slots=True)
class Database:
    id: int
    name: str
    engine: str
    is_sample: bool
    restricted: bool  # only Administrators and Finance have data access
    created_at: int
    updated_at: int
    details: dict
    timezone: str | None
    creator_id: int | None
    tables: list = dc_field(default_factory=list)


@dataclass(slots=True)
class Collection:
    id: int
    name: str
    slug: str
    description: str | None
    location: str  # "/" or "/3/7/": the ids of the ancestors
    entity_id: str
    created_at: int
    personal_owner_id: int | None = None
    namespace: str | None = None  # None or "snippets"
    archived: bool = False
    archived_directly: bool | None = None
    restricted: bool = False  # readable only by Administrators and Finance
    authority_level: str | None = None
    type: str | None = None  # None, or "trash" for the v0.50+ Trash
    is_sample: bool = False

    @property
    def parent_id(self):
        parts = [p for p in self.location.split("/") if p]
        return int(parts[-1]) if parts else None


@dataclass(slots=True)
class Card:
    id: int
    name: str
    description: str | None
    collection_id: int | None
    type: str  # question | model | metric
    query_type: str  # query | native
    query: dict  # abstract query spec, rendered as MBQL 4 or 5 by the profile
    database_id: int
    table_id: int | None
    display: str
    creator_id: int
    created_at: int
    updated_at: int
    editor_id: int | None  # last editor (for last-edit-info); None = unknown
    entity_id: str
    archived: bool = False
    archived_directly: bool = False
    collection_position: int | None = None
    dashboard_id: int | None = None  # a "dashboard question" (rendered from v0.53 on)
    source_card_id: int | None = None
    dashboard_count: int = 0
    view_count: int = 0
    average_query_time: float | None = None
    last_query_start: int | None = None
    visualization_settings: dict = dc_field(default_factory=dict)
    parameters: list = dc_field(default_factory=list)
    cache_ttl: int | None = None
    last_used_at: int | None = None  # None: derived from last_query_start/updated_at (see Render)
    document_id: int | None = None  # a chart of a document (documents.py; rendered from 0.57 on)


@dataclass(slots=True)
class DashCard:
    id: int
    card_id: int | None  # None for text/heading/link cards
    tab_index: int | None
    row: int
    col: int
    size_x: int
    size_y: int
    entity_id: str
    created_at: int
    updated_at: int
    series: list = dc_field(default_factory=list)  # ids of extra cards drawn on the same chart
    virtual: dict | None = None  # visualization settings of a text/heading/link card
    mappings: list = dc_field(default_factory=list)  # (parameter_id, field_id)


@dataclass(slots=True)
class Dashboard:
    id: int
    name: str
    description: str | None
    collection_id: int | None
    creator_id: int
    created_at: int
    updated_at: int
    editor_id: int | None
    entity_id: str
    archived: bool = False
    archived_directly: bool = False
    collection_position: int | None = None
    parameters: list = dc_field(default_factory=list)
    tabs: list = dc_field(default_factory=list)  # [(tab_id, name, entity_id)]
    dashcards: list = dc_field(default_factory=list)
    view_count: int = 0
    width: str = "fixed"
    last_viewed_at: int | None = None  # None: derived from updated_at (see Render)
    auto_apply_filters: bool = True
    # The last revision (last-edit-info): a save that changes only dashcards writes one
    # without touching the dashboard's updated_at. None: the revision of updated_at.
    revised_at: int | None = None


@dataclass(slots=True)
class Snippet:
    id: int
    name: str
    description: str | None
    content: str
    collection_id: int | None
    creator_id: int
    created_at: int
    updated_at: int
    entity_id: str
    archived: bool = False


@dataclass(slots=True)
class Segment:
    id: int
    name: str
    description: str | None
    table_id: int
    filter: tuple  # (field_id, value): rendered as an MBQL 4 fragment or an MBQL 5 query
    creator_id: int
    created_at: int
    updated_at: int
    entity_id: str
    archived: bool = False
    caveats: str | None = None


@dataclass(slots=True)
class TimelineEvent:
    id: int
    timeline_id: int
    name: str
    description: str | None
    timestamp: int
    time_matters: bool
    timezone: str
    icon: str
    creator_id: int
    created_at: int
    updated_at: int
    archived: bool = False


@dataclass(slots=True)
class Timeline:
    id: int
    name: str
    description: str | None
    icon: str
    collection_id: int | None
    default: bool
    creator_id: int
    created_at: int
    updated_at: int
    entity_id: str
    archived: bool = False
    events: list = dc_field(default_factory=list)


@dataclass(slots=True)
class PulseChannel:
    id: int
    channel_type: str  # email | slack
    schedule_type: str  # hourly | daily | weekly | monthly
    schedule_hour: int | None
    schedule_day: str | None
    schedule_frame: str | None
    entity_id: str
    created_at: int
    updated_at: int
    user_ids: list = dc_field(default_factory=list)  # recipients who are users
    emails: list = dc_field(default_factory=list)  # raw addresses
    details: dict = dc_field(default_factory=dict)


@dataclass(slots=True)
class Pulse:
    """A row of Metabase's pulse table: a dashboard subscription (dashboard_id set), a legacy
    pulse (neither dashboard nor alert condition) or an alert (alert_condition set)."""
    id: int
    name: str | None
    creator_id: int
    created_at: int
    updated_at: int
    entity_id: str
    collection_id: int | None
    dashboard_id: int | None = None
    alert_condition: str | None = None
    cards: list = dc_field(default_factory=list)  # [(card_id, dashcard_id or None)]
    channels: list = dc_field(default_factory=list)
    skip_if_empty: bool = False
    archived: bool = False
    parameters: list = dc_field(default_factory=list)


# --- values derived from a row's columns ------------------------------------------------

def iso(us: int | None, zoned: bool = True) -> str | None:
    """Postgres-style `...35.85999Z` (1-6 digits); H2-style `...32.77` (no zone) if not zoned."""
    if us is None:
        return None
    sec, frac = divmod(us, 1_000_000)
    digits = ("%06d" % frac).rstrip("0")
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + ("." + digits if digits else "") + \
        ("Z" if zoned else "")


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_") or "collection"


def display_name(column: str) -> str:
    return " ".join(w.capitalize() for w in column.lower().split("_"))

