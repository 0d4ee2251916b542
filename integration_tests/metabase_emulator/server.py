"""The HTTPS server, the request log and the `Emulator` object tests drive.

A ThreadingHTTPServer speaking HTTP/1.1 with keep-alive and Content-Length, behind TLS
from a throw-away CA made by trustme (the CA's PEM goes to a temp dir; no key is ever
written into the repo). Large bodies are written in 1 MiB pieces straight from the card
arena.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import ssl
import tempfile
import threading
import time
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson

from . import edition, expected, permissions, querylog
from .auth import Auth
from .changes import Changes
from .faults import FaultInjector, FaultPlan
from .model import Model
from .profiles import get_profile
from .routes import SSO_PAGE, Api
from .rows import CREDENTIALS, Scale
from .visibility import viewer_of
from .web import HTML, JSON, Body, Request, Response, json_response, text_response

CHUNK = 1 << 20
DEFAULT_SETTINGS = {
    "faults": None,
    "latency_ms": 0,
    "session_max_requests": None,
    "session_max_seconds": None,
    "html_mode": False,
    "password_login_disabled": False,
    "login_throttle_threshold": 10,
    "vanishing_dashboard_ids": frozenset(),
    "vanishing_collection_ids": frozenset(),
    "invalid_json_paths": frozenset(),
    "missing_paths": frozenset(),  # as an endpoint removed in this version: 404
    # how timestamps go on the wire (changing one re-renders everything)
    "timestamp_offsets": True,  # some rows' timestamps with +00:00 / -05:00 instead of Z
    "null_updated_at_ids": {},  # {stream: [ids]}: these rows send "updated_at": null
    "garbage_updated_at_ids": {},  # {stream: [ids]}: these rows send an unparsable updated_at
    "status_paths": {},  # path -> a status every request of it gets (e.g. 507, 522 or 409), as a proxy sends
    "redirect_paths": {},  # path -> a URL every request of it is sent to (307, which keeps method and body)
    "body_paths": {},  # path -> the bytes every request of it is answered with (200, as JSON)
    "transforms_enabled": True,  # 0.59+: transforms switched on (off: /api/transform answers 403, transforms.py)
    # who is asked, and the Enterprise query log (edition.py, querylog.py)
    "edition": "oss",  # "oss" | "ee" (licensed, Pro self-hosted) | "ee-unlicensed"
    "query_log_rows_per_month": 40,
    "query_log_months": 3,  # months in the log, ending with the month of query_log_now
    "query_log_now": None,  # None: the clock when the model was built; or epoch seconds / ISO time
}
# validators of the settings that are neither flags nor the ones configure() knows by name
CHECKED_SETTINGS = {"edition": edition.check_edition, "query_log_now": querylog.check_now,
                    "query_log_rows_per_month": querylog.check_count("query_log_rows_per_month", 0),
                    "query_log_months": querylog.check_count("query_log_months", 1)}
STAMP_SETTINGS = ("timestamp_offsets", "null_updated_at_ids", "garbage_updated_at_ids")
UPDATED_AT_STREAMS = ("cards", "dashboards", "dashboard_cards", "users", "databases", "tables",
                      "native_query_snippets")
# What Metabase (Jetty + its security middleware) sends on every answer.
COMMON_HEADERS = (b"X-Frame-Options: DENY\r\nX-Content-Type-Options: nosniff\r\n"
                  b"Strict-Transport-Security: max-age=31536000\r\n"
                  b"Cache-Control: max-age=0, no-cache, must-revalidate, proxy-revalidate\r\n"
                  b"Expires: Tue, 03 Jul 2001 06:00:00 GMT\r\nX-Permitted-Cross-Domain-Policies: none\r\n")
INVALID_JSON = b'{"data":[{"id":1,"name":"Revenue by Month","result_metadata":[{"name":"ID",'


# Statuses of CDNs and proxies (Cloudflare's 52x, 529) that http.HTTPStatus does not name.
EXTRA_PHRASES = {520: "Web Server Returned an Unknown Error", 521: "Web Server Is Down", 522: "Connection Timed Out",
                 523: "Origin Is Unreachable", 524: "A Timeout Occurred", 529: "Site Is Overloaded"}


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return EXTRA_PHRASES.get(status, "Unknown")


def fault_response(fault: str, plan: FaultPlan) -> Response:
    if fault == "429":
        r = text_response("Too Many Requests", 429)
        r.headers = [("Retry-After", str(plan.retry_after))]
        return r
    if fault == "500":
        return json_response({"message": "Emulated internal error", "via": [{"type": "java.lang.RuntimeException"}],
                              "trace": [], "type": "java.lang.RuntimeException"}, 500)
    return proxy_page(int(fault))  # 502/503 come from a proxy in front of Metabase


def proxy_page(status: int) -> Response:
    page = "<html><head><title>%s %s</title></head><body><center><h1>%s %s</h1></center><hr><center>nginx</center>" \
           "</body></html>\n" % (status, phrase(status), status, phrase(status))
    return Response(status, page.encode(), HTML)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Jetty(11.0.20)"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connection.do_handshake()  # in this connection's thread, not in the accept loop
        self.server.track(self.connection, True)

    def finish(self):
        self.server.track(self.connection, False)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, *args):
        pass  # the request log replaces the access log

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = lambda self: self._serve()

    def _serve(self):
        t0 = time.perf_counter()
        emu = self.server.emulator
        path, _, query = self.path.partition("?")
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        if path.startswith("/__emulator__/"):
            self._send(emu._control(self.command, path, query, body))
            return
        settings = emu._settings
        injector = emu._faults
        is_api = path == "/api" or path.startswith("/api/")
        if is_api and settings["latency_ms"]:
            time.sleep(settings["latency_ms"] / 1000.0)
        fault = None
        if settings["html_mode"]:
            resp = Response(200, SSO_PAGE, HTML)
            auth = emu.auth.identify(self.headers, consume=False)[0]
        else:
            fault = injector.decide(self.command, path, query)
            if fault in ("429", "500", "502", "503", "drop"):
                resp = fault_response(fault, injector.plan) if fault != "drop" else None
                auth = emu.auth.identify(self.headers, consume=False)[0]
            else:
                if fault == "slow":
                    time.sleep(injector.plan.slow_seconds)
                try:
                    method = "GET" if self.command == "HEAD" else self.command  # HEAD = GET minus the body
                    resp = emu.api.handle(Request(method, path, query, self.headers, body))
                    auth = resp.auth
                except Exception as e:  # an emulator bug: answer like Metabase's 500, keep serving
                    resp, auth = json_response({"message": repr(e), "via": [], "trace": []}, 500), "none"
                if path in settings["invalid_json_paths"]:
                    resp = Response(200, INVALID_JSON, JSON, auth=auth)
                elif path in settings["missing_paths"]:
                    resp = text_response("API endpoint does not exist.", 404)
                elif path in settings["status_paths"]:
                    resp = proxy_page(settings["status_paths"][path])
                elif path in settings["body_paths"]:
                    resp = Response(200, settings["body_paths"][path], JSON, auth=auth)
                elif path in settings["redirect_paths"]:
                    resp = Response(307, b"", HTML, headers=[("Location", settings["redirect_paths"][path])])
            if resp is not None:
                resp.auth = auth
        entry = {"t": time.time(), "method": self.command, "path": path, "query": query, "auth": auth,
                 "status": resp.status if resp else None, "bytes": 0, "fault": fault, "ms": 0.0}

        def log(planned_bytes):
            # logged before the answer goes out, so a client holding its answer finds it in
            # the log; bytes and ms are updated once the write is done
            entry.update(bytes=planned_bytes, ms=round((time.perf_counter() - t0) * 1000, 3))
            emu._log_request(entry)

        if resp is None:  # drop: close without a word
            log(0)
            self._abort()
        else:
            entry["bytes"] = self._send(resp, truncate=fault == "truncate", log=log)
        entry["ms"] = round((time.perf_counter() - t0) * 1000, 3)

    def _abort(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, resp: Response, truncate: bool = False, log=None) -> int:
        """Write the answer; returns the body bytes sent. A truncated answer stops halfway.
        `log(planned_bytes)` is called just before the first byte is written."""
        length = resp.length
        head = ["HTTP/1.1 %d %s" % (resp.status, phrase(resp.status)),
                "Date: " + formatdate(usegmt=True), "Server: " + self.server_version]
        if resp.status != 204:
            head += ["Content-Type: " + resp.content_type, "Content-Length: %d" % length]
        head += ["%s: %s" % kv for kv in resp.headers]
        if self.close_connection:
            head.append("Connection: close")
        head_bytes = ("\r\n".join(head) + "\r\n").encode("latin-1") + COMMON_HEADERS + b"\r\n"
        budget = length // 2 if truncate else length
        if self.command == "HEAD" or resp.status == 204:
            budget = 0
        if log is not None:
            log(budget)
        sent = 0
        try:
            pieces = resp.body.pieces if isinstance(resp.body, Body) else [resp.body]
            chunks = _chunks(pieces, budget)
            first = next(chunks, b"")
            if len(first) < 65536:
                self.wfile.write(head_bytes + first)  # one write: no Nagle/delayed-ACK stall
            else:
                self.wfile.write(head_bytes)
                self.wfile.write(first)
            sent = len(first)
            for chunk in chunks:
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:  # the client went away mid-answer
            self.close_connection = True
            return sent
        if truncate:
            self._abort()
        return sent


def _chunks(pieces, budget: int):
    """Coalesce small pieces and split big ones into ~1 MiB writes, stopping at `budget`."""
    buf, size = [], 0
    for p in pieces:
        if budget <= 0:
            break
        if len(p) > budget:
            p = p[:budget]
        budget -= len(p)
        if len(p) >= CHUNK:
            if buf:
                yield b"".join(buf)
                buf, size = [], 0
            for i in range(0, len(p), CHUNK):
                yield p[i:i + CHUNK]
            continue
        buf.append(p)
        size += len(p)
        if size >= CHUNK:
            yield b"".join(buf)
            buf, size = [], 0
    if buf:
        yield b"".join(buf)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, emulator, context: ssl.SSLContext):
        self.emulator = emulator
        self.connections = set()
        self.accepted = 0  # TLS connections opened so far (keep-alive reuse shows here)
        self.conn_lock = threading.Lock()
        super().__init__(addr, Handler, bind_and_activate=False)
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.server_bind()
        self.server_activate()

    def track(self, conn, add: bool):
        with self.conn_lock:
            if add:
                self.connections.add(conn)
                self.accepted += 1
            else:
                self.connections.discard(conn)

    def close_all(self):
        with self.conn_lock:
            conns = list(self.connections)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        pass  # failed handshakes and reset connections are the client's business


class Emulator:
    """A Metabase instance on https://127.0.0.1:PORT. See the package docstring."""

    def __init__(self, profile: str = "v0.50", seed: int = 1, scale: Scale | None = None, port: int = 0, **settings):
        self.profile = get_profile(profile)
        self.seed = seed
        self.scale = scale or Scale()
        self.port = port
        self.model = Model(seed, self.scale, self.profile)
        self._settings = dict(DEFAULT_SETTINGS)
        self._faults = FaultInjector(None)
        self.auth = Auth(self.model, self.profile, lambda: self._settings)
        self._log: list = []
        self._log_lock = threading.Lock()
        self._server = None
        self._thread = None
        self._tmpdir = None
        self.ca_bundle = None
        self.configure(**settings)  # before the routes render anything, with these settings
        self.api = Api(self.model, self.profile, self.auth, lambda: self._settings)
        self.changes = Changes(self.model, self.profile, self.api)

    # -- life cycle --
    def start(self) -> "Emulator":
        import trustme

        if self._server is not None:
            return self
        ca = trustme.CA(organization_name="Metabase emulator test CA")
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        self._tmpdir = tempfile.mkdtemp(prefix="metabase-emulator-")
        atexit.register(shutil.rmtree, self._tmpdir, True)  # also when stop() is never called
        self.ca_bundle = os.path.join(self._tmpdir, "ca.pem")
        ca.cert_pem.write_to_path(self.ca_bundle)
        self._server = _Server(("127.0.0.1", self.port), self, ctx)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="metabase-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.close_all()
        self._thread.join(5)
        self._server = None
        shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self) -> str:
        return "https://127.0.0.1:%d" % self.port

    @property
    def credentials(self) -> dict:
        return dict(CREDENTIALS)

    # -- behaviour --
    def configure(self, **settings):
        unknown = set(settings) - set(DEFAULT_SETTINGS)
        if unknown:
            raise ValueError("unknown setting(s): %s (known: %s)" % (", ".join(sorted(unknown)), ", ".join(DEFAULT_SETTINGS)))
        new = dict(self._settings)
        for k, v in settings.items():
            if k == "faults":
                plan = v if isinstance(v, FaultPlan) or v is None else FaultPlan.from_dict(dict(v))
                self._faults = FaultInjector(plan)
                v = plan
            elif k in ("vanishing_dashboard_ids", "vanishing_collection_ids"):
                v = frozenset(int(x) for x in (v or ()))
            elif k in ("invalid_json_paths", "missing_paths"):
                v = frozenset(v or ())
            elif k in ("session_max_requests", "session_max_seconds"):
                v = None if v is None else (int(v) if k == "session_max_requests" else float(v))
            elif k == "status_paths":
                v = {str(path): int(status) for path, status in dict(v or {}).items()}
            elif k == "body_paths":
                v = {str(path): bytes(body) for path, body in dict(v or {}).items()}
            elif k == "redirect_paths":
                v = {str(path): str(url) for path, url in dict(v or {}).items()}
            elif k == "latency_ms":
                v = float(v or 0)
            elif k == "login_throttle_threshold":
                v = int(v)
                self.auth.reset_throttle() if hasattr(self, "auth") else None
            elif k in CHECKED_SETTINGS:
                v = CHECKED_SETTINGS[k](v)
            elif k in ("null_updated_at_ids", "garbage_updated_at_ids"):
                v = dict(v or {})
                wrong = set(v) - set(UPDATED_AT_STREAMS)
                if wrong:
                    raise ValueError("%s: unknown stream(s) %s (known: %s)" % (
                        k, ", ".join(sorted(wrong)), ", ".join(UPDATED_AT_STREAMS)))
                v = {stream: frozenset(int(i) for i in ids) for stream, ids in v.items() if ids}
            else:
                v = bool(v)
            new[k] = v
        restamp = any(new[k] != self._settings[k] for k in STAMP_SETTINGS)
        switched = new["transforms_enabled"] != self._settings["transforms_enabled"]
        self._settings = new  # swapped whole, so request threads see one consistent snapshot
        if switched and hasattr(self, "api"):
            self.api.cache.clear()  # GET /api/table's `transform` key comes and goes with it
        if restamp and hasattr(self, "api"):
            self.api.stamp_settings()
            self.api.rerender()
        return self.settings

    @property
    def settings(self) -> dict:
        out = {}
        for k, v in self._settings.items():
            out[k] = v.to_dict() if isinstance(v, FaultPlan) else sorted(v) if isinstance(v, frozenset) else \
                {stream: sorted(ids) for stream, ids in v.items()} if k in STAMP_SETTINGS[1:] else v
        out["body_paths"] = {path: "%d bytes" % len(body) for path, body in out["body_paths"].items()}  # JSON-able
        return out

    def mint_session(self, email: str) -> str:
        return self.auth.mint(email)

    def expire_sessions(self):
        """Ends every session minted so far (the 14 days have passed); later logins work."""
        self.auth.expire_all()

    @property
    def expiries(self) -> int:
        return self.auth.stats["expiries"]

    @property
    def logins(self) -> int:
        return self.auth.stats["logins"]

    def stats(self) -> dict:
        reqs = self.requests()
        faults = {}
        for e in reqs:
            if e["fault"]:
                faults[e["fault"]] = faults.get(e["fault"], 0) + 1
        return dict(self.auth.stats, sessions=len(self.auth.sessions), requests=len(reqs), faults=faults,
                    connections=self._server.accepted if self._server else 0,
                    profile=self.profile.name, seed=self.seed, scale=self.scale.as_dict())

    # -- expectations --
    def _viewer_user(self, viewer: str):
        c = CREDENTIALS
        aliases = {"admin": c["admin_email"], "analyst": c["analyst_email"]}
        if viewer in ("admin_key", "analyst_key"):
            return self.auth.api_keys[c[viewer.replace("key", "api_key")]]
        user = self.model.by_email.get(aliases.get(viewer, viewer).lower())
        if user is None:
            raise ValueError("unknown viewer %r (admin, analyst, admin_key, analyst_key or an email)" % viewer)
        return user

    def expected_ids(self, stream: str, viewer: str = "admin", include_archived: bool = False) -> list:
        """Ids a complete sync of `stream` must emit when run as `viewer` (primary key values:
        `membership_id` for permission_group_memberships). With `include_archived`, archived
        cards, collections (with the Trash from 0.50 on), dashboards and snippets too (expected.py)."""
        v = viewer_of(self.model, self._viewer_user(viewer))
        return expected.expected_ids(self.model, self.profile, v, stream, include_archived,
                                     self._settings["vanishing_dashboard_ids"], self._settings["transforms_enabled"])

    # -- truth of the permission graphs and the query log, from the model (permissions.py, querylog.py) --
    def expected_collection_permissions(self, viewer: str = "admin", namespace=None) -> list:
        """[(group_id, collection_id or "root", "read"|"write")] that GET /api/collection/graph grants on
        this profile, sorted; no "none" rows; [] for a non-superuser (403)."""
        if not viewer_of(self.model, self._viewer_user(viewer)).superuser:
            return []
        return permissions.expected_collection_permissions(self.model, self.profile, namespace)

    def expected_data_permissions(self, viewer: str = "admin", edition: str | None = None) -> set:
        """{(group_id, database_id, permission, schema_name or None, table_id or None, value)}: the rows of
        GET /api/permissions/graph flattened as the issue defines it, for this profile and `edition`
        (default: the edition setting); an empty set for a non-superuser (403)."""
        if not viewer_of(self.model, self._viewer_user(viewer)).superuser:
            return set()
        return permissions.expected_data_permissions(self.model, self.profile, edition or self._settings["edition"])

    def query_log_months(self) -> list:
        """The months ("YYYY-MM", oldest first) whose query log has rows."""
        return querylog.log_months(self.model, self._settings)

    def expected_query_log(self, month: str, viewer: str = "admin", edition: str | None = None) -> list:
        """The row dicts GET /api/ee/logs/query_execution/<month> answers `viewer`, newest first; [] when
        it answers none (404 on OSS, 402 unlicensed, 403 for a non-superuser, a month outside the log)."""
        v = viewer_of(self.model, self._viewer_user(viewer))
        return querylog.expected_query_log(self.model, self.profile, self._settings, month, v, edition)

    def expected_query_log_ids(self, month: str, viewer: str = "admin", edition: str | None = None) -> list:
        return [row["id"] for row in self.expected_query_log(month, viewer, edition)]

    # -- changes between syncs (changes.py; the same through POST /__emulator__/changes) --
    def edit(self, stream: str, ids, at=None) -> list:
        """Edit rows as a user does (rename, description, resize, locale); stamps updated_at."""
        return self.changes.edit(stream, ids, at)

    def archive(self, stream: str, ids, at=None) -> list:
        """Archive cards, dashboards, snippets or segments (stamps updated_at); returns the ids that changed."""
        return self.changes.archive(stream, ids, at)

    def unarchive(self, stream: str, ids, at=None) -> list:
        return self.changes.unarchive(stream, ids, at)

    def add(self, stream: str, count: int = 1, at=None, **where) -> list:
        """New rows (created_at = updated_at = the change clock); returns their ids. `where`:
        collection_id (cards, dashboards), dashboard_id/card_id (dashboard_cards), database_id (tables)."""
        return self.changes.add(stream, count, at, **where)

    def delete(self, stream: str, ids) -> list:
        """Hard delete ("delete permanently"): rows gone, with their cascade; no timestamp moves."""
        return self.changes.delete(stream, ids)

    def view(self, stream: str, ids, at=None) -> list:
        """Users open cards/dashboards: view counts; on v0.52 also updated_at (metabase#53687)."""
        return self.changes.view(stream, ids, at)

    def land_views(self):
        """The counts of the views read so far show (Metabase updates them in background batches;
        here each change lands them too)."""
        self.changes.land_views()

    def deactivate(self, ids, at=None) -> list:
        return self.changes.deactivate(ids, at)

    def reactivate(self, ids, at=None) -> list:
        return self.changes.reactivate(ids, at)

    def updated_at(self, stream: str, row_id: int):
        """The row's updated_at exactly as the API sends it (a string, or None)."""
        return self.changes.rendered_updated_at(stream, row_id)

    # -- request log --
    def _log_request(self, entry: dict):
        with self._log_lock:
            self._log.append(entry)

    def requests(self) -> list:
        with self._log_lock:
            return [dict(e) for e in self._log]

    def clear_requests(self):
        """Empties the request log, and the views tally with it (so both say what one sync did)."""
        with self._log_lock:
            self._log.clear()
        with self.changes.lock:
            self.changes.views.clear()

    def views(self) -> dict:
        """The views Metabase counted since the log was last cleared, as Metabase counts them (a
        dashboard's detail is a view of it and, 0.50+, of each card on it): {stream: {id: n}}."""
        with self.changes.lock:
            out: dict = {}
            for (stream, row_id), n in sorted(self.changes.views.items()):
                out.setdefault(stream, {})[row_id] = n
            return out

    def count(self, method=None, path=None, auth=None, status=None) -> int:
        with self._log_lock:
            return sum(1 for e in self._log
                       if (method is None or e["method"] == method) and (path is None or e["path"] == path)
                       and (auth is None or e["auth"] == auth) and (status is None or e["status"] == status))

    # -- /__emulator__/ control routes --
    def _control(self, method: str, path: str, query: str, body: bytes) -> Response:
        from urllib.parse import parse_qs

        params = {k: v[-1] for k, v in parse_qs(query).items()}
        try:
            data = orjson.loads(body) if body else {}
            if method == "GET" and path == "/__emulator__/requests":
                return json_response(self.requests())
            if method == "POST" and path == "/__emulator__/requests/clear":
                self.clear_requests()
                return json_response({"ok": True})
            if method == "GET" and path == "/__emulator__/views":
                return json_response({s: {str(i): n for i, n in ids.items()} for s, ids in self.views().items()})
            if method == "GET" and path == "/__emulator__/settings":
                return json_response(self.settings)
            if method == "POST" and path == "/__emulator__/settings":
                return json_response(self.configure(**data))
            if method == "POST" and path == "/__emulator__/session":
                return json_response({"id": self.mint_session(data.get("email", ""))})
            if method == "GET" and path == "/__emulator__/expected":
                return json_response(self.expected_ids(params.get("stream", ""), params.get("viewer", "admin")))
            if method == "GET" and path == "/__emulator__/stats":
                return json_response(self.stats())
            if method == "POST" and path == "/__emulator__/changes":
                if not isinstance(data, dict) or "action" not in data:
                    raise ValueError('expected {"action": ..., "stream": ..., "ids": [...], "count": n}')
                return json_response({"ids": self.changes.apply(**data)})
        except (ValueError, TypeError) as e:
            return json_response({"error": str(e)}, 400)
        return Response(404, b'{"error":"unknown control route"}', JSON)

