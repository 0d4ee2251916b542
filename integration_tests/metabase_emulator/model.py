"""The data model: a Metabase instance's content, generated deterministically from a seed.

Everything here is version independent; profiles.py decides how a row looks on the wire.
Each kind of thing draws from its own random stream (seeded by `seed` and the kind), so the
same seed and Scale always give the same instance, whatever order things are asked for in.
"""

from __future__ import annotations

import base64
import random
import re
import time
import unicodedata
from dataclasses import dataclass, field as dc_field

from . import queries

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


@dataclass(slots=True, frozen=True)
class Viewer:
    """What one user may see: computed once per user from its groups."""
    user: User
    superuser: bool
    readable: frozenset  # readable collection ids (root is always readable)
    writable: frozenset
    database_ids: frozenset


# --- word lists for believable names -------------------------------------------------------

FIRST = ["Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Mia", "Lucas",
         "Zoë", "Mateo", "Chloé", "Jürgen", "Aiko", "Ravi", "Fatima", "Sven", "Ines", "Kwame",
         "Priya", "Tomás", "Yuki", "Ana", "Björn", "Leila", "Omar", "Hana", "Diego", "Nora"]
LAST = ["Smith", "García", "Müller", "Nakamura", "Okafor", "Johansson", "Rossi", "Dubois",
        "Kowalski", "Nguyen", "Patel", "O'Brien", "Silva", "Novak", "Haddad", "Lindqvist",
        "Moreau", "Kim", "Schmidt", "Fernández", "Ivanova", "Mensah", "Costa", "Berg"]
METRICS = ["Revenue", "Orders", "Active Users", "Signups", "Churn", "Sessions", "Refunds",
           "Average Order Value", "Conversion Rate", "Support Tickets", "Page Views", "Trials",
           "MRR", "Inventory Levels", "Shipments", "Returns", "Leads", "Invoices", "Pipeline",
           "Retention", "NPS", "Ad Spend", "Cart Abandonment", "Deploys"]
DIMS = ["by Month", "by Week", "by Region", "by Product Category", "by Channel", "per Customer",
        "by Plan", "by Country", "over Time", "by Source", "by Cohort", "by Day of Week",
        "by Sales Rep", "by Vendor", "by Campaign", "by Segment"]
QUALS = ["", "", "", "", " (last 30 days)", " — YTD", " 2023", " 2024", " (draft)", " v2",
         " [EU]", " [US]", " for the Board", " – weekly review", " · Ωmega 测试", " 📈"]
AREAS = ["Marketing", "Sales", "Finance Ops", "Product", "Customer Success", "Engineering",
         "Growth", "Operations", "Data Team", "Executive", "People", "Partnerships", "Support",
         "Logistics", "Legal", "Design", "Security", "Research", "Analytics", "Regional"]
SUBAREAS = ["Dashboards", "Experiments", "Quarterly", "Archive 2022", "KPIs", "Ad hoc",
            "Reports", "Models", "Sandbox", "Certified", "EMEA", "APAC", "Americas", "Weekly"]
DISPLAYS = ["table", "bar", "line", "row", "pie", "scalar", "area", "combo", "pivot", "map",
            "progress", "funnel", "waterfall", "smartscalar"]
SENTENCES = ["Numbers refreshed nightly from the warehouse.",
             "Ask #data-team before changing this question.",
             "Excludes test accounts and internal users.",
             "Used in the monthly business review.",
             "Totals are in USD, converted at the daily rate.",
             "Définitions alignées avec l'équipe finance.",
             "Deprecated: use the certified model instead.",
             "Source of truth for the KPI scorecard."]

# Sample database tables as Metabase ships them (names and types only).
SAMPLE_TABLES = {
    "ORDERS": ["ID:pk", "USER_ID:fk", "PRODUCT_ID:fk", "SUBTOTAL:float", "TAX:float",
               "TOTAL:float", "DISCOUNT:float", "CREATED_AT:datetime", "QUANTITY:int"],
    "PEOPLE": ["ID:pk", "ADDRESS:text", "EMAIL:email", "PASSWORD:text", "NAME:name",
               "CITY:city", "LONGITUDE:lon", "STATE:state", "SOURCE:category",
               "BIRTH_DATE:date", "ZIP:zip", "LATITUDE:lat", "CREATED_AT:datetime"],
    "PRODUCTS": ["ID:pk", "EAN:text", "TITLE:title", "CATEGORY:category", "VENDOR:company",
                 "PRICE:float", "RATING:score", "CREATED_AT:datetime"],
    "REVIEWS": ["ID:pk", "PRODUCT_ID:fk", "REVIEWER:text", "RATING:score", "BODY:longtext",
                "CREATED_AT:datetime"],
    "ACCOUNTS": ["ID:pk", "EMAIL:email", "FIRST_NAME:name", "LAST_NAME:name", "PLAN:category",
                 "SOURCE:category", "SEATS:int", "CREATED_AT:datetime", "TRIAL_ENDS_AT:datetime",
                 "CANCELED_AT:datetime", "TRIAL_CONVERTED:bool", "ACTIVE_SUBSCRIPTION:bool",
                 "LEGACY_PLAN:bool", "LATITUDE:lat", "LONGITUDE:lon", "COUNTRY:country"],
    "ANALYTIC_EVENTS": ["ID:pk", "ACCOUNT_ID:fk", "EVENT:category", "TIMESTAMP:datetime",
                        "PAGE_URL:url", "BUTTON_LABEL:category"],
    "FEEDBACK": ["ID:pk", "ACCOUNT_ID:fk", "EMAIL:email", "DATE_RECEIVED:date",
                 "RATING:int", "RATING_MAPPED:category", "BODY:longtext"],
    "INVOICES": ["ID:pk", "ACCOUNT_ID:fk", "PAYMENT:float", "EXPECTED_INVOICE:bool",
                 "PLAN:category", "DATE_RECEIVED:date"],
}
WAREHOUSE_TABLES = ["orders", "order_items", "customers", "products", "subscriptions",
                    "invoices", "payments", "refunds", "sessions", "page_views", "events",
                    "campaigns", "ad_spend", "leads", "opportunities", "accounts", "tickets",
                    "shipments", "inventory", "suppliers", "employees", "departments",
                    "experiments", "feature_flags", "deploys", "incidents", "nps_responses",
                    "web_vitals", "app_installs", "promotions"]
WAREHOUSE_COLUMNS = ["created_at:datetime", "updated_at:datetime", "deleted_at:datetime",
                     "status:category", "amount:float", "currency:category", "country:country",
                     "region:category", "email:email", "name:name", "title:title",
                     "description:longtext", "quantity:int", "price:float", "discount:float",
                     "is_active:bool", "is_test:bool", "source:category", "channel:category",
                     "plan:category", "score:score", "latitude:lat", "longitude:lon",
                     "url:url", "city:city", "state:state", "zip:zip", "birth_date:date",
                     "company:company", "seats:int", "revenue:float", "cost:float",
                     "margin:float", "duration_ms:int", "referrer:url", "utm_campaign:category",
                     "utm_medium:category", "device:category", "browser:category",
                     "os_version:text", "notes:longtext", "external_id:text", "sku:text",
                     "weight_kg:float", "rating:score", "tax:float", "shipping_cost:float",
                     "first_seen_at:datetime", "last_seen_at:datetime", "signup_date:date",
                     "account_manager:name", "industry:category", "employee_count:int",
                     "lifetime_value:float", "phone:text", "postal_code:zip", "timezone:category",
                     "language:category", "is_churned:bool", "renewal_date:date"]
ENGINES = [("postgres", "Analytics Warehouse"), ("snowflake", "Finance Warehouse"),
           ("mysql", "Production Replica"), ("bigquery-cloud-sdk", "Events Lake"),
           ("redshift", "Marketing Mart"), ("sqlserver", "ERP"), ("mongo", "App Documents"),
           ("databricks", "Lakehouse")]

# kind -> (base_type, semantic_type, database_type)
FIELD_KINDS = {
    "pk": ("type/BigInteger", "type/PK", "BIGINT"),
    "fk": ("type/Integer", "type/FK", "INTEGER"),
    "int": ("type/Integer", "type/Quantity", "INTEGER"),
    "float": ("type/Float", None, "DOUBLE PRECISION"),
    "score": ("type/Float", "type/Score", "DOUBLE PRECISION"),
    "datetime": ("type/DateTime", "type/CreationTimestamp", "TIMESTAMP"),
    "date": ("type/Date", None, "DATE"),
    "text": ("type/Text", None, "CHARACTER VARYING"),
    "longtext": ("type/Text", "type/Description", "TEXT"),
    "email": ("type/Text", "type/Email", "CHARACTER VARYING"),
    "name": ("type/Text", "type/Name", "CHARACTER VARYING"),
    "title": ("type/Text", "type/Title", "CHARACTER VARYING"),
    "city": ("type/Text", "type/City", "CHARACTER VARYING"),
    "state": ("type/Text", "type/State", "CHARACTER"),
    "country": ("type/Text", "type/Country", "CHARACTER VARYING"),
    "zip": ("type/Text", "type/ZipCode", "CHARACTER"),
    "company": ("type/Text", "type/Company", "CHARACTER VARYING"),
    "category": ("type/Text", "type/Category", "CHARACTER VARYING"),
    "url": ("type/Text", "type/URL", "CHARACTER VARYING"),
    "lat": ("type/Float", "type/Latitude", "DOUBLE PRECISION"),
    "lon": ("type/Float", "type/Longitude", "DOUBLE PRECISION"),
    "bool": ("type/Boolean", "type/Category", "BOOLEAN"),
}


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


class Model:
    """All the content of one emulated instance (not yet rendered for a version)."""

    def __init__(self, seed: int = 1, scale: Scale | None = None):
        self.seed = seed
        self.scale = scale or Scale()
        self.users: dict[int, User] = {}
        self.databases: dict[int, Database] = {}
        self.tables: dict[int, Table] = {}
        self.fields: dict[int, Field] = {}
        self.collections: dict[int, Collection] = {}
        self.cards: dict[int, Card] = {}
        self.dashboards: dict[int, Dashboard] = {}
        self.snippets: dict[int, Snippet] = {}
        self.trash_id: int | None = None
        self.segments: dict[int, Segment] = {}
        self.timelines: dict[int, Timeline] = {}
        self.pulses: dict[int, Pulse] = {}
        self.memberships: list[tuple] = []  # (membership_id, user_id, group_id)
        self._pools = None
        self._viewers: dict[int, Viewer] = {}
        self._make_users()
        self._make_databases()
        self._make_collections()
        self._make_snippets()
        self._make_segments()  # before the cards, whose queries filter on them
        self._make_cards()
        self._make_dashboards()
        self._make_relationships()
        self.by_email = {u.email.lower(): u for u in self.users.values()}

    # -- helpers --
    def _rng(self, kind: str) -> random.Random:
        return random.Random("%s/%s" % (self.seed, kind))

    @staticmethod
    def _nano(rng: random.Random) -> str:
        # NanoID's alphabet is the URL-safe base64 one, so 126 random bits encode to 21 chars
        return base64.urlsafe_b64encode(rng.getrandbits(128).to_bytes(16, "big")).decode()[:21]

    @staticmethod
    def _ts(rng: random.Random, lo: int = T0, hi: int = T1) -> int:
        """A timestamp in microseconds; never on a whole second so it has 1-6 digits."""
        return rng.randint(lo, max(lo, hi)) * 1_000_000 + rng.randint(1, 999_999)

    def _ts_around(self, rng, frac: float, spread: float = 0.04) -> int:
        """A timestamp at `frac` of the instance's history, so ids grow with time."""
        f = min(1.0, max(0.0, frac + rng.uniform(-spread, spread)))
        return int(T0 + f * (T1 - T0)) * 1_000_000 + rng.randint(1, 999_999)

    # -- users and groups --
    def _make_users(self):
        rng = self._rng("users")
        c = CREDENTIALS
        fixed = [
            (c["admin_email"], "Admin", "User", True, True, [ALL_USERS, ADMINISTRATORS], c["admin_password"]),
            (c["analyst_email"], "Ana", "Lyst", False, True, [ALL_USERS, ANALYSTS], c["analyst_password"]),
            (c["deactivated_email"], "Former", "Employee", False, False, [ALL_USERS, ANALYSTS],
             c["deactivated_password"]),
        ]
        for i, (email, first, last, su, active, groups, pw) in enumerate(fixed, start=1):
            joined = self._ts(rng, T0, T0 + 86400 * 30 * i)
            self.users[i] = User(i, email, first, last, su, active, groups, joined,
                                 self._ts(rng, T1 - 86400 * 20, T1) if active else joined + 10**12,
                                 joined + 10**12, password=pw)
        seen = set()
        for n in range(self.scale.users):
            uid = len(self.users) + 1
            first, last = rng.choice(FIRST), rng.choice(LAST)
            base = "%s.%s" % (slugify(first).replace("_", ""), slugify(last).replace("_", ""))
            email = "%s@example.com" % base if base not in seen else "%s%d@example.com" % (base, uid)
            seen.add(base)
            active = rng.random() > 0.2
            su = rng.random() < 0.1
            groups = [ALL_USERS] + ([ADMINISTRATORS] if su else []) + sorted(
                rng.sample([ANALYSTS, FINANCE, MARKETING], rng.randint(0, 2)))
            joined = self._ts_around(rng, n / max(1, self.scale.users) * 0.9, 0.1)
            last_login = None if rng.random() < 0.1 else min(T1 * 10**6, joined + rng.randint(1, 400) * 86400 * 10**6)
            self.users[uid] = User(uid, email, None if rng.random() < 0.03 else first,
                                   None if rng.random() < 0.05 else last, su, active, groups, joined,
                                   last_login, (last_login or joined) + rng.randint(1, 10**9),
                                   locale=rng.choice([None, None, None, "de", "fr", "pt_BR", "ja"]),
                                   sso_source=rng.choice([None, None, None, "google", "saml", "ldap"]),
                                   is_qbnewb=rng.random() < 0.3)
        # The hidden users behind API keys (Metabase creates one per key).
        for name, key, groups in (("Admin key", c["admin_api_key"], [ALL_USERS, ADMINISTRATORS]),
                                  ("Analyst key", c["analyst_api_key"], [ALL_USERS, ANALYSTS])):
            uid = len(self.users) + 1
            t = self._ts(rng, T1 - 86400 * 200, T1 - 86400 * 100)
            self.users[uid] = User(uid, "api-key-user-%08x-0000-4000-8000-%012x@api-key.invalid"
                                   % (uid, uid), name, None, ADMINISTRATORS in groups, True, groups,
                                   t, None, t, kind="api-key", password=key)

    def people(self):
        """Real (non API key) users, in id order."""
        return [u for u in self.users.values() if u.kind == "personal"]

    def group_members(self, gid: int) -> list:
        return [u for u in self.people() if gid in u.group_ids]

    # -- databases, tables, fields --
    def _make_databases(self):
        rng = self._rng("databases")
        fid = 0
        tid = 0

        def add_field(table, name, kind, pos):
            nonlocal fid
            fid += 1
            base, sem, dbt = FIELD_KINDS[kind]
            table.fields.append(Field(fid, table.id, name, display_name(name), base, sem, dbt, pos,
                                      None, self._fingerprint(rng, base, sem, kind),
                                      rng.choice([None, None, None, "The %s of the %s." % (
                                          display_name(name).lower(), table.display_name.lower())])))

        for i in range(self.scale.databases):
            dbid = i + 1
            if i == 0:
                engine, name, sample = "h2", "Sample Database", True
            else:
                engine, name = ENGINES[(i - 1) % len(ENGINES)]
                name += "" if i <= len(ENGINES) else " %d" % ((i - 1) // len(ENGINES) + 1)
                sample = False
            created = self._ts_around(rng, i / max(1, self.scale.databases) * 0.5)
            details = ({"db": "file:/plugins/sample-database.db;USER=GUEST;PASSWORD=guest"} if sample
                       else {"host": "%s.db.internal.example.com" % slugify(name).replace("_", "-"),
                             "port": {"postgres": 5432, "mysql": 3306, "redshift": 5439}.get(engine, 443),
                             "dbname": slugify(name), "user": "metabase_ro",
                             "password": "**MetabasePass**", "ssl": True, "tunnel-enabled": False,
                             "advanced-options": False})
            db = Database(dbid, name, engine, sample, name.startswith("Finance"), created,
                          created + rng.randint(1, 10**13), details,
                          None if sample else rng.choice(["UTC", "Europe/Berlin", "America/New_York"]),
                          None if sample else 1)
            self.databases[dbid] = db
            if sample:
                specs = [("PUBLIC", t, cols) for t, cols in SAMPLE_TABLES.items()]
            else:
                names = rng.sample(WAREHOUSE_TABLES, min(len(WAREHOUSE_TABLES), rng.randint(6, 18)))
                specs = []
                for t in names:
                    cols = ["id:pk"] + ["%s_id:fk" % rng.choice(["customer", "account", "order", "user"])]
                    cols += rng.sample(WAREHOUSE_COLUMNS, rng.randint(26, 56))
                    specs.append((rng.choice(["public", "analytics", "raw", "staging"]), t, cols))
            for schema, tname, cols in specs:
                tid += 1
                t = Table(tid, dbid, tname, schema, display_name(tname),
                          rng.choice([None, "One row per %s." % display_name(tname).lower().rstrip("s")]),
                          rng.choice(["entity/GenericTable", "entity/TransactionTable", "entity/UserTable"]),
                          created + rng.randint(1, 10**9), created + rng.randint(10**9, 10**13),
                          self._nano(rng), rng.choice([None, rng.randint(10, 10**7)]))
                for pos, spec in enumerate(cols):
                    cname, kind = spec.split(":")
                    add_field(t, cname, kind, pos)
                db.tables.append(t)
                self.tables[tid] = t
                for f in t.fields:
                    self.fields[f.id] = f
        # FKs point at the first table's primary key of the same database
        for db in self.databases.values():
            if db.tables:
                pk = db.tables[0].fields[0].id
                for t in db.tables:
                    for f in t.fields:
                        if f.semantic_type == "type/FK":
                            f.fk_target_field_id = pk
        # A column dropped from every third warehouse table: Metabase marks its field inactive and
        # lists it nowhere, but the questions saved before still name it.
        for db in self.databases.values():
            if not db.is_sample:
                for t in db.tables[1::3]:
                    t.fields[-1].active = False

    @staticmethod
    def _fingerprint(rng, base, sem, kind):
        if sem == "type/PK":
            return None
        g = {"distinct-count": rng.randint(2, 20000), "nil%": rng.choice([0.0, 0.0, 0.0012, 0.25])}
        if base in ("type/Integer", "type/Float", "type/BigInteger"):
            lo = round(rng.uniform(-100, 100), 2)
            hi = round(lo + rng.uniform(1, 10000), 6)
            q1 = round(lo + (hi - lo) * 0.25, 6)
            return {"global": g, "type": {"type/Number": {
                "min": lo, "q1": q1, "q3": round(lo + (hi - lo) * 0.75, 6), "max": hi,
                "sd": round((hi - lo) / 5.1, 6), "avg": round((hi + lo) / 2.3, 6)}}}
        if base in ("type/DateTime", "type/Date"):
            lo, hi = Model._ts(rng), Model._ts(rng)
            return {"global": g, "type": {"type/DateTime": {
                "earliest": iso(min(lo, hi)), "latest": iso(max(lo, hi))}}}
        if base == "type/Text":
            return {"global": g, "type": {"type/Text": {
                "percent-json": 0.0, "percent-url": 1.0 if kind == "url" else 0.0,
                "percent-email": 1.0 if kind == "email" else 0.0,
                "percent-state": 1.0 if kind == "state" else 0.0,
                "average-length": round(rng.uniform(2, 180), 4)}}}
        return {"global": g}

    # -- collections --
    def _make_collections(self):
        rng = self._rng("collections")
        n = self.scale.collections
        if n == 0:
            return

        def add(name, location, **kw):
            cid = len(self.collections) + 1
            self.collections[cid] = c = Collection(
                cid, name, slugify(name), kw.pop("description", rng.choice([None, None, rng.choice(SENTENCES)])),
                location, self._nano(rng), kw.pop("created_at", self._ts_around(rng, cid / (n + 20) * 0.9)), **kw)
            return c

        # a personal collection for every real user, including deactivated ones
        for u in self.people():
            c = add("%s's Personal Collection" % u.common_name, "/", personal_owner_id=u.id,
                    description=None, created_at=u.date_joined + 1_000_000)
            u.personal_collection_id = c.id
        people = self.people()
        public, restricted = [], []
        restricted_root = None
        for i in range(n):
            if i == 0 and n >= 3:
                restricted_root = add("Finance (restricted)", "/", restricted=True,
                                      description="Board and payroll numbers. Admins and Finance only.")
                restricted.append(restricted_root)
                continue
            if restricted_root and rng.random() < 0.1:
                parent = rng.choice(restricted)
            elif rng.random() < 0.06 and people:
                parent = self.collections[rng.choice(people).personal_collection_id]
            elif public and rng.random() < 0.6:
                parent = rng.choice(public)
            else:
                parent = None
            if parent is not None and parent.location.count("/") > 4:
                parent = None  # keep trees a handful of levels deep
            name = rng.choice(AREAS) if parent is None else "%s %s" % (rng.choice(AREAS), rng.choice(SUBAREAS))
            location = "/" if parent is None else "%s%d/" % (parent.location, parent.id)
            c = add(name, location, restricted=bool(parent and parent.restricted),
                    authority_level="official" if parent is None and rng.random() < 0.1 else None)
            if c.restricted:
                restricted.append(c)
            elif self._personal_root(c) is None:
                public.append(c)
        # archive a few subtrees, content included
        for c in list(self.collections.values()):
            if c.personal_owner_id is None and not c.archived and c.id != getattr(restricted_root, "id", 0) \
                    and rng.random() < 0.07:
                c.archived, c.archived_directly = True, True
                prefix = "%s%d/" % (c.location, c.id)
                for d in self.collections.values():
                    if d.location.startswith(prefix) and not d.archived:
                        d.archived, d.archived_directly = True, False
        if public and not any(c.archived for c in self.collections.values()):
            public[-1].archived, public[-1].archived_directly = True, True  # a leaf: the newest one
        # snippet folders (namespace "snippets"), one of them restricted
        if self.scale.snippets:
            for i in range(max(1, self.scale.snippets // 12)):
                add("%s Snippets" % rng.choice(AREAS) if i else "Finance Snippets", "/",
                    namespace="snippets", restricted=(i == 0 and self.scale.snippets >= 3))
        # the v0.50+ Trash; only rendered by profiles that have it
        self.trash_id = len(self.collections) + 1
        self.collections[self.trash_id] = Collection(
            self.trash_id, "Trash", "trash", None, "/", self._nano(rng), T1 * 1_000_000 - 1, type="trash")

    def _personal_root(self, c: Collection) -> int | None:
        """The owner of the personal collection that `c` is in (or is), else None."""
        if c.personal_owner_id:
            return c.personal_owner_id
        parts = [p for p in c.location.split("/") if p]
        return self.collections[int(parts[0])].personal_owner_id if parts else None

    def content_collections(self):
        """Collections that may hold cards and dashboards (not Trash, not snippet folders)."""
        return [c for c in self.collections.values() if c.namespace is None and c.type is None]

    def _place(self, rng, owner_id: int, force: float | None = None) -> tuple[int | None, bool]:
        """Choose a collection for a new card/dashboard: root, public, restricted or personal.
        `force` replaces the random draw, so that even tiny instances have one of each kind."""
        if self._pools is None:  # computed once: scanning every collection per card is quadratic
            colls = self.content_collections()
            personal: dict = {}
            for c in colls:
                personal.setdefault(self._personal_root(c), []).append(c)
            self._pools = (colls, [c for c in colls if c.restricted], personal,
                           [c for c in personal.get(None, []) if not c.restricted])
        colls, restricted, personal, public = self._pools
        r = rng.random() if force is None else force
        if not colls or r < 0.15:
            return None, False
        pool = restricted if r < 0.25 else personal.get(owner_id, []) if r < 0.35 else public
        c = rng.choice(pool or public or colls)
        return c.id, c.archived

    # -- snippets --
    def _make_snippets(self):
        rng = self._rng("snippets")
        folders = [c for c in self.collections.values() if c.namespace == "snippets"]
        people = self.people()
        for i in range(self.scale.snippets):
            sid = i + 1
            col = rng.choice(["created_at", "status", "country", "amount", "plan"])
            content = rng.choice([
                "WHERE %s IS NOT NULL AND is_test = false" % col,
                "AND %s >= current_date - interval '30 days'" % col,
                "CASE WHEN amount > 1000 THEN 'large' WHEN amount > 100 THEN 'medium' ELSE 'small' END",
                "LEFT JOIN analytics.customers c ON c.id = o.customer_id",
                "date_trunc('month', %s)" % col,
                "-- standard exclusions\nAND email NOT LIKE '%%@example.com'\nAND country <> 'XX'"])
            created = self._ts_around(rng, sid / max(1, self.scale.snippets) * 0.95)
            self.snippets[sid] = Snippet(
                sid, "%s_%s_%d" % (rng.choice(["filter", "join", "bucket", "exclude"]), col, sid),
                rng.choice([None, rng.choice(SENTENCES)]), content,
                rng.choice(folders).id if folders and rng.random() < 0.6 else None,
                rng.choice(people).id, created, created + rng.randint(0, 10**13), self._nano(rng),
                archived=rng.random() < 0.1 or sid == 2)

    # -- cards --
    def _make_cards(self):
        rng = self._rng("cards")
        n = self.scale.cards
        people = self.people()
        inactive = [u for u in people if not u.is_active]
        dbs = list(self.databases.values())
        maker = queries.QueryMaker(self)
        if n and not dbs:
            raise ValueError("cards need at least one database (Scale(databases=0) with cards > 0)")
        for i in range(n):
            cid = i + 1
            frac = i / max(1, n)
            creator = rng.choice(inactive) if inactive and frac < 0.35 and rng.random() < 0.5 \
                else rng.choice(people)
            # the first cards are one of each: restricted, root, the analyst's own, archived, by a former employee
            creator = {2: self.users[2], 3: self.users[3]}.get(i, creator)
            collection_id, in_archived = self._place(rng, creator.id, {0: 0.2, 1: 0.0, 2: 0.3}.get(i))
            # a fixed share on the (small) sample database, whatever the number of databases,
            # so that the average card size does not depend on the scale
            db = dbs[0] if len(dbs) == 1 or rng.random() < 0.42 else rng.choice(dbs[1:])
            table = rng.choice(db.tables) if db.tables else None
            kind = rng.choices(["question", "model", "metric"], [80, 12, 8])[0]
            native = kind != "metric" and rng.random() < 0.35
            source_card = None
            if kind == "question" and not native and cid > 10 and rng.random() < 0.1:
                base = self.cards.get(rng.randint(1, cid - 1))
                if base and base.type == "model" and base.query_type == "query":
                    source_card, table, db = base.id, self.tables.get(base.table_id), self.databases[base.database_id]
            query = maker.query(rng, cid, kind, native, db, table, source_card)
            created = self._ts_around(rng, frac * 0.97)
            updated = created + rng.randint(0, 10**13)
            archived_directly = not in_archived and (rng.random() < 0.05 or i == 3)
            display = "table" if kind == "model" else rng.choice(["line", "scalar", "smartscalar"]) \
                if kind == "metric" else rng.choice(DISPLAYS)
            self.cards[cid] = Card(
                cid, "%s %s%s" % (rng.choice(METRICS), rng.choice(DIMS), rng.choice(QUALS)),
                rng.choice([None, None, rng.choice(SENTENCES)]), collection_id, kind,
                "native" if native else "query", query, db.id, table.id if table else None, display,
                creator.id, created, updated, rng.choice(people).id if rng.random() < 0.9 else None,
                self._nano(rng), archived=in_archived or archived_directly,
                archived_directly=archived_directly,
                collection_position=rng.choice([None] * 12 + [1, 2, 3]),
                source_card_id=query.get("source_card"), view_count=rng.randint(0, 5000),
                average_query_time=rng.choice([None, round(rng.uniform(5, 30000), 4)]),
                last_query_start=rng.choice([None, updated + rng.randint(1, 10**12)]),
                visualization_settings=self._viz(rng, display, query),
                parameters=query.pop("parameters", []),
                cache_ttl=rng.choice([None] * 9 + [3600]))
            maker.added(self.cards[cid])

    def _viz(self, rng, display, query):
        if display in ("line", "bar", "area", "combo", "row"):
            return {"graph.dimensions": ["CREATED_AT"], "graph.metrics": ["count"],
                    "graph.show_values": rng.random() < 0.5, "graph.x_axis.title_text": "Month",
                    "series_settings": {"count": {"color": rng.choice(["#509EE3", "#88BF4D", "#A989C5"])}}}
        if display == "pie":
            return {"pie.dimension": "CATEGORY", "pie.metric": "count", "pie.show_legend": True}
        if display in ("scalar", "smartscalar", "progress"):
            return {"scalar.field": "count", "scalar.compact_primary_number": True, "progress.goal": 1000}
        if display == "table":
            cols = query.get("columns", [])
            return {"table.pivot": False, "table.columns": [
                {"name": self.fields[f].name, "fieldRef": ["field", f, None], "enabled": rng.random() < 0.9}
                for f in cols],
                "column_settings": {'["name","%s"]' % self.fields[f].name:
                                    {"column_title": self.fields[f].display_name} for f in cols[:2]}}
        return {}

    # -- dashboards --
    def _make_dashboards(self):
        rng = self._rng("dashboards")
        people = self.people()
        live_cards = [c for c in self.cards.values() if not c.archived]
        self._next_dashcard = self._next_tab = 0
        titles = ["Overview", "KPIs", "Weekly Review", "Health", "Deep Dive", "Scorecard", "Pulse", "Funnel"]
        for i in range(self.scale.dashboards):
            did = i + 1
            # the first dashboards are one of each: restricted, root (with tabs, text and series), the analyst's, archived
            owner = self.users[2] if i == 2 else rng.choice(people)
            collection_id, in_archived = self._place(rng, owner.id, {0: 0.2, 1: 0.0, 2: 0.3}.get(i))
            created = self._ts_around(rng, i / max(1, self.scale.dashboards) * 0.97)
            archived_directly = not in_archived and (rng.random() < 0.05 or i == 3)
            params = []
            for p in range(rng.choice([0, 0, 1, 2, 3])):
                ptype = rng.choice(["date/all-options", "category", "string/=", "number/between"])
                params.append({"name": ["Date", "Category", "Region", "Amount"][p],
                               "slug": ["date", "category", "region", "amount"][p],
                               "id": "%08x" % rng.getrandbits(32), "type": ptype,
                               "sectionId": ptype.split("/")[0] if "/" in ptype else "string"})
            d = Dashboard(did, "%s %s" % (rng.choice(AREAS), rng.choice(titles)),
                          rng.choice([None, rng.choice(SENTENCES)]), collection_id, owner.id, created,
                          created + rng.randint(0, 10**13), rng.choice(people).id if rng.random() < 0.9 else None,
                          self._nano(rng), archived=in_archived or archived_directly,
                          archived_directly=archived_directly, collection_position=rng.choice([None] * 9 + [1]),
                          parameters=params, view_count=rng.randint(0, 20000),
                          width=rng.choice(["fixed", "full"]), auto_apply_filters=rng.random() < 0.9)
            if rng.random() < 0.3 or i == 1:
                for t in range(rng.randint(2, 3)):
                    self._next_tab += 1
                    d.tabs.append((self._next_tab, ["Overview", "Details", "Trends"][t], self._nano(rng)))
            self._add_dashcards(rng, d, live_cards, first=i == 1)
            self.dashboards[did] = d
        # "dashboard questions" (v0.53+): a card that lives in its dashboard, moved to its collection
        live_dash = [d for d in self.dashboards.values() if not d.archived and d.dashcards]
        for n, card in enumerate(live_cards):
            if live_dash and (rng.random() < 0.05 or n == len(live_cards) // 2):
                d = rng.choice(live_dash)
                card.dashboard_id, card.collection_id = d.id, d.collection_id
                if card.id not in [dc.card_id for dc in d.dashcards]:
                    self._next_dashcard += 1
                    d.dashcards.append(DashCard(self._next_dashcard, card.id, 0 if d.tabs else None,
                                                sum(dc.size_y for dc in d.dashcards), 0, 12, 6, self._nano(rng),
                                                d.created_at + 1, d.updated_at))
                    card.dashboard_count += 1

    def _add_dashcards(self, rng, d: Dashboard, live_cards: list, first: bool):
        """About `dashcards_per_dashboard` cards: mostly questions, some text/heading/link cards."""
        per = self.scale.dashcards_per_dashboard
        row = 0
        for k in range(rng.randint(per - per // 2, per + per // 2) if per else 0):
            self._next_dashcard += 1
            w, h = rng.choice([(6, 4), (12, 6), (24, 2), (8, 5), (4, 3)])
            dc = DashCard(self._next_dashcard, None, (k % len(d.tabs)) if d.tabs else None, row,
                          0 if w == 24 else rng.choice([0, 6, 12]), w, h, self._nano(rng),
                          d.created_at + rng.randint(0, 10**9), d.created_at + rng.randint(10**9, 10**12))
            row += h
            if not live_cards or rng.random() < 0.15 or (first and k == 0):
                kind = rng.choice(["text", "heading", "link"])
                virtual = {"name": None, "display": kind, "visualization_settings": {}, "dataset_query": {},
                           "archived": False}
                dc.virtual = {"virtual_card": virtual, "link": {"url": "https://example.com"}} if kind == "link" else \
                    {"virtual_card": virtual, "text": rng.choice(["## %s" % d.name, "Numbers are in **USD**.",
                                                                  "See the [runbook](https://wiki.example.com/kpi)."])}
            else:
                card = rng.choice(live_cards)
                dc.card_id = card.id
                card.dashboard_count += 1
                if rng.random() < 0.1 or (first and k == 1):
                    dc.series = [rng.choice(live_cards).id for _ in range(rng.randint(1, 2))]
                fields = self.tables[card.table_id].fields if card.query_type == "query" and card.table_id else []
                for p in d.parameters:
                    if fields:
                        dc.mappings.append((p["id"], rng.choice(fields).id))
            d.dashcards.append(dc)

    # -- memberships, hidden tables, segments, timelines, subscriptions --
    def _make_relationships(self):
        self._make_memberships()
        self._hide_some_tables()
        self._make_timelines()
        self._make_pulses()
        from .alerts import make_alerts  # here: alerts.py imports this module
        make_alerts(self)

    def _make_memberships(self):
        """One row per (user, group), API-key users included, as permissions_group_membership."""
        mid = 0
        for u in self.users.values():
            for gid in u.group_ids:
                mid += 1
                self.memberships.append((mid, u.id, gid))

    def _hide_some_tables(self):
        """The last table of each warehouse is hidden from the data model (visibility "hidden")."""
        for db in self.databases.values():
            if not db.is_sample and len(db.tables) > 1:
                db.tables[-1].visibility_type = "hidden"

    def _make_segments(self):
        rng = self._rng("segments")
        tables = [t for t in self.tables.values() if t.fields]
        restricted = [t for t in tables if self.databases[t.db_id].restricted]
        people = self.people()
        for i in range(self.scale.segments if tables else 0):
            sid = i + 1
            # the first one on a table the analyst cannot see, the third archived
            table = rng.choice(restricted) if i == 0 and restricted else rng.choice(tables)
            f = rng.choice(table.fields)
            value = {"type/Boolean": True, "type/Text": rng.choice(["Widget", "Gizmo", "Paid", "EU"])}.get(
                f.base_type, "2024-01-01" if "Date" in f.base_type else rng.randint(1, 500))
            created = self._ts_around(rng, sid / max(1, self.scale.segments) * 0.95)
            self.segments[sid] = Segment(
                sid, "%s %s" % (rng.choice(["Active", "Large", "Recent", "Paying", "Test", "EU"]),
                                display_name(table.name)),
                rng.choice([None, rng.choice(SENTENCES)]), table.id, (f.id, value), rng.choice(people).id,
                created, created + rng.randint(0, 10**13), self._nano(rng), archived=i == 2 or rng.random() < 0.08,
                caveats=rng.choice([None, None, "Excludes refunds."]))

    def _make_timelines(self):
        rng = self._rng("timelines")
        places = [c.id for c in self.content_collections() if not c.archived]
        restricted = [c for c in places if self.collections[c].restricted]
        people = self.people()
        eid = 0
        for i in range(self.scale.timelines):
            tid = i + 1
            # the first timeline in the root collection, the second restricted, the third archived
            coll = None if i == 0 or not places else rng.choice(restricted) if i == 1 and restricted \
                else rng.choice(places + [None])
            created = self._ts_around(rng, tid / max(1, self.scale.timelines) * 0.9)
            name = "%s events" % (self.collections[coll].name if coll else "Our analytics") if i % 4 == 3 else \
                "%s %s" % (rng.choice(AREAS), rng.choice(["Launches", "Incidents", "Campaigns", "Releases"]))
            t = Timeline(tid, name, rng.choice([None, rng.choice(SENTENCES)]),
                         rng.choice(["star", "cake", "mail", "warning", "bell", "cloud"]), coll, i % 4 == 3,
                         rng.choice(people).id, created, created + rng.randint(0, 10**12), self._nano(rng),
                         archived=i == 2)
            for k in range(rng.randint(1, 5) if i else 3):
                eid += 1
                at = self._ts_around(rng, rng.random())
                t.events.append(TimelineEvent(
                    eid, tid, rng.choice(["v2 launch", "Outage", "Black Friday", "Price change", "Re-org",
                                          "Campaign start", "Data backfill"]),
                    rng.choice([None, "See the post-mortem."]), at, rng.random() < 0.5,
                    rng.choice(["UTC", "Europe/Berlin", "America/New_York"]), rng.choice(["star", "warning", "bell"]),
                    rng.choice(people).id, at + 10**6, at + rng.randint(10**6, 10**11),
                    archived=t.archived or (i == 0 and k == 2)))  # an archived event in a live timeline
            self.timelines[tid] = t

    def _make_pulses(self):
        rng = self._rng("pulses")
        people = self.people()
        analyst = self.users[2]
        active = [u for u in people if u.is_active]
        live = [d for d in self.dashboards.values() if not d.archived and any(dc.card_id for dc in d.dashcards)]
        archived = [d for d in self.dashboards.values() if d.archived and any(dc.card_id for dc in d.dashcards)]
        readable_by_analyst = [d for d in live if self.can_read(self.viewer(analyst), d.collection_id)]
        cards = [c for c in self.cards.values() if not c.archived]
        ids = iter(range(1, 10**9))
        cids = iter(range(1, 10**9))

        def channels(pulse_id, created):
            out = []
            for kind in (["email"] + (["slack"] if rng.random() < 0.4 else [])):
                stype = rng.choice(["hourly", "daily", "daily", "weekly", "monthly"])
                ch = PulseChannel(next(cids), kind, stype, None if stype == "hourly" else rng.randint(0, 23),
                                  rng.choice(["mon", "tue", "fri"]) if stype in ("weekly", "monthly") else None,
                                  rng.choice(["first", "mid", "last"]) if stype == "monthly" else None,
                                  self._nano(rng), created, created + rng.randint(0, 10**11))
                if kind == "email":
                    users = {u.id for u in rng.sample(people, min(len(people), rng.randint(1, 3)))}
                    if rng.random() < 0.5:
                        users.add(analyst.id)
                    ch.user_ids = sorted(users)
                    ch.emails = rng.choice([[], ["board@example.com"], ["ops@example.com", "cfo@example.org"]])
                else:
                    ch.details = {"channel": rng.choice(["#metrics", "#exec", "#data-alerts"])}
                out.append(ch)
            return out

        def pulse(name, creator, dashboard=None, collection_id=None, alert=None, card_ids=(), is_archived=False):
            pid = next(ids)
            created = self._ts_around(rng, rng.uniform(0.3, 0.97))
            p = Pulse(pid, name, creator.id, created, created + rng.randint(0, 10**12), self._nano(rng),
                      dashboard.collection_id if dashboard else collection_id, dashboard.id if dashboard else None,
                      alert, skip_if_empty=rng.random() < 0.3, archived=is_archived)
            if dashboard:
                p.cards = [(dc.card_id, dc.id) for dc in dashboard.dashcards if dc.card_id]
                p.parameters = [dict(pp, value=None) for pp in dashboard.parameters[:1]]
            else:
                p.cards = [(cid, None) for cid in card_ids]
            p.channels = channels(pid, created)
            self.pulses[pid] = p
            return p

        for i in range(self.scale.subscriptions if live else 0):
            # the analyst's own subscription first; one on an archived dashboard; one archived
            if i == 0 and readable_by_analyst:
                d, creator = rng.choice(readable_by_analyst), analyst
            elif i == 1 and archived:
                d, creator = rng.choice(archived), rng.choice(active)
            else:
                d, creator = rng.choice(live), rng.choice(active)
            pulse(d.name, creator, dashboard=d, is_archived=i == 2)
        if cards:
            colls = [c.id for c in self.content_collections() if not c.archived]
            for i in range(max(1, self.scale.subscriptions // 3)):  # legacy pulses: cards, no dashboard
                pulse("Weekly %s" % rng.choice(METRICS), rng.choice(active), collection_id=rng.choice(colls + [None]),
                      card_ids=[c.id for c in rng.sample(cards, min(len(cards), rng.randint(1, 3)))])
            for i in range(2):  # alerts: never listed by GET /api/pulse
                card = rng.choice(cards)
                pulse(None, rng.choice(active), collection_id=card.collection_id, alert=rng.choice(["rows", "goal"]),
                      card_ids=[card.id])

    # -- permissions --
    def viewer(self, user: User) -> Viewer:
        v = self._viewers.get(user.id)
        if v is None:
            su = user.is_superuser
            finance = FINANCE in user.group_ids
            readable, writable = set(), set()
            for c in self.collections.values():
                owner = self._personal_root(c)
                if su:
                    ok = True
                elif owner is not None:
                    ok = owner == user.id
                else:
                    ok = not c.restricted or finance
                if ok:
                    readable.add(c.id)
                    if su or owner == user.id or ANALYSTS in user.group_ids or (finance and c.restricted):
                        writable.add(c.id)
            dbs = frozenset(d.id for d in self.databases.values() if su or finance or not d.restricted)
            v = self._viewers[user.id] = Viewer(user, su, frozenset(readable), frozenset(writable), dbs)
        return v

    @staticmethod
    def can_read(viewer: Viewer, collection_id) -> bool:
        return collection_id is None or collection_id in viewer.readable

    @staticmethod
    def can_write(viewer: Viewer, collection_id) -> bool:
        if collection_id is None:
            return viewer.superuser or ANALYSTS in viewer.user.group_ids
        return collection_id in viewer.writable

    # -- what lists contain (shared by the routes and expected_ids) --
    def visible_cards(self, viewer: Viewer, f: str = "all"):
        """Cards of GET /api/card?f=..., unsorted."""
        out = []
        for c in self.cards.values():
            if not self.can_read(viewer, c.collection_id):
                continue
            if f == "archived":
                ok = c.archived
            elif f == "mine":
                ok = not c.archived and c.creator_id == viewer.user.id
            else:
                ok = not c.archived
            if ok:
                out.append(c)
        return out

    def visible_dashboards(self, viewer: Viewer, f: str = "all"):
        out = []
        for d in self.dashboards.values():
            if not self.can_read(viewer, d.collection_id):
                continue
            if (f == "archived") == d.archived and (f != "mine" or d.creator_id == viewer.user.id):
                out.append(d)
        return out

    def visible_collections(self, viewer: Viewer, archived=False, namespace=None, exclude_other_personal=False):
        out = []
        for c in self.collections.values():
            if c.type == "trash" or c.namespace != namespace or c.archived != archived:
                continue
            if c.id not in viewer.readable:
                continue
            if exclude_other_personal and self._personal_root(c) not in (None, viewer.user.id):
                continue
            out.append(c)
        return out

    def visible_snippets(self, viewer: Viewer, archived=False):
        return [s for s in self.snippets.values()
                if s.archived == archived and self.can_read(viewer, s.collection_id)]

    def visible_databases(self, viewer: Viewer):
        return [d for d in self.databases.values() if d.id in viewer.database_ids]

    def listed_users(self, viewer: Viewer, status: str = "active"):
        ok = {"active": (True,), "deactivated": (False,), "all": (True, False)}[status]
        return [u for u in self.people() if u.is_active in ok]

    def visible_segments(self, viewer: Viewer):
        """GET /api/segment: live segments on tables the viewer can read."""
        return [s for s in self.segments.values()
                if not s.archived and self.tables[s.table_id].db_id in viewer.database_ids]

    def visible_timelines(self, viewer: Viewer, archived=False):
        return [t for t in self.timelines.values()
                if t.archived == archived and self.can_read(viewer, t.collection_id)]

    def listed_pulses(self, viewer: Viewer, since_046: bool, dashboard_id=None, archived=False):
        """GET /api/pulse: never alerts. Metabase 0.46+ drops subscriptions of archived dashboards and
        shows non-admins only the pulses they created; before, whatever collections they can read.
        0.40 (since_046 False and dashboard_id None here) lists only legacy pulses."""
        out = []
        for p in self.pulses.values():
            if p.alert_condition or p.archived != archived or not self.can_read(viewer, p.collection_id):
                continue
            if p.dashboard_id and p.dashboard_id not in self.dashboards:
                continue  # deleted with its dashboard (pulse.dashboard_id cascades)
            if dashboard_id is not None and p.dashboard_id != dashboard_id:
                continue
            if since_046:
                if p.dashboard_id and self.dashboards[p.dashboard_id].archived:
                    continue
                if not viewer.superuser and p.creator_id != viewer.user.id:
                    continue
            out.append(p)
        return out
