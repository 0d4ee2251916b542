"""The data model: all the rows of one emulated instance, by kind and id (`Model`).

Everything here is version independent; render*.py decide how a row looks on the wire.
The rows and constants are defined in rows.py, generation from (seed, Scale) in generate*.py
(in generate.py's order), who sees what in visibility.py. The names that used to be defined
here are re-exported, so `from .model import Model, Scale, CREDENTIALS, ...` keeps working.
"""

from __future__ import annotations

from . import visibility
from .generate import populate
from .rows import (  # noqa: F401 (re-exported)
    ADMINISTRATORS, ALL_USERS, ANALYSTS, CREDENTIALS, FINANCE, GROUP_NAMES, MARKETING, T0, T1, Card, Collection,
    DashCard, Dashboard, Database, Field, Pulse, PulseChannel, Scale, Segment, Snippet, Table, Timeline,
    TimelineEvent, User, display_name, iso, slugify)
from .visibility import Viewer
from .words import (  # noqa: F401 (re-exported)
    AREAS, DIMS, DISPLAYS, ENGINES, FIELD_KINDS, FIRST, LAST, METRICS, QUALS, SAMPLE_TABLES, SENTENCES, SUBAREAS,
    WAREHOUSE_COLUMNS, WAREHOUSE_TABLES)


class Model:
    """All the content of one emulated instance (not yet rendered for a version), generated on
    construction; changes.py changes it afterwards.

    `profile` (a profiles.Profile, or None) only says which newer kinds the instance holds:
    documents, transforms, measures and Library collections exist only where that version has
    them (they add tables and link cards, which older versions would otherwise show). None:
    none of them."""

    def __init__(self, seed: int = 1, scale: Scale | None = None, profile=None):
        self.seed = seed
        self.scale = scale or Scale()
        self.profile = profile
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
        self.alert_extras: dict = {}  # pulse id -> what only alerts have (alerts.py)
        self.notifications: dict = {}  # notification id -> the alerts (and system events) as 0.54+ stores them
        self.documents: dict = {}  # documents.py
        self.measures: dict = {}  # measures.py
        self.transforms: dict = {}  # transforms.py
        self.permissions = None  # the sandbox and revisions behind the permission tables (permissions.py)
        self.query_log = None  # what the query log's rows refer to (querylog.py)
        self._viewers: dict[int, Viewer] = {}  # user id -> Viewer (visibility.viewer_of)
        populate(self)
        self.by_email = {u.email.lower(): u for u in self.users.values()}

    # -- lookups every module shares --
    def has(self, kind: str) -> bool:
        """Whether this instance's version has a newer kind ("documents", "measures", ...)."""
        return self.profile is not None and getattr(self.profile, kind)

    def people(self):
        """Real (non API key) users, in id order."""
        return [u for u in self.users.values() if u.kind == "personal"]

    def group_members(self, gid: int) -> list:
        return [u for u in self.people() if gid in u.group_ids]

    def _personal_root(self, c: Collection) -> int | None:
        """The owner of the personal collection that `c` is in (or is), else None."""
        if c.personal_owner_id:
            return c.personal_owner_id
        parts = [p for p in c.location.split("/") if p]
        return self.collections[int(parts[0])].personal_owner_id if parts else None

    def content_collections(self):
        """Collections that may hold cards and dashboards (not Trash, not snippet folders)."""
        return [c for c in self.collections.values() if c.namespace is None and c.type is None]

    # -- who sees what: visibility.py's functions as methods, for the tests --
    def viewer(self, user: User) -> Viewer:
        return visibility.viewer_of(self, user)

    can_read = staticmethod(visibility.can_read)
    can_write = staticmethod(visibility.can_write)

    def visible_cards(self, viewer: Viewer, f: str = "all"):
        return visibility.visible_cards(self, viewer, f)

    def visible_dashboards(self, viewer: Viewer, f: str = "all"):
        return visibility.visible_dashboards(self, viewer, f)

    def visible_collections(self, viewer: Viewer, archived=False, namespace=None, exclude_other_personal=False):
        return visibility.visible_collections(self, viewer, archived, namespace, exclude_other_personal)

    def visible_snippets(self, viewer: Viewer, archived=False):
        return visibility.visible_snippets(self, viewer, archived)

    def visible_databases(self, viewer: Viewer):
        return visibility.visible_databases(self, viewer)

    def listed_users(self, viewer: Viewer, status: str = "active"):
        return visibility.listed_users(self, viewer, status)

    def visible_segments(self, viewer: Viewer):
        return visibility.visible_segments(self, viewer)

    def visible_timelines(self, viewer: Viewer, archived=False):
        return visibility.visible_timelines(self, viewer, archived)

    def listed_pulses(self, viewer: Viewer, since_046: bool, dashboard_id=None, archived=False):
        return visibility.listed_pulses(self, viewer, since_046, dashboard_id, archived)
