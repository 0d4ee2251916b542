"""Users, sessions, API keys, login throttling and session expiry, as Metabase does them.

Lookup order follows Metabase's session middleware: the `metabase.SESSION` cookie, then the
`X-Metabase-Session` header, then (v0.49+) `X-API-Key`. A session id must look like a UUID.
Expiry is counted in requests or seconds (instead of 14 days) so tests can provoke it.
"""

from __future__ import annotations

import re
import threading
import time
import uuid

import orjson

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
THROTTLE_WINDOW = 3600.0  # Metabase's attempt-ttl: one hour
BLANK = "value must be a non-blank string."


def session_cookies(session_id: str) -> list:
    return [("Set-Cookie", "metabase.SESSION=%s;HttpOnly;Path=/;SameSite=Lax;Secure" % session_id),
            ("Set-Cookie", "metabase.TIMEOUT=alive;Path=/;SameSite=Lax;Secure")]


CLEAR_COOKIES = [("Set-Cookie", "metabase.SESSION=;Max-Age=0;Expires=Thu, 01 Jan 1970 00:00:00 GMT;Path=/"),
                 ("Set-Cookie", "metabase.TIMEOUT=;Max-Age=0;Expires=Thu, 01 Jan 1970 00:00:00 GMT;Path=/")]


def parse_cookie(header: str | None, name: str) -> str | None:
    for part in (header or "").split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v.strip().strip('"')
    return None


class Session:
    __slots__ = ("user_id", "created", "served")

    def __init__(self, user_id: int):
        self.user_id = user_id
        self.created = time.monotonic()
        self.served = 0


class Auth:
    def __init__(self, model, profile, settings):
        self.model = model
        self.profile = profile
        self.settings = settings  # callable returning the current settings dict
        self.lock = threading.Lock()
        self.sessions: dict[str, Session] = {}
        self.failures: dict[str, list] = {}
        self.api_keys = {u.password: u for u in model.users.values() if u.kind == "api-key"}
        self.stats = {"logins": 0, "login_failures": 0, "throttled": 0, "expiries": 0, "logouts": 0,
                      "minted": 0}

    # -- login / logout --
    def login(self, body: bytes):
        """POST /api/session -> (status, JSON-able or text payload, extra headers)."""
        try:
            data = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError:
            data = {}
        data = data if isinstance(data, dict) else {}
        username, password = data.get("username"), data.get("password")
        errors = {k: BLANK for k, v in (("username", username), ("password", password))
                  if not isinstance(v, str) or not v.strip()}
        if errors:
            return 400, {"errors": errors, "specific-errors": {
                k: ["should be a string, received: %s" % orjson.dumps(data.get(k)).decode(), "non-blank string"]
                for k in errors}}, []
        settings = self.settings()
        key = username.strip().lower()
        with self.lock:
            now = time.monotonic()
            recent = [t for t in self.failures.get(key, []) if now - t < THROTTLE_WINDOW]
            self.failures[key] = recent
            if len(recent) >= settings["login_throttle_threshold"]:
                recent.append(now)
                self.stats["throttled"] += 1
                over = len(recent) - settings["login_throttle_threshold"]
                wait = int(15 * over ** 1.5)
                return self.profile.throttle_status, {"errors": {"username": (
                    "Too many attempts! You must wait %d seconds before trying again." % wait)}}, []
            if settings["password_login_disabled"]:
                return 401, "Password login is disabled for this instance.", []
            user = self.model.by_email.get(key)
            if user is None or user.kind != "personal" or user.password != password:
                recent.append(now)
                self.stats["login_failures"] += 1
                return 401, {"errors": {"password": "did not match stored password"}}, []
            if not user.is_active:
                recent.append(now)
                self.stats["login_failures"] += 1
                return 401, {"errors": {"_error": "Your account is disabled."}}, []
            sid = str(uuid.uuid4())
            self.sessions[sid] = Session(user.id)
            self.stats["logins"] += 1
        return 200, {"id": sid}, session_cookies(sid)

    def logout(self, session_id: str | None) -> bool:
        with self.lock:
            if session_id and self.sessions.pop(session_id, None):
                self.stats["logouts"] += 1
                return True
        return False

    def mint(self, email: str) -> str:
        """A session for `email` as if it had logged in (not counted as a login)."""
        user = self.model.by_email.get(email.strip().lower())
        if user is None or user.kind != "personal":
            raise ValueError("no such user: %r" % email)
        sid = str(uuid.uuid4())
        with self.lock:
            self.sessions[sid] = Session(user.id)
            self.stats["minted"] += 1
        return sid

    def expire_all(self):
        """Every current session ends, as when MAX_SESSION_AGE has passed (or an admin revoked them)."""
        with self.lock:
            self.sessions.clear()

    def reset_throttle(self):
        with self.lock:
            self.failures.clear()

    # -- per request --
    def identify(self, headers, consume: bool = True):
        """-> (auth kind, user or None, session id or None).

        kind is one of session_cookie, session_header, api_key, invalid (credentials sent but
        none accepted) or none. `consume` counts the request against the session's budget;
        requests answered by an injected fault do not consume.
        """
        presented = False
        for kind, sid in (("session_cookie", parse_cookie(headers.get("Cookie"), "metabase.SESSION")),
                          ("session_header", headers.get("X-Metabase-Session"))):
            if sid is None:
                continue
            presented = True
            user = self._check_session(sid.strip(), consume)
            if user is not None:
                return kind, user, sid.strip()
        key = headers.get("X-API-Key")
        if key is not None:
            presented = True
            user = self.api_keys.get(key.strip()) if self.profile.api_keys else None
            if user is not None:
                return "api_key", user, None
        return ("invalid" if presented else "none"), None, None

    def _check_session(self, sid: str, consume: bool):
        if not UUID_RE.match(sid):
            return None
        settings = self.settings()
        with self.lock:
            s = self.sessions.get(sid)
            if s is None:
                return None
            user = self.model.users[s.user_id]
            max_req, max_sec = settings["session_max_requests"], settings["session_max_seconds"]
            if (max_req is not None and s.served >= max_req) or \
                    (max_sec is not None and time.monotonic() - s.created > max_sec):
                del self.sessions[sid]
                self.stats["expiries"] += 1
                return None
            if not user.is_active:
                return None
            if consume:
                s.served += 1
            return user
