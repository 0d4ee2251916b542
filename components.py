"""Runtime Python of the Metabase connector, each piece where the CDK cannot do it (its docstring
says why): which Metabase a sync talks to (`metabase`, `Instance`, `ENDPOINTS`) and the endpoints
chosen by its version (`EndpointPartitions`, `ListOrItems`), authentication, the error handler,
a streaming reader for Metabase's top-level JSON arrays, record shapes (`CardType`,
`AlertColumns`, `DashcardRows`, `GraphRows`), lineage (`Dependencies`), `dashboard_cards` taken
from the dashboards already read (`SliceRecords`), deletion records (`ListingPartitions`,
`DashcardListing`, `ListingRetriever`) and the query log's months (`LogMonths`). Everything else
lives in manifest.yaml."""

import base64
import json
import logging
import os
import re
import socket
import ssl
import sys
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import InitVar, dataclass
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any, Iterable, Iterator, Mapping, MutableMapping, Optional, Sequence, Union
from urllib.parse import urljoin, urlsplit

import certifi
import ijson
import orjson
import requests

from airbyte_cdk.config_observation import emit_configuration_as_airbyte_control_message
from airbyte_cdk.models import AirbyteMessage, AirbyteRecordMessage, FailureType, Type
from airbyte_cdk.sources.declarative.auth.declarative_authenticator import DeclarativeAuthenticator
from airbyte_cdk.sources.declarative.decoders.decoder import Decoder
from airbyte_cdk.sources.declarative.extractors.record_extractor import RecordExtractor
from airbyte_cdk.sources.declarative.interpolation import InterpolatedString
from airbyte_cdk.sources.declarative.partition_routers.grouping_partition_router import GroupingPartitionRouter
from airbyte_cdk.sources.declarative.partition_routers.partition_router import PartitionRouter
from airbyte_cdk.sources.declarative.requesters.error_handlers import DefaultErrorHandler
from airbyte_cdk.sources.declarative.retrievers import Retriever
from airbyte_cdk.sources.declarative.transformations import RecordTransformation
from airbyte_cdk.sources.types import Config, StreamSlice, StreamState
from airbyte_cdk.sources.streams.http.error_handlers.response_models import (
    SUCCESS_RESOLUTION,
    ErrorResolution,
    ResponseAction,
)
from airbyte_cdk.utils.airbyte_secrets_utils import add_to_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

logger = logging.getLogger("airbyte")

SESSION_HEADER = "X-Metabase-Session"
API_KEY_HEADER = "X-API-Key"
NO_CREDENTIALS = (
    "No Metabase credentials are configured. Set one of: an API key (api_key, Metabase 0.49+, "
    "Admin settings > Authentication > API keys), a session token (session_token), or a "
    "username and password."
)
EXPIRED_TOKEN = (
    "The Metabase session token is invalid or expired (sessions last 14 days unless "
    "MAX_SESSION_AGE says otherwise). Create a new one with POST /api/session, or configure "
    "an API key, or a username and password so the connector can log in by itself."
)
SESSIONS_REFUSED = (
    "Metabase rejected each of the last {n} sessions it created (401 Unauthenticated) before any "
    "request could use it: something between the connector and Metabase may drop the "
    "X-Metabase-Session header (a proxy), or this user's sessions end at once. Use an API key, or "
    "a session token made by hand (POST /api/session)."
)
REDIRECTED = (
    "{url} redirected to {target}: the connector sends Metabase credentials to the address of "
    "instance_api_url only, so it does not follow. If Metabase now answers there, set "
    "instance_api_url to it."
)
SESSION_ID = re.compile(r"[\x21-\x7e]{1,256}")  # a UUID in practice; anything else could not be a header
REFUSED_LOGINS = 3
MAX_RENEWALS = 30


@dataclass(frozen=True)
class Endpoint:
    """What an endpoint serves and who may read it: for the warning when it is skipped (the
    manifest skips a 404 "API endpoint does not exist.", a 402 and a 403 on these) and for the
    notice, at the start of a sync, of what this Metabase and credential cannot serve."""

    streams: str  # the streams it feeds
    versions: str  # which Metabase versions have it, as a user reads it
    since: Optional[int] = None  # the first 0.<minor> that has it (open source)
    enterprise_since: Optional[int] = None  # the first minor of an Enterprise build that has it
    admin: bool = False  # superusers only (others get 403)
    admin_since: Optional[int] = None  # superusers only from this minor on
    features: tuple = ()  # the Enterprise token features that open it (any one)


ENDPOINTS = {
    "timeline": Endpoint("timelines and timeline_events", "Metabase 0.43 and later", since=43),
    "segment": Endpoint("segments", "Metabase 0.40 and later"),
    "pulse": Endpoint("dashboard_subscriptions", "Metabase 0.40 to 0.64 at least (deprecated since 0.52)"),
    "alert": Endpoint("alerts", "Metabase 0.40 to 0.64 at least (read from 0.54 through /api/notification)"),
    "notification": Endpoint("alerts", "Metabase 0.54 and later", since=54),
    "permissions/membership": Endpoint("permission_group_memberships", "Metabase 0.40 and later", admin=True),
    "permissions/group": Endpoint("permission_groups", "Metabase 0.40 and later", admin=True),
    "user": Endpoint("users", "every Metabase", admin_since=47),
    "dashboard": Endpoint("the dashboards' list (read from the collections' items instead)",
                          "every Metabase but 0.48.0"),
    "document": Endpoint("documents", "Metabase 0.58 and later (Enterprise 0.57: /api/ee/document)", since=58),
    "ee/document": Endpoint("documents", "Metabase Enterprise 0.57", enterprise_since=57),
    "transform": Endpoint("transforms", "Metabase 0.59 and later (Enterprise 0.58: /api/ee/transform)", since=59,
                          admin=True),
    "ee/transform": Endpoint("transforms", "Metabase Enterprise 0.58", enterprise_since=58, admin=True),
    "measure": Endpoint("measures", "Metabase 0.60 and later", since=60),
    "collection/graph": Endpoint("collection_permissions", "every Metabase", admin=True),
    "permissions/graph": Endpoint("data_permissions", "every Metabase", admin=True),
    "ee/logs/query_execution": Endpoint("query_executions", "Metabase Pro and Enterprise 0.46 and later, with "
                                        "the audit app (Usage analytics)", enterprise_since=46, admin=True,
                                        features=("audit_app", "advanced_config")),
}


def _endpoint_of(path: str) -> Optional[str]:
    """The ENDPOINTS key a request path (after /api/) belongs to: the longest that leads it."""
    keys = [key for key in ENDPOINTS if path == key or path.startswith(key + "/")]
    return max(keys, key=len) if keys else None


@dataclass(frozen=True)
class Instance:
    """The Metabase a sync talks to, from its `GET /api/session/properties` (metabase-api.md 11.9):
    `version.tag` is v0.<minor>.<patch> on open source builds and v1.<minor>.<patch> on Enterprise
    ones; `token-features` says which paid features are on; the settings the caller may read say
    whether it is an admin (superusers also get the settings of :admin visibility, such as
    `check-for-updates`, on every version: api/session.clj merges them in for superusers only)."""

    tag: str = ""
    minor: Optional[int] = None
    enterprise: bool = False
    features: Mapping[str, Any] = None
    admin: Optional[bool] = None

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any]) -> "Instance":
        tag = str((properties.get("version") or {}).get("tag") or "")
        match = re.match(r"v(\d+)\.(\d+)", tag)
        minor = int(match.group(2)) if match else None
        admin = "check-for-updates" in properties if minor is not None else None
        features = properties.get("token-features") if isinstance(properties.get("token-features"), dict) else {}
        return cls(tag, minor, bool(match and match.group(1) != "0"), features, admin)

    def has(self, endpoint: str) -> Optional[bool]:
        """Whether this version and edition serve the endpoint (None: not known)."""
        about = ENDPOINTS[endpoint]
        if self.minor is None:
            return None
        if about.enterprise_since is not None and self.enterprise and self.minor >= about.enterprise_since:
            return not about.features or any((self.features or {}).get(name) for name in about.features)
        return about.since is not None and self.minor >= about.since or \
            about.since is None and about.enterprise_since is None

    def cannot(self, endpoint: str) -> Optional[str]:
        """Why this Metabase or credential cannot serve the endpoint, if it is known that it cannot."""
        about = ENDPOINTS[endpoint]
        if self.has(endpoint) is False:
            if about.features and self.enterprise and self.minor >= (about.enterprise_since or 0):
                return f"this Enterprise build has no {' or '.join(about.features)} feature"
            return f"{about.versions} have it"
        needs_admin = about.admin or (about.admin_since is not None and (self.minor or 0) >= about.admin_since)
        if needs_admin and self.admin is False:
            return "admins only"
        return None


# Licensed features the version line names besides those an endpoint needs: what a user of the
# transforms stream wants to know (Metabase Cloud licences dozens of others).
NAMED_FEATURES = {"transforms", "transforms-python"}


def _describe(instance: Instance, api_url: str) -> list:
    """The notices of a sync's first lines: what Metabase this is, and which streams it or this
    credential cannot serve (each stream once, with its first reason)."""
    if instance.minor is None:
        return [("warning", VERSION_UNKNOWN.format(url=api_url))]
    licensed = [name for name, on in (instance.features or {}).items() if on]
    used = sorted(({name for about in ENDPOINTS.values() for name in about.features} | NAMED_FEATURES) & set(licensed))
    edition = ("Enterprise" + (f" with {', '.join(used)}" if used else ", licensed" if licensed else ", without a licence")
               if instance.enterprise else "open source")  # only the features a stream needs: Cloud has dozens
    who = {True: "an admin", False: "not an admin", None: "not known to be an admin"}[instance.admin]
    notices = [("info", VERSION_NOTICE.format(tag=instance.tag, edition=edition, url=api_url, who=who))]
    missing: dict = {}
    for endpoint, about in ENDPOINTS.items():
        why = instance.cannot(endpoint)
        if why and not any(instance.has(other) and instance.cannot(other) is None
                           for other, more in ENDPOINTS.items() if more.streams == about.streams):
            missing.setdefault(about.streams, why)
    if missing:
        notices.append(("warning", CANNOT_SERVE.format(streams="; ".join(f"{s} ({why})" for s, why in missing.items()))))
    return notices


def metabase(config: Mapping[str, Any], headers: Optional[Mapping[str, str]] = None,
             api_url: Optional[str] = None) -> Instance:
    """What Metabase this sync talks to, asked once per sync (one request), and said in its first
    log lines (check and read alike). `headers`: the credential's, so that the answer says whether
    it is an admin; without them, an authenticator of this config makes them."""
    with _SHARED_LOCK:
        sync = _this_sync(config)
        lock = sync.setdefault("instance lock", threading.Lock())
    with lock:
        if "instance" not in sync:
            api_url = api_url or config.get("api_base_url") or ""
            if headers is None:
                headers = SessionTokenAuthenticator(config=config, parameters={}, api_base_url=api_url).get_auth_header()
            try:
                answer = requests.get(api_url + "session/properties", headers=dict(headers), timeout=(30, 60),
                                      allow_redirects=False)
                properties = answer.json() if answer.ok else {}
            except (requests.RequestException, ValueError):
                properties = {}
            sync["instance"] = Instance.from_properties(properties if isinstance(properties, dict) else {})
            for level, notice in _describe(sync["instance"], _without_query(api_url)):
                getattr(logger, level)(notice)
        return sync["instance"]


VERSION_NOTICE = "Metabase {tag} ({edition}) at {url}; this credential is {who}."
VERSION_UNKNOWN = (
    "Metabase at {url} did not say its version (GET /api/session/properties): streams that some "
    "versions lack are asked for and skipped if they answer 404."
)
CANNOT_SERVE = ("This Metabase or credential cannot serve these streams, which will stay empty (those a version lacks "
                "are not asked for; the others are skipped when Metabase refuses them): {streams}.")
DASHBOARD_LIST_MISSING = (
    "GET /api/dashboard answered 404 (Metabase 0.48.0 has no list of dashboards; later versions call it "
    "deprecated): the dashboards are found in each collection's items instead, one request per collection."
)
HTML_ANSWER = (
    "{url} answered with an HTML page instead of Metabase's JSON API. Check instance_api_url: "
    "it must point at Metabase itself (e.g. https://metabase.example.com/api/), not at a "
    "single sign-on or proxy login page in front of it."
)


# Keys of the config the runtime adds (the manifest's config normalization, the CLI's injected
# manifest and code): not the user's, so not handed back to the platform in a config update.
DERIVED_CONFIG_KEYS = ("api_base_url",)


def config_error(message: str) -> AirbyteTracedException:
    return AirbyteTracedException(
        message=message, internal_message=message, failure_type=FailureType.config_error
    )


def _is_html(response: requests.Response) -> bool:
    return "html" in response.headers.get("Content-Type", "").lower()


class _SharedSession:
    """The session of one Metabase user, shared by every stream and thread of this process,
    so that a sync logs in once and each expiry costs exactly one new login."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.token: Optional[str] = None
        self.unconfirmed: Optional[str] = None  # a new session no answer has accepted yet: handed over then
        self.logins_unconfirmed = 0  # logins since Metabase last accepted a session
        self.refused: Optional[AirbyteTracedException] = None  # Metabase rejects sessions it has just made


_SESSIONS: dict[tuple[str, ...], _SharedSession] = {}
_SESSIONS_LOCK = threading.Lock()
_REACHABLE: set[tuple[str, int]] = set()


def _shared_session(*identity: str) -> _SharedSession:
    with _SESSIONS_LOCK:
        return _SESSIONS.setdefault(identity, _SharedSession())


def _in_manifest_server() -> bool:
    """This process is the CDK's manifest server (the Connector Builder's backend): its stdout is
    a server log, not the Airbyte protocol. The CDK gives a custom component no public way to
    reach the Builder's message repository (config updates shown in the Builder travel there),
    so a session minted in a Builder test read is not handed over at all: printed, it would
    only land in that log. Known by the server's module being loaded (a public module name)."""
    return "airbyte_cdk.manifest_server" in sys.modules


def _check_url(api_url: str) -> None:
    """A URL requests can send to, and only to Metabase: no query or fragment (the paths would
    be appended after them), no user:password@ (requests would send it to the host as Basic)."""
    _origin(api_url)  # parsable, with a port that is a port
    parts = urlsplit(api_url)
    if parts.query or parts.fragment or "?" in api_url or "#" in api_url:
        raise config_error("instance_api_url must be a plain address, without ?query or #fragment, e.g. "
                           "https://metabase.example.com/api/.")
    if "@" in parts.netloc:
        raise config_error("instance_api_url must not hold a user name or password (user:password@): put "
                           "the credentials in api_key, session_token or username and password.")
    try:
        requests.models.PreparedRequest().prepare_url(api_url, None)
    except (requests.exceptions.InvalidURL, ValueError, UnicodeError) as error:
        raise config_error(f"instance_api_url is not a valid URL ({error}). Check it.")


def _check_reachable(api_url: str) -> None:
    """One TLS handshake per process before the first request, so that a wrong host or port or
    an untrusted certificate fails at once with a plain answer instead of minutes of retries.
    Skipped behind a proxy."""
    _, host, port = _origin(api_url)
    if not host:
        raise config_error(f"instance_api_url ({_without_query(api_url)}) names no host. Check the URL.")
    if (host, port) in _REACHABLE or requests.utils.get_environ_proxies(api_url):
        return
    # The CA bundle requests itself would use.
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
    try:
        with socket.create_connection((host, port), timeout=15) as connection:
            ssl.create_default_context(cafile=ca_bundle).wrap_socket(connection, server_hostname=host).close()
    except socket.gaierror:
        raise config_error(f"The host {host} of instance_api_url cannot be found (DNS). Check the URL.")
    except ssl.SSLCertVerificationError as error:
        raise config_error(
            f"The TLS certificate of {host} is not trusted ({error.verify_message}). If Metabase uses "
            "a certificate from a private authority, give the connector that authority's "
            "certificate (REQUESTS_CA_BUNDLE)."
        )
    except socket.timeout:
        raise config_error(
            f"Nothing answered at {host}:{port} within 15 seconds. Check the host, the port and "
            "that Metabase accepts connections from this network."
        )
    except OSError as error:
        raise config_error(
            f"Cannot connect to {host}:{port} over https ({error.strerror or error}). Check the "
            "host and port of instance_api_url."
        )
    _REACHABLE.add((host, port))


@dataclass
class SessionTokenAuthenticator(DeclarativeAuthenticator):
    """Authenticates to Metabase with, in order of preference, an API key (X-API-Key), a
    session token, or a login with username and password (X-Metabase-Session).

    A login happens at most once per process for a given user, under a lock. A 401 on a data
    request while a password is configured costs one new login per expired session (however
    many threads hit it at the same time) and the request is sent again. Each new session, once
    Metabase has accepted it, is handed to the platform as a config update (session_token), so
    the next sync uses it instead of logging in: one login per session lifetime."""

    config: Mapping[str, Any]
    parameters: InitVar[Mapping[str, Any]]
    api_base_url: str = ""
    login_attempts: int = 4

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._api_url = InterpolatedString.create(self.api_base_url, parameters=parameters).eval(
            self.config
        )
        self._api_key = (self.config.get("api_key") or "").strip()
        self._session_token = (self.config.get("session_token") or "").strip()
        self._username = (self.config.get("username") or "").strip()
        self._password = self.config.get("password") or ""
        self._shared = _shared_session(self._api_url, self._username, self._session_token)
        self._warned_forbidden: set[str] = set()
        self._warned_missing: set[str] = set()
        self._described = False  # metabase() was asked (once a sync: the rest of the sync knows)

    # --- what the CDK calls -------------------------------------------------------------

    @property
    def auth_header(self) -> str:
        return API_KEY_HEADER if self._api_key else SESSION_HEADER

    @property
    def token(self) -> str:
        self._first_contact()  # the CDK asks for the header before it prepares the request
        if self._api_key:
            return self._api_key
        return self._current_session()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        self._first_contact()
        headers = self.get_auth_header()
        request.headers.update(headers)
        if not self._described and not request.url.endswith("/session/properties"):
            metabase(self.config, headers, self._api_url)  # the first lines say what Metabase this is
            self._described = True
        if self._after_response not in request.hooks["response"]:  # the CDK re-applies auth on retries
            request.register_hook("response", self._after_response)
        return request

    def _first_contact(self) -> None:
        """What is checked before anything is sent, a data request or a login alike (the CDK
        asks for the token, so logs in, before it hands the request to __call__)."""
        if not self._api_url.startswith("https://"):
            raise config_error(
                "instance_api_url must start with https:// (Metabase credentials must not travel "
                "unencrypted)."
            )
        if not (self._api_key or self._session_token or (self._username and self._password)):
            raise config_error(NO_CREDENTIALS)
        _check_url(self._api_url)
        _check_reachable(self._api_url)

    # --- sessions -------------------------------------------------------------------------

    def _can_login(self) -> bool:
        return bool(self._username and self._password)

    def _current_session(self) -> str:
        shared = self._shared
        with shared.lock:
            if shared.token is None:
                shared.token = self._session_token or self._new_session()
            return shared.token

    def _renew_session(self, rejected: Optional[str]) -> str:
        """Log in again unless another thread already replaced the rejected session."""
        shared = self._shared
        with shared.lock:
            if shared.refused:
                raise shared.refused
            if shared.token is None or shared.token == rejected:
                # Sessions may expire faster than 8 workers use them, so a rejected fresh session
                # proves nothing: the requests it served may still be on their way back. Three
                # logins without an accepted answer would need 9 such requests in flight: more
                # than the workers can send. Then Metabase refuses the sessions it makes.
                if shared.logins_unconfirmed >= REFUSED_LOGINS:
                    shared.refused = config_error(SESSIONS_REFUSED.format(n=shared.logins_unconfirmed))
                    raise shared.refused
                logger.info("Metabase rejected the session; logging in again.")
                shared.token = self._new_session()
            return shared.token

    def _new_session(self) -> str:
        """A login, whose session is handed over once Metabase has accepted it (under the lock)."""
        shared = self._shared
        shared.unconfirmed = self._login()
        shared.logins_unconfirmed += 1
        return shared.unconfirmed

    def _accepted(self, response: requests.Response) -> None:
        """Metabase answered a request sent with a session: a newly minted one goes to the
        platform now, once, however many threads see it accepted."""
        shared = self._shared
        shared.logins_unconfirmed = 0
        if shared.unconfirmed is not None and shared.unconfirmed == _sent_session(response):
            with shared.lock:
                if shared.unconfirmed == _sent_session(response):
                    shared.unconfirmed = None
                    self._hand_over(_sent_session(response))

    def _hand_over(self, token: str) -> str:
        """Give the platform the user's config with the new session as session_token (a CONTROL
        message, as for rotated OAuth tokens), so that the next sync does not log in again."""
        config = {key: value for key, value in self.config.items()
                  if not key.startswith("__") and key not in DERIVED_CONFIG_KEYS}
        config["session_token"] = token
        if not _in_manifest_server():  # straight to stdout, as the CDK does for OAuth (check too)
            emit_configuration_as_airbyte_control_message(config)
        return token

    def _after_response(self, response: requests.Response, **send_kwargs: Any) -> requests.Response:
        if response.is_redirect:
            self._refuse_redirect_elsewhere(response)
        if response.status_code == 403:
            self._warn_forbidden(response)
        elif response.status_code == 404:
            self._warn_missing(response)
        elif response.status_code == 402:
            self._warn_unlicensed(response)
        renewals = 0
        while response.status_code == 401 and self._can_login() and not self._api_key:
            if renewals == MAX_RENEWALS:  # other threads used up each new session before this one could
                response.close()
                raise AirbyteTracedException(
                    message=f"Metabase sessions kept expiring before a request to "
                    f"{_without_query(response.url)} could use one; run the sync again, with fewer "
                    "workers, or use an API key.",
                    failure_type=FailureType.transient_error,
                )
            renewals += 1
            response = self._send_again(response, self._renew_session(_sent_session(response)), send_kwargs)
        if response.status_code == 401:
            response.close()
            raise config_error(self._rejection_message())
        if response.status_code == 403:
            self._warn_forbidden(response)
        if not self._api_key and (response.ok or response.status_code == 403):
            self._accepted(response)
        return response

    def _refuse_redirect_elsewhere(self, response: requests.Response) -> None:
        """requests would follow a redirect to any host with our headers (it strips only
        Authorization), so the API key or session would go there: only the configured origin
        is followed."""
        target = urljoin(response.url, response.headers.get("Location", ""))
        if _origin(target) != _origin(self._api_url):
            response.close()
            raise config_error(REDIRECTED.format(url=_without_query(response.url), target=_without_query(target)))

    @staticmethod
    def _send_again(rejected: requests.Response, token: str, send_kwargs: Mapping[str, Any]) -> requests.Response:
        rejected.close()
        retry = rejected.request.copy()
        retry.headers[SESSION_HEADER] = token
        response = rejected.connection.send(retry, **send_kwargs)
        response.history.append(rejected)
        response.request = retry
        return response

    def _rejection_message(self) -> str:
        if self._api_key:
            return (
                "Metabase rejected the API key (401 Unauthenticated): it may have been deleted or "
                "regenerated, or this Metabase is older than 0.49 (no API keys). Create a new key "
                "in Admin settings > Authentication > API keys."
            )
        return EXPIRED_TOKEN

    def _warn_forbidden(self, response: requests.Response) -> None:
        """The manifest skips 403 answers, which the CDK logs at INFO only; the authenticator,
        which knows whose permissions fell short, says it as a warning, once per endpoint."""
        path = urlsplit(response.url).path
        if path not in self._warned_forbidden:
            self._warned_forbidden.add(path)
            who = "this API key's group" if self._api_key else "this Metabase user"
            logger.warning(
                f"Metabase refused GET {path} (403 Forbidden): {who} lacks the permission it needs."
            )

    def _warn_unlicensed(self, response: requests.Response) -> None:
        """An Enterprise build without the licence an /api/ee/ endpoint needs answers 402."""
        path = urlsplit(response.url).path
        known = _endpoint_of(path[len(urlsplit(self._api_url).path):].strip("/"))
        key = known or path
        if key not in self._warned_missing:
            self._warned_missing.add(key)
            streams = ENDPOINTS[known].streams if known else "this stream"
            logger.warning(f"Skipping GET {path}: this Metabase Enterprise build has no licence for it (402 Payment "
                           f"Required), so {streams} stay empty.")

    def _warn_missing(self, response: requests.Response) -> None:
        """404s the manifest skips, logged by the CDK at INFO only: an endpoint this version of
        Metabase does not have, and (before Metabase 0.50) the detail of an archived dashboard."""
        url = urlsplit(response.url)
        endpoint = url.path[len(urlsplit(self._api_url).path):].strip("/")
        known = _endpoint_of(endpoint)
        if "API endpoint does not exist" in response.text and known == "dashboard":
            message = DASHBOARD_LIST_MISSING
        elif "API endpoint does not exist" in response.text and known:
            about = ENDPOINTS[known]
            request = f"GET {url.path}" + (f"?{url.query}" if url.query else "")
            message = (f"Skipping {request}: this Metabase does not have it (404 API endpoint does not "
                       f"exist; {about.versions} have it), so {about.streams} stay empty.")
            endpoint = known
        elif '"archived"' in response.text and endpoint.startswith("dashboard/"):
            endpoint = "dashboard/:id"
            message = ("Skipping archived dashboards: Metabase before 0.50 does not serve them (GET "
                       "/api/dashboard/:id answers 404 The object has been archived), so neither they "
                       "nor their cards are synced.")
        else:
            return
        if endpoint not in self._warned_missing:
            self._warned_missing.add(endpoint)
            logger.warning(message)

    def _login(self) -> str:
        if not self._can_login():
            raise config_error(EXPIRED_TOKEN if self._session_token else NO_CREDENTIALS)
        self._first_contact()
        url = self._api_url + "session"
        body = {"username": self._username, "password": self._password}
        for attempt in range(1, self.login_attempts + 1):
            wait = 2 ** (attempt - 1)
            try:
                # Not followed: a 307 would send the password to wherever it points.
                response = requests.post(url, json=body, timeout=(30, 60), allow_redirects=False)
            except requests.RequestException as error:
                failure = str(error)
            else:
                if response.status_code != 429 and response.status_code < 500:
                    return self._session_from(response, url)
                failure, wait = f"HTTP {response.status_code}", _retry_after(response, wait)
            if attempt < self.login_attempts:
                time.sleep(wait)
        raise AirbyteTracedException(
            message=f"Logging in to Metabase at {url} kept failing ({failure}); try again later.",
            failure_type=FailureType.transient_error,
        )

    def _session_from(self, response: requests.Response, url: str) -> str:
        if response.is_redirect:
            target = urljoin(url, response.headers.get("Location", ""))
            raise config_error(REDIRECTED.format(url=url, target=_without_query(target)))
        if _is_html(response):
            raise config_error(HTML_ANSWER.format(url=url))
        if response.status_code == 404:  # worded as the manifest's wrong_url filter
            raise config_error(
                f"{url} does not exist (404). Check instance_api_url: it must be the address of "
                "Metabase's API, e.g. https://metabase.example.com/api/ (with /api once)."
            )
        text = response.text.strip()
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        session = body.get("id") if isinstance(body, dict) else None
        if response.ok and isinstance(session, str) and SESSION_ID.fullmatch(session):
            add_to_secrets(session)
            logger.info("Logged in to Metabase.")
            return session
        errors = body.get("errors", {}) if isinstance(body, dict) else {}
        detail = " ".join(str(v) for v in errors.values()) if isinstance(errors, dict) else ""
        if "Too many attempts" in detail:
            raise config_error(
                f"Metabase is refusing logins for {self._username} after too many failed attempts "
                f"({detail}). Wait, then check the password, or use an API key."
            )
        if "disabled" in detail.lower():
            raise config_error(
                f"The Metabase account {self._username} is deactivated. Use an active user or "
                "an API key."
            )
        if "password login is disabled" in text.lower():
            raise config_error(
                "Password login is disabled on this Metabase (single sign-on is on). Use an API "
                "key (Admin settings > Authentication > API keys) or a session token instead."
            )
        if response.status_code in (400, 401):
            raise config_error(
                f"Metabase rejected the username or password for {self._username}. Check them, "
                "or use an API key."
            )
        raise config_error(
            f"Logging in to Metabase at {url} failed with HTTP {response.status_code}; is this "
            "the URL of a Metabase instance?"
        )


def _origin(url: str) -> tuple:
    """(scheme, host, port) of a URL; a config_error when its port is not a port."""
    try:
        parts = urlsplit(url)
    except ValueError as error:  # e.g. an unclosed [IPv6 literal
        raise config_error(f"instance_api_url is not a valid URL ({error}). Check it.")
    try:
        port = parts.port
    except ValueError:
        raise config_error(f"The port after {parts.hostname} in instance_api_url is not a number from 1 "
                           "to 65535. Check the URL.")
    return parts.scheme.lower(), (parts.hostname or "").lower(), port or (443 if parts.scheme == "https" else 80)


def _sent_session(response: requests.Response) -> Optional[str]:
    return response.request.headers.get(SESSION_HEADER)


def _retry_after(response: requests.Response, default: float) -> float:
    try:
        return min(float(response.headers.get("Retry-After", default)), 60.0)
    except ValueError:
        return default


@dataclass
class MetabaseErrorHandler(DefaultErrorHandler):
    """The manifest's response filters first; then, for a status none of them maps, those in
    `retried_http_codes` are retried with back-off and end as a transient error, and any other
    fails at once; dropped connections and time-outs are retried and end as a transient error.
    Every message names the status (or what went wrong) and the endpoint.

    Python because the CDK cannot: its fallback retries any status the manifest does not map,
    for minutes, and ends it as a system error; a filter's message cannot name the status; and a
    filter that retries a status the CDK does not know (507, 52x, 529) ends as a system error."""

    retried_http_codes: Optional[list[int]] = None

    def interpret_response(
        self, response_or_exception: Optional[Union[requests.Response, Exception]]
    ) -> ErrorResolution:
        if isinstance(response_or_exception, (requests.ConnectionError, requests.Timeout)):
            url = _without_query(response_or_exception.request.url) if response_or_exception.request else "Metabase"
            return ErrorResolution(
                ResponseAction.RETRY, FailureType.transient_error,
                f"The connection to {url} kept dropping or timing out "
                f"({type(response_or_exception).__name__}); run the sync again later.",
            )
        if not isinstance(response_or_exception, requests.Response):
            return super().interpret_response(response_or_exception)
        response = response_or_exception
        for response_filter in self.response_filters or []:
            resolution = response_filter.matches(response)
            if resolution:
                if resolution.response_action == ResponseAction.IGNORE:  # the listing is not whole
                    _IGNORED.count = _ignored_responses() + 1
                return resolution
        if response.ok:
            return SUCCESS_RESOLUTION
        status, url = _status_text(response), _without_query(response.url)
        if response.status_code in (self.retried_http_codes or []):
            return ErrorResolution(
                ResponseAction.RETRY, FailureType.transient_error,
                f"Metabase (or a proxy in front of it) kept answering {status} to {url}; run the "
                "sync again later.",
            )
        return ErrorResolution(
            ResponseAction.FAIL, FailureType.system_error,
            f"Metabase (or a proxy in front of it) answered {status} to {url}, which the connector "
            "does not expect; it stops without retrying. Check instance_api_url and any proxy in "
            "front of Metabase.",
        )


def _status_text(response: requests.Response) -> str:
    """'507 Insufficient Storage': the reason the server sent, else the standard one."""
    reason = (response.reason or "").strip()
    if not reason:
        try:
            reason = HTTPStatus(response.status_code).phrase
        except ValueError:
            reason = ""
    return f"{response.status_code} {reason}".strip()


class _ChunkReader:
    """A file-like view of a response body for ijson, which reads it chunk by chunk."""

    def __init__(self, chunks: Iterator[bytes], first: bytes) -> None:
        self._chunks = chunks
        self._pending = first
        self.chunks_read = 0

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes the type of the stream with read(0)
            return b""
        if self._pending:
            chunk, self._pending = self._pending, b""
            return chunk
        self.chunks_read += 1
        return next(self._chunks, b"")


@dataclass
class JsonArrayStreamDecoder(Decoder):
    """Decodes a JSON answer; a top-level array (GET /api/card can be hundreds of MB) is parsed
    item by item so memory stays flat, an object is decoded whole as usual. An answer of another
    shape than the endpoint's fails with a plain error, rather than syncing nothing or records
    without their primary key (the CDK checks neither)."""

    parameters: InitVar[Mapping[str, Any]]
    # ijson's C parser turns each chunk into Python objects in one go: 1 MiB chunks made the
    # parse about 40 % slower than 32 KiB ones (docs/performance.md).
    chunk_size: int = 1 << 15
    # What the endpoint answers: "array" (objects with an id: GET /api/card), "object"
    # (GET /api/dashboard/:id), "envelope" ({"data": [objects with an id]}: GET /api/database) or
    # "items" ({"items": [objects with an id]}, or such an array, decoded as the items: GET
    # /api/document, whose early builds answered a bare array, metabase-api.md 11.3).
    shape: str = "array"
    # When the parsing thread hands the interpreter lock to the thread that prints records:
    # "item", after every record (the lowest peaks in a full sync: 193-229 MB at 30,000 cards,
    # where once per chunk peaked at 174-367 MB), or "chunk", after a record once per 32 KiB
    # read (the query log's small rows: a 200,000-row month 7.2 s against 23.0 s, the same
    # memory; docs/performance.md).
    hand_over: str = "item"

    def is_stream_response(self) -> bool:
        return True

    def decode(self, response: requests.Response) -> Iterator[MutableMapping[str, Any]]:
        if _is_html(response):
            raise config_error(HTML_ANSWER.format(url=_without_query(response.url)))
        chunks = response.iter_content(chunk_size=self.chunk_size)
        try:
            first = next(chunks, b"")
            while first and not first.lstrip():
                first = next(chunks, b"")
            reader = _ChunkReader(chunks, first)
            if not first:
                raise _wrong_shape(response, "an empty body", self.shape)
            if first.lstrip()[:1] == b"[":
                if self.shape not in ("array", "items"):
                    raise _wrong_shape(response, "an array", self.shape)
                items, whole = ijson.items(reader, "item", use_float=True), False
            else:
                body = _whole(response, _loads(b"".join(iter(reader.read, b""))), self.shape)
                items, whole = body["items"] if self.shape == "items" else [body], True
            handed_over_at = 0
            for item in items:
                if self.shape in ("array", "items") and not _has_id(item):
                    raise _wrong_shape(response, "an item that is no object with an id", self.shape)
                yield item
                # Hand the interpreter lock to the thread that prints records: otherwise the
                # parsing threads run ahead and thousands of records wait in memory.
                if whole or self.hand_over == "item" or reader.chunks_read != handed_over_at:
                    handed_over_at = reader.chunks_read
                    time.sleep(0)
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError,
                ijson.IncompleteJSONError) as error:
            if isinstance(error, ijson.IncompleteJSONError) and "premature EOF" not in str(error):
                raise _invalid_json(response, error)
            raise AirbyteTracedException(
                message=f"The answer of {_without_query(response.url)} was cut off before its end; "
                "the connection to Metabase (or a proxy) dropped. Run the sync again.",
                internal_message=str(error),
                failure_type=FailureType.transient_error,
            )
        except (ijson.JSONError, ValueError) as error:
            raise _invalid_json(response, error)


@dataclass
class CardType(RecordTransformation):
    """Gives every card Metabase 0.49's `type`: older versions only have the `dataset` flag.

    Python, not AddFields: the CDK renders an AddFields value with Jinja for every record, even
    under a `condition`: 57 µs a card, measured; this costs 0.3 µs (docs/performance.md)."""

    parameters: InitVar[Mapping[str, Any]]

    def transform(self, record: MutableMapping[str, Any], config: Optional[Mapping[str, Any]] = None,
                  stream_state: Any = None, stream_slice: Any = None) -> None:
        if not record.get("type"):
            record["type"] = "model" if record.get("dataset") else "question"


@dataclass
class AlertColumns(RecordTransformation):
    """Gives every alert the same columns whichever Metabase sent it: a pulse with one card from
    `GET /api/alert` (0.40 to 0.53), or a card notification from `GET /api/notification` (0.54+,
    metabase-api.md 11.2): `card_id` (`card.id`, or `payload.card_id`: the 0.54+ alert list no
    longer names the card), `archived` (not `active` from 0.54), `alert_condition` (rows or goal),
    `alert_above_goal`, `alert_first_only`, `schedule` (cron from 0.54, the first channel's before)
    and `recipients`: one row per user, group, raw address or Slack channel of each channel.

    Python because the CDK cannot flatten the recipients of each channel into one list."""

    parameters: InitVar[Mapping[str, Any]]

    def transform(self, record: MutableMapping[str, Any], config: Optional[Mapping[str, Any]] = None,
                  stream_state: Any = None, stream_slice: Any = None) -> None:
        if "payload_type" in record:  # a notification
            payload = record.get("payload") or {}
            condition = payload.get("send_condition")
            cron = next((s.get("cron_schedule") for s in record.get("subscriptions") or () if s.get("cron_schedule")),
                        None)
            record.update(card_id=payload.get("card_id"), archived=not record.get("active", True),
                          alert_condition=None if condition is None else "rows" if condition == "has_result" else "goal",
                          alert_above_goal={"goal_above": True, "goal_below": False}.get(condition),
                          alert_first_only=payload.get("send_once"),
                          schedule={"cron": cron, "type": None, "hour": None, "day": None, "frame": None},
                          recipients=[_recipient(handler.get("channel_type"), r)
                                      for handler in record.get("handlers") or () for r in handler.get("recipients") or ()])
        else:  # a pulse with one card
            channels = record.get("channels") or []
            first = channels[0] if channels else {}
            record.update(card_id=(record.get("card") or {}).get("id"),
                          schedule={"cron": None, "type": first.get("schedule_type"), "hour": first.get("schedule_hour"),
                                    "day": first.get("schedule_day"), "frame": first.get("schedule_frame")},
                          recipients=[_recipient(channel.get("channel_type"), r)
                                      for channel in channels for r in channel.get("recipients") or ()] +
                          [_slack(channel.get("channel_type"), (channel.get("details") or {}).get("channel"))
                           for channel in channels if (channel.get("details") or {}).get("channel")])


# A notification recipient's type (metabase-api.md 11.2) as the alerts' `recipients` name it.
RECIPIENT_TYPES = {"notification-recipient/user": "user", "notification-recipient/group": "group",
                   "notification-recipient/raw-value": "email", "notification-recipient/template": "template"}


def _slack(channel_type: Any, name: Any) -> dict:
    """A Slack channel posted to: before 0.54 the channel's details.channel, from 0.54 a raw value."""
    return {"channel_type": str(channel_type or "").split("/")[-1] or None, "type": "slack_channel",
            "user_id": None, "group_id": None, "email": None, "slack_channel": name}


def _recipient(channel_type: Any, recipient: Mapping[str, Any]) -> dict:
    """{channel_type, type (user, group, email, slack_channel or template), user_id, group_id, email}."""
    channel = str(channel_type or "").split("/")[-1] or None  # "channel/email" from 0.54
    details = recipient.get("details") or {}
    if "type" in recipient:  # a notification recipient
        kind = RECIPIENT_TYPES.get(recipient.get("type"), recipient.get("type"))
        if kind == "email" and channel == "slack":  # a raw value of a Slack handler names a channel
            return _slack(channel_type, details.get("value"))
        user = recipient.get("user") or {}
        return {"channel_type": channel, "type": kind, "user_id": recipient.get("user_id"),
                "group_id": recipient.get("permissions_group_id"),
                "email": details.get("value") if kind == "email" else user.get("email")}
    return {"channel_type": channel, "type": "user" if recipient.get("id") is not None else "email",
            "user_id": recipient.get("id"), "group_id": None, "email": recipient.get("email")}


@dataclass
class DashcardRows(RecordTransformation):
    """Makes a dashboard's dashcards the `dashboard_cards` rows, on the dashboard as that stream
    reads it (its parent's record): each without its embedded card (the `cards` record again;
    `card_id` joins to it), `series` as card ids, Metabase < 0.45's sizeX/sizeY renamed.

    Python because the CDK then looks the dashcards up with dpath, which walks the whole record:
    with the embedded cards still in, that walk (and the JSON round trip of the CDK's lazy read)
    made the read of 229 dashboards (28 MB) 1.6x slower than a request per dashboard, measured;
    RemoveFields walks the record just the same (docs/performance.md)."""

    parameters: InitVar[Mapping[str, Any]]

    def transform(self, record: MutableMapping[str, Any], config: Optional[Mapping[str, Any]] = None,
                  stream_state: Any = None, stream_slice: Any = None) -> None:
        unreadable = []
        for dashcard in record.get("dashcards") or ():
            card = dashcard.pop("card", None)
            if dashcard.get("card_id") and isinstance(card, dict) and "name" not in card:
                unreadable.append(dashcard["card_id"])  # Metabase sends only the id of a card you may not read
            dashcard["series"] = [card.get("id") for card in dashcard.get("series") or ()]
            for old, new in (("sizeX", "size_x"), ("sizeY", "size_y")):
                if old in dashcard:
                    dashcard[new] = dashcard.pop(old)
        record["unreadable_card_ids"] = unreadable  # for DashcardListing (this record is not emitted)


@dataclass
class SliceRecords(Retriever):
    """Emits, as the stream's records, the list its partition router put in the slice
    (`ParentStreamConfig.extra_fields`): `dashboard_cards` takes each dashboard's dashcards from
    the `dashboards` record its router read, and sends no request of its own.

    Python because the CDK's own way, a lazy read of the parent (`lazy_read_pointer`), only works
    in a sync without a state: with one, it requests every dashboard again, and an incremental
    sync would read each edited dashboard twice (two views in Metabase)."""

    parameters: InitVar[Mapping[str, Any]]
    field: str

    def read_records(self, records_schema: Mapping[str, Any],
                     stream_slice: Optional[StreamSlice] = None) -> Iterator[Mapping[str, Any]]:
        yield from (stream_slice.extra_fields.get(self.field) if stream_slice else None) or ()


# --- deletion records: what left a complete listing ----------------------------------------------
#
# Metabase never says what was deleted: its complete lists are the only truth about what exists.
# Each incremental stream keeps, in its state, the ids the destination holds (the last complete
# listing); a later complete listing without some of them yields one deletion record for each
# (primary key, `_ab_cdc_deleted_at` and the cursor field), which Airbyte's destinations apply in
# append + dedup mode. Two components: ListingPartitions (the stream's partition router: the only
# component whose state the CDK saves, under `parent_state`) keeps the listing; ListingRetriever
# (the stream's retriever, around the declared one) sees every listed record, filters by the
# cursor, and emits the deletion records once the last partition is read.

LISTING_KEY = "listing"  # under the stream state's `parent_state`
DELETED_AT = "_ab_cdc_deleted_at"
_IGNORED = threading.local()  # responses the error handler ignored (403, 404) in this thread
_SHARED_LISTINGS: "OrderedDict[int, tuple]" = OrderedDict()  # id(config) -> (config, what its sync shares)
_SHARED_LOCK = threading.Lock()


def _ignored_responses() -> int:
    return getattr(_IGNORED, "count", 0)


def _instant(value: Any) -> Optional[datetime]:
    """A Metabase timestamp (`Z` or an offset, 0 to 6 fractional digits, or H2's zone-less UTC) as
    an aware datetime; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:  # Python 3.10 takes neither Z, +0000, nor 1, 2, 4 or 5 digits
        match = _TIMESTAMP.fullmatch(value)
        if not match:
            return None
        day, fraction, zone = match.groups()
        zone = "+00:00" if zone in (None, "Z") else zone[:3] + ":" + zone[-2:]
        try:
            moment = datetime.fromisoformat(f"{day}.{(fraction or '0').ljust(6, '0')}{zone}")
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(Z|[+-]\d\d:?\d\d)?")


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pack(rows: Iterable[Sequence[int]]) -> str:
    """Rows of integers, sorted, as base64(zlib(zigzag varint deltas, column after column)): the
    ids of 30,000 cards take a few hundred bytes (docs/performance.md)."""
    rows = list(rows)
    out = bytearray()
    for column in range(len(rows[0]) if rows else 0):
        previous = 0
        for row in rows:
            delta, previous = row[column] - previous, row[column]
            zigzag = delta * 2 if delta >= 0 else -delta * 2 - 1
            while zigzag > 0x7F:
                out.append(zigzag & 0x7F | 0x80)
                zigzag >>= 7
            out.append(zigzag)
    return base64.b64encode(zlib.compress(bytes(out), 9)).decode("ascii")


def unpack(text: str, width: int) -> list:
    """The rows `pack` packed, as tuples of `width` integers."""
    values, value, shift = [], 0, 0
    for byte in zlib.decompress(base64.b64decode(text)) if text else b"":
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            values.append(value // 2 if value % 2 == 0 else -(value + 1) // 2)
            value, shift = 0, 0
    count = len(values) // width
    columns = []
    for column in range(width):
        total, decoded = 0, []
        for delta in values[column * count:(column + 1) * count]:
            total += delta
            decoded.append(total)
        columns.append(decoded)
    return list(zip(*columns))


def _ids(rows: Iterable[Any]) -> set:
    """The integer ids among `rows` (others, such as the root collection's "root", are never tracked)."""
    return {row for row in rows if type(row) is int}


class _Wrapping:
    """A partition router around another (`partition_router`, or none): the request options are
    those of the partitions it wraps."""

    partition_router: Optional[PartitionRouter] = None

    def get_request_params(self, **kwargs: Any) -> Mapping[str, Any]:
        return self.partition_router.get_request_params(**kwargs) if self.partition_router else {}

    def get_request_headers(self, **kwargs: Any) -> Mapping[str, Any]:
        return self.partition_router.get_request_headers(**kwargs) if self.partition_router else {}

    def get_request_body_data(self, **kwargs: Any) -> Union[Mapping[str, Any], str]:
        return self.partition_router.get_request_body_data(**kwargs) if self.partition_router else {}

    def get_request_body_json(self, **kwargs: Any) -> Mapping[str, Any]:
        return self.partition_router.get_request_body_json(**kwargs) if self.partition_router else {}


@dataclass
class ListingPartitions(_Wrapping, GroupingPartitionRouter):
    """The partitions of an incremental stream (those of `partition_router`, or one), and what the
    destination holds of it: the ids of its last complete listing, in the state.

    `listed: records` (a list endpoint, in one or more pieces): the records are the listing.
    `listed: partitions` (dashboards): each partition is a listed item, a record of the parent list,
    read only when its `changed_at` (the first of those extra fields that is set) is at or after the
    newest one of the last complete listing, or when the destination does not hold it.

    The listing is complete when every partition was read to its end and no answer was skipped
    (403, 404). Only then are deletions computed, by the partition read last, and the state's ids
    replaced; otherwise the earlier ids stay, with what this sync emitted added.

    Python because the CDK has no component for it: its client-side filter drops unchanged records
    before any component could see the listing whole, and a partition router's own state (saved
    under `parent_state`) is the one place a component can keep anything in the stream's state.
    To the CDK it is a GroupingPartitionRouter that groups nothing, only so that the stream groups
    (manifest.yaml) see the parent streams of the partitions it wraps: the CDK looks for parents
    through its own router types only (`underlying_partition_router`)."""

    group_size: int = 1
    underlying_partition_router: Optional[PartitionRouter] = None
    config: Config = None
    deduplicate: bool = False
    parameters: InitVar[Optional[Mapping[str, Any]]] = None
    partition_router: Optional[PartitionRouter] = None
    listed: str = "records"
    changed_at: Optional[list] = None
    # The ids of the listed records that are not archived, shared under this name with the other
    # streams of this sync once complete (cards: dashboard_cards deletes the dashcards of the
    # questions that left it).
    share: Optional[str] = None

    def __post_init__(self, parameters: Optional[Mapping[str, Any]]) -> None:
        self.underlying_partition_router = self.partition_router
        self._lock = threading.Lock()
        self._started = False
        self.emits_deletions = True  # False when this stream is read as another stream's parent
        self.held: Optional[set] = set()  # the ids the destination holds; None: unknown (a 4.1.0 state)
        self.cutoff: Optional[datetime] = None  # records changed before it are not emitted again
        self.deleted_at = _sync_time(self.config)
        self.listed_ids: set = set()
        self.read_ids: set = set()  # partitions mode: the items read and emitted
        self.live_ids: set = set()
        self._changed_since: Optional[datetime] = None  # partitions mode: the newest change listed before
        self._newest_change: Optional[datetime] = None
        self.also_read: set = set()  # partitions mode: items to read even unchanged (see DashcardListing)
        self._generated = self._done = 0
        self._total: Optional[int] = None
        self.complete = True
        self.finished = False
        self._saved: Optional[dict] = None  # the listing as the state had it, handed back until replaced

    # -- the start: what the state says ---------------------------------------------------------

    def start(self, state: Mapping[str, Any], cursor_field: str) -> None:
        """Takes the stream's state at the start of the sync (the cursor's, which holds ours under
        parent_state): what the destination holds, and since when records are unchanged."""
        if self._started:
            return
        self._started = True
        state = state or {}
        saved = (state.get("parent_state") or {}).get(LISTING_KEY)
        cursor = state.get("state") if isinstance(state.get("state"), dict) else state
        moment = _instant((cursor or {}).get(cursor_field))
        if moment is not None:  # the CDK re-reads the seconds the last sync took (lookback_window)
            self.cutoff = moment - timedelta(seconds=float(state.get("lookback_window") or 0))
            self.deleted_at = max(self.deleted_at, moment + timedelta(microseconds=1))
        if isinstance(saved, dict):
            self._saved = dict(saved)
            self._load(saved)
        elif state:
            self.held = None  # a state from before deletion records (4.1.0): no deletions this time
            self._load_legacy(state, cursor_field)

    def _load(self, saved: Mapping[str, Any]) -> None:
        self.held = _ids(row[0] for row in unpack(saved.get("ids", ""), 1))
        self._changed_since = _instant(saved.get("changed_since"))

    def _load_legacy(self, state: Mapping[str, Any], cursor_field: str) -> None:
        """4.1.0 kept when the dashboards changed in its dashboard list's own state; a state with
        only the cursor (older, or another tool's) dates the dashboards with it, as the CDK did."""
        legacy = (state.get("parent_state") or {}).get("dashboard_list") or {}
        cursor = state.get("state") if isinstance(state.get("state"), dict) else state
        self._changed_since = _instant((legacy.get("state") or legacy).get("last_edited_at")) or \
            _instant((cursor or {}).get(cursor_field))

    # -- partitions -------------------------------------------------------------------------------

    def stream_slices(self) -> Iterable[StreamSlice]:
        skipped = [0]
        pending = None
        for stream_slice in _counting_skips(self._partitions(), skipped):
            if pending is not None:
                self._generated += 1
                yield pending
            pending = stream_slice
        # Known before the last partition is handed out, so that whichever partition ends last
        # knows it is the last (the CDK reads them concurrently).
        self.complete = self.complete and (skipped[0] == 0 or self.listed == "dashcards")
        self._total = self._generated + 1
        yield pending if pending is not None else StreamSlice(
            partition={LISTING_KEY: "nothing to read"}, cursor_slice={}, extra_fields={LISTING_KEY: True})

    def _partitions(self) -> Iterable[StreamSlice]:
        slices = self.partition_router.stream_slices() if self.partition_router else \
            [StreamSlice(partition={}, cursor_slice={})]
        if self.listed != "partitions":
            yield from slices
            return
        for stream_slice in slices:
            item = stream_slice.partition.get("id")
            self.listed_ids.add(item)
            changed = next((_instant(stream_slice.extra_fields.get(f)) for f in self.changed_at or ()
                            if stream_slice.extra_fields.get(f) is not None), None)
            if changed is not None and (self._newest_change is None or changed > self._newest_change):
                self._newest_change = changed
            if self._changed_since is None or changed is None or changed >= self._changed_since \
                    or (self.held is not None and item not in self.held) or item in self.also_read:
                yield stream_slice

    @staticmethod
    def nothing_to_read(stream_slice: Optional[StreamSlice]) -> bool:
        return bool(stream_slice is not None and stream_slice.extra_fields.get(LISTING_KEY))

    # -- records ----------------------------------------------------------------------------------

    def row_of(self, record: Mapping[str, Any]) -> Any:
        """What the listing keeps of a record: its id (and for `share`, whether it is archived)."""
        return (record.get("id"), bool(record.get("archived"))) if self.share else record.get("id")

    def wanted(self, record: Mapping[str, Any], cursor_field: str) -> bool:
        """A record of a list is emitted when it changed since the state, or the destination does
        not hold it (shared again, restored without a new timestamp); partitions are chosen before."""
        if self.cutoff is None or self.listed == "partitions":
            return True
        moment = _instant(record.get(cursor_field))
        return moment is None or moment >= self.cutoff or (self.held is not None and record.get("id") not in self.held)

    def partition_read(self, stream_slice: Optional[StreamSlice], rows: list, complete: bool) -> list:
        """One partition was read (to its end: `rows` is what it listed; `complete`, no answer was
        skipped). The one that ends the listing returns the deletion records, if any."""
        with self._lock:
            self._take(stream_slice, rows)
            if self.listed == "records":  # elsewhere the listing is the parent's list, not the reads
                self.complete = self.complete and complete
            self._done += 1
            if self._total is None or self._done < self._total:
                return []
            self.finished = True
            gone = self._finish() if self.complete else self._keep()
        if not self.emits_deletions:
            return []
        return [{"id": ident, DELETED_AT: _iso(self.deleted_at)} for ident in sorted(gone)]

    def _take(self, stream_slice: Optional[StreamSlice], rows: list) -> None:
        if self.listed == "partitions":
            self.read_ids.update(_ids(rows))
        elif self.share:
            self.listed_ids.update(_ids(ident for ident, _ in rows))
            self.live_ids.update(_ids(ident for ident, archived in rows if not archived))
        else:
            self.listed_ids.update(_ids(rows))

    def _keep(self) -> set:
        """The listing is not complete: nothing is deleted (the state keeps what it held, see
        _listing_state)."""
        return set()

    def _finish(self) -> set:
        """The listing is complete: what the destination holds that left it."""
        if self.share:
            _share(self.config, self.share, self.live_ids)
        gone = self.held - self.listed_ids if self.held is not None else set()
        self._changed_since = self._newest_change or self._changed_since
        return gone

    # -- state ------------------------------------------------------------------------------------

    def get_stream_state(self) -> Optional[Mapping[str, StreamState]]:
        """The parent streams' state (if any), and under `listing` what the destination holds."""
        state = dict((self.partition_router.get_stream_state() if self.partition_router else None) or {})
        listing = self._listing_state()
        if listing is not None:
            state[LISTING_KEY] = listing
        return state

    def _listing_state(self) -> Optional[dict]:
        with self._lock:
            if not self.finished:
                return self._saved
            if self.complete:
                held = self.listed_ids if self.listed == "records" else \
                    self.listed_ids & (self.held if self.held is not None else self.listed_ids) | self.read_ids
            elif self.held is not None:
                held = self.held | self.read_ids | self.listed_ids if self.listed == "records" else self.held | self.read_ids
            else:
                return self._saved
            listing = {"ids": pack((ident,) for ident in sorted(_ids(held)))}
            if self._changed_since is not None:
                listing["changed_since"] = _iso(self._changed_since)
            self._saved = listing
            return listing



@dataclass
class DashcardListing(ListingPartitions):
    """The listing of `dashboard_cards`: each partition is a dashboard its parent, `dashboards`,
    read (edited since the last sync), with its dashcards. The state keeps each held dashcard with
    its dashboard and question; a dashcard leaves when its dashboard, read again, no longer shows
    it, when its dashboard left the dashboards' complete list, or when its question left the
    questions' complete list read earlier in this sync (archived or deleted: Metabase then shows
    the dashboard without it, with no edit of the dashboard). When such a question is listed again
    (restored), its dashboards are read again, once, so that its dashcards come back."""

    def __post_init__(self, parameters: Optional[Mapping[str, Any]]) -> None:
        super().__post_init__(parameters)
        self.listed = "dashcards"
        self.rows: Optional[dict] = {}  # dashboard -> {dashcard: question (0: none, or not readable)}
        self.hidden: set = set()  # (question, dashboard): dashcards deleted with their question
        self.current: dict = {}  # dashboard -> {dashcard: question}, as read in this sync
        parent = self._parent()
        if parent is not None:
            parent.emits_deletions = False  # `dashboards` itself says which dashboards left

    def _parent(self) -> Optional[ListingPartitions]:
        for parent_config in getattr(self.partition_router, "parent_stream_configs", None) or ():
            router = parent_config.stream.get_partition_router()
            if isinstance(router, ListingPartitions):
                return router
        return None

    def _load(self, saved: Mapping[str, Any]) -> None:
        self.rows = {dashboard: {} for (dashboard,) in unpack(saved.get("dashboards", ""), 1)}
        for dashcard, dashboard, card in unpack(saved.get("dashcards", ""), 3):
            self.rows.setdefault(dashboard, {})[dashcard] = card
        self.hidden = set(unpack(saved.get("hidden", ""), 2))

    def _load_legacy(self, state: Mapping[str, Any], cursor_field: str) -> None:
        self.rows = None

    def _partitions(self) -> Iterable[StreamSlice]:
        parent, live = self._parent(), _shared(self.config, "cards")
        if parent is not None and live is not None:
            parent.also_read |= {dashboard for card, dashboard in self.hidden if card in live}
        yield from self.partition_router.stream_slices()

    def row_of(self, record: Mapping[str, Any]) -> Any:
        return record.get("id"), record.get("card_id")

    def wanted(self, record: Mapping[str, Any], cursor_field: str) -> bool:
        return True

    def _take(self, stream_slice: Optional[StreamSlice], rows: list) -> None:
        if stream_slice is None or self.nothing_to_read(stream_slice):
            return
        unreadable = set(stream_slice.extra_fields.get("unreadable_card_ids") or ())
        self.current[stream_slice.partition.get("dashboard_id")] = {
            dashcard: card if type(card) is int and card not in unreadable else 0
            for dashcard, card in rows if type(dashcard) is int}

    def _finish(self) -> set:
        if self.rows is None:  # nothing known from before: this sync's dashboards only, no deletion
            self.rows, self.hidden = dict(self.current), set()
            return set()
        gone: set = set()
        for dashboard, dashcards in self.current.items():
            gone |= self.rows.get(dashboard, {}).keys() - dashcards.keys()
            self.rows[dashboard] = dashcards
        parent = self._parent()
        if parent is not None and parent.finished and parent.complete:
            for dashboard in self.rows.keys() - parent.listed_ids:
                gone |= self.rows.pop(dashboard).keys()
        live = _shared(self.config, "cards")
        if live is not None:
            for dashboard, dashcards in self.rows.items():
                if dashboard in self.current:
                    continue  # read now: what Metabase shows
                left = {dashcard: card for dashcard, card in dashcards.items() if card and card not in live}
                gone |= left.keys()
                self.hidden |= {(card, dashboard) for card in left.values()}
                for dashcard in left:
                    del dashcards[dashcard]
        self.hidden = {(card, dashboard) for card, dashboard in self.hidden
                       if dashboard in self.rows and dashboard not in self.current}
        return gone

    def _keep(self) -> set:
        """Not complete: the dashboards read now are known as read, nothing is deleted."""
        if self.rows is not None:
            self.rows.update(self.current)
        return set()

    def _listing_state(self) -> Optional[dict]:
        with self._lock:
            if not self.finished or self.rows is None:
                return self._saved
            listing = {"dashboards": pack((dashboard,) for dashboard in sorted(self.rows)),
                       "dashcards": pack(sorted((dashcard, dashboard, card) for dashboard, dashcards in self.rows.items()
                                                for dashcard, card in dashcards.items())),
                       "hidden": pack(sorted(self.hidden))}
            self._saved = listing
            return listing


def _counting_skips(items: Iterable[Any], skipped: list) -> Iterator[Any]:
    """`items`, adding to skipped[0] the answers the error handler skipped while producing them
    (only then: what the consumer does between two items in this thread is not counted)."""
    iterator = iter(items)
    while True:
        before = _ignored_responses()
        try:
            item = next(iterator)
        except StopIteration:
            skipped[0] += _ignored_responses() - before
            return
        skipped[0] += _ignored_responses() - before
        yield item


def _warn_once(config: Mapping[str, Any], message: str) -> None:
    """A warning said once a sync, however many streams find the same (timelines and their events)."""
    with _SHARED_LOCK:
        warned = _this_sync(config).setdefault("warned", set())
        first = message not in warned
        warned.add(message)
    if first:
        logger.warning(message)


def _this_sync(config: Mapping[str, Any]) -> dict:
    """What the streams of one sync share (they share its config object): its time, and the
    complete listings handed on. A few syncs at most are kept (the Connector Builder's server
    runs many in one process). Call under _SHARED_LOCK."""
    entry = _SHARED_LISTINGS.pop(id(config), None)
    if entry is None or entry[0] is not config:
        entry = (config, {"time": datetime.now(timezone.utc)})
    _SHARED_LISTINGS[id(config)] = entry
    while len(_SHARED_LISTINGS) > 8:
        _SHARED_LISTINGS.popitem(last=False)
    return entry[1]


def _sync_time(config: Mapping[str, Any]) -> datetime:
    """The sync's time: when its first stream was built."""
    with _SHARED_LOCK:
        return _this_sync(config)["time"]


@dataclass
class LogMonths(ListingPartitions):
    """The partitions of a log read one month per request (the Enterprise query log, `GET
    /api/ee/logs/query_execution/:yyyy-mm`, metabase-api.md 11.8): every month from the state's
    (or from `start_date`; by default the current month and the two before) to the current one,
    so a finished month is read once after it ends and never again, the current one each sync,
    emitting only its rows at or after the state. A log deletes nothing: what Metabase purges
    stays in the warehouse."""

    start_date: Optional[str] = None
    endpoint: str = "ee/logs/query_execution"

    def __post_init__(self, parameters: Optional[Mapping[str, Any]]) -> None:
        super().__post_init__(parameters)
        self.listed = "log"

    def _partitions(self) -> Iterable[StreamSlice]:
        instance = metabase(self.config)
        if instance.has(self.endpoint) is False:  # open source, or no audit app: nothing to ask
            _warn_once(self.config, f"Skipping {ENDPOINTS[self.endpoint].streams}: Metabase {instance.tag} does not "
                                    f"serve them ({instance.cannot(self.endpoint)}).")
            return
        now = datetime.now(timezone.utc)
        start = InterpolatedString.create(self.start_date, parameters={}).eval(self.config) if self.start_date else ""
        first = self.cutoff or _instant(f"{start}T00:00:00" if start else None) or \
            datetime(now.year - (now.month <= 2), (now.month - 3) % 12 + 1, 1, tzinfo=timezone.utc)
        year, month = first.year, first.month
        while (year, month) <= (now.year, now.month):
            yield StreamSlice(partition={"month": f"{year:04d}-{month:02d}"}, cursor_slice={})
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def row_of(self, record: Mapping[str, Any]) -> Any:
        return None

    def wanted(self, record: Mapping[str, Any], cursor_field: str) -> bool:
        moment = _instant(record.get(cursor_field)) if self.cutoff else None
        return moment is None or moment >= self.cutoff

    def _take(self, stream_slice: Optional[StreamSlice], rows: list) -> None:
        pass

    def _finish(self) -> set:
        return set()

    def _listing_state(self) -> Optional[dict]:
        return None


@dataclass
class GraphRows(RecordExtractor):
    """One row per entry of a permission graph (metabase-api.md 11.7), which no CDK extractor can
    make (its keys are ids and names, its depth varies):
    - `graph: collections` (`GET /api/collection/graph`): {group_id, collection_id ("root" or the
      collection's id, as in `collections`), access} for read and write; no row for none (which
      Metabase omits from 0.56.13);
    - `graph: data` (`GET /api/permissions/graph`): {group_id, database_id, permission, schema_name,
      table_id, value} per leaf. At the database level each key is a permission; below it `schemas`
      is skipped, and `native`, `read` and `query` extend the permission (data.native,
      download.native, data.read, data.query); any other key is a schema (the first such level)
      or a table id (the second); schema_name and table_id are null where the value applies above.
      Metabase 0.40 and 0.41 had no `data` level (a database's entry was its native and schemas):
      read as if it had, so that every version before 0.50 speaks the same permissions."""

    parameters: InitVar[Mapping[str, Any]]
    graph: str = "collections"

    def extract_records(self, response: requests.Response) -> Iterable[Mapping[str, Any]]:
        if _is_html(response):
            raise config_error(HTML_ANSWER.format(url=_without_query(response.url)))
        try:
            body = _whole(response, _loads(response.content), "object")
        except ValueError as error:
            raise _invalid_json(response, error)
        groups = body.get("groups") if isinstance(body.get("groups"), dict) else {}
        for group, entries in groups.items():
            for key, value in (entries.items() if isinstance(entries, dict) else ()):
                if self.graph == "collections":
                    if value in ("read", "write"):
                        yield {"group_id": _number(group), "collection_id": key if key == "root" else _number(key),
                               "access": value}
                else:
                    if isinstance(value, dict) and value and set(value) <= {"native", "schemas"}:
                        value = {"data": value}  # Metabase 0.40 and 0.41: no `data` level yet
                    for permission, permissions in (value.items() if isinstance(value, dict) else ()):
                        for row in _leaves(permission, permissions, None, None):
                            yield {"group_id": _number(group), "database_id": _number(key), **row}


def _number(key: str) -> Any:
    return int(key) if isinstance(key, str) and key.lstrip("-").isdigit() else key


def _leaves(permission: str, value: Any, schema: Optional[str], table: Any) -> Iterator[dict]:
    if not isinstance(value, dict):
        yield {"permission": permission, "schema_name": schema, "table_id": table, "value": value}
        return
    for key, inner in value.items():
        if key == "schemas":
            yield from _leaves(permission, inner, schema, table)
        elif key in ("native", "read", "query"):
            yield from _leaves(f"{permission}.{key}", inner, schema, table)
        elif schema is None:
            yield from _leaves(permission, inner, key, table)
        else:
            yield from _leaves(permission, inner, schema, _number(key))


def _share(config: Mapping[str, Any], name: str, ids: set) -> None:
    """Hands a complete listing to the streams read after it in this sync."""
    with _SHARED_LOCK:
        _this_sync(config)[name] = frozenset(ids)


def _shared(config: Mapping[str, Any], name: str) -> Optional[frozenset]:
    with _SHARED_LOCK:
        return _this_sync(config).get(name)


@dataclass
class EndpointPartitions(_Wrapping, PartitionRouter):
    """The partitions of a stream whose endpoint depends on the Metabase version (`metabase()`,
    one request per sync): each of `partition_router`'s (or one) with `endpoint`, the first of
    `endpoints` this version serves; when it serves none, no partition: the stream is skipped
    with a warning, sending nothing (a listing skipped is not complete: no deletion records).
    When the version is not known, the first endpoint, skipped if it answers 404.

    Python because no CDK component can choose a request by what another answer said."""

    parameters: InitVar[Mapping[str, Any]]
    config: Config
    endpoints: list
    partition_router: Optional[PartitionRouter] = None

    def stream_slices(self) -> Iterable[StreamSlice]:
        instance = metabase(self.config)
        served = [e for e in self.endpoints if instance.has(e) is not False]
        if not served:
            about = ENDPOINTS[self.endpoints[0]]
            _warn_once(self.config, f"Skipping {about.streams}: Metabase {instance.tag} does not serve them "
                                    f"({instance.cannot(self.endpoints[0])}).")
            _IGNORED.count = _ignored_responses() + 1
            return
        slices = self.partition_router.stream_slices() if self.partition_router else \
            [StreamSlice(partition={}, cursor_slice={})]
        for stream_slice in slices:
            yield StreamSlice(partition={**stream_slice.partition, "endpoint": served[0]},
                              cursor_slice=stream_slice.cursor_slice, extra_fields=stream_slice.extra_fields)

    def get_stream_state(self) -> Optional[Mapping[str, StreamState]]:
        return self.partition_router.get_stream_state() if self.partition_router else None


@dataclass
class ListOrItems(Retriever):
    """The dashboards' list: `retriever` (GET /api/dashboard), or, where that answers 404 (it is
    deprecated, and Metabase 0.48.0 had none, metabase-api.md 11.1), the dashboards of every
    collection's items (`items`, one request per collection of `collections`: the collections'
    list the `collections` stream reads, from the HTTP cache when it has read it).

    Python because no CDK component reads a second source when the first is missing."""

    parameters: InitVar[Mapping[str, Any]]
    config: Config
    retriever: Retriever
    items: Retriever
    collections: PartitionRouter

    def read_records(self, records_schema: Mapping[str, Any],
                     stream_slice: Optional[StreamSlice] = None) -> Iterator[Any]:
        with _SHARED_LOCK:  # a 404 is not cached: once the list is known missing, it is not asked again
            missing = _this_sync(self.config).get("no dashboard list")
        if not missing:
            skipped = [0]
            yield from _counting_skips(self.retriever.read_records(records_schema, stream_slice), skipped)
            if not skipped[0]:
                return
            _IGNORED.count = _ignored_responses() - skipped[0]  # answered by the items instead: not skipped
            with _SHARED_LOCK:
                _this_sync(self.config)["no dashboard list"] = True
        partition = dict(stream_slice.partition) if stream_slice else {}
        for collection in self.collections.stream_slices():
            items_slice = StreamSlice(partition={**partition, "collection_id": collection.partition["collection_id"]},
                                      cursor_slice={})
            for item in self.items.read_records(records_schema, items_slice):
                if item.get("model", "dashboard") == "dashboard":
                    yield item


@dataclass
class ListingRetriever(Retriever):
    """Reads a stream through `retriever` (its declared retriever), seeing every record it lists:
    emits those that changed since the state (or that the destination does not hold), tells the
    stream's ListingPartitions what each partition listed, and after the last one emits a
    deletion record for each id the destination holds that left the listing.

    Python because the CDK has no component for deletion records. They are emitted as protocol
    messages, not through the cursor: a deletion moves no state forward (its `updated_at` is the
    sync's time, which could pass over an edit made during the sync)."""

    parameters: InitVar[Mapping[str, Any]]
    config: Config
    retriever: Retriever
    partition_router: ListingPartitions
    cursor: Any = None  # the stream's cursor, given by the CDK: its state at the start of the sync
    name: str = ""
    cursor_field: str = "updated_at"

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self.partition_router.start(getattr(self.cursor, "state", None) or {}, self.cursor_field)

    def read_records(self, records_schema: Mapping[str, Any],
                     stream_slice: Optional[StreamSlice] = None) -> Iterator[Any]:
        listing, cursor_field = self.partition_router, self.cursor_field
        records = () if listing.nothing_to_read(stream_slice) else \
            self.retriever.read_records(records_schema, stream_slice)
        skipped, rows, row_of = [0], [], listing.row_of
        for record in _counting_skips(records, skipped):
            if isinstance(record, Mapping):
                rows.append(row_of(record))
                if not listing.wanted(record, cursor_field):
                    continue
            yield record
        for deleted in listing.partition_read(stream_slice, rows, skipped[0] == 0):
            deleted[self.cursor_field] = deleted[DELETED_AT]  # destinations apply a deletion newer than the row
            yield AirbyteMessage(type=Type.RECORD, record=AirbyteRecordMessage(
                stream=self.name, data=deleted, emitted_at=int(time.time() * 1000)))


# Where a dependency was found: the clause of the question's own (last) stage. A nested query
# (MBQL 4 source-query, MBQL 5 earlier stage) counts as one clause, `nested_query`, and a join as
# one, `join`, whatever they hold. A dependency named in several places keeps the first of them
# in this order.
CLAUSES = (("source-table", "source"), ("source-card", "source"), ("source-query", "nested_query"),
           ("joins", "join"), ("expressions", "expression"), ("filter", "filter"), ("filters", "filter"),
           ("aggregation", "aggregation"), ("breakout", "breakout"), ("order-by", "order_by"),
           ("fields", "fields"), ("template-tags", "template_tag"))
REFERENCES = {"field": "field", "field-id": "field", "segment": "segment", "metric": "metric", "measure": "measure"}
# Aggregations with a condition, their last argument: what it names is read `via` filter.
CONDITIONAL = {"count-where", "sum-where", "distinct-where", "share"}


@dataclass
class Dependencies(RecordTransformation):
    """Gives every record `dependencies`: one {type, id, via} per table, card, field, snippet,
    segment, metric, measure or dashboard it names, in one vocabulary for what reads what:
    - `of: card`: a question's own dataset_query (MBQL 4, MBQL 5 or native template tags);
    - `of: transform`: a transform's source query, read as a card's, or a Python transform's
      source tables (`via` source_table; a table named but not yet made: id null, `name`
      "schema.table"); also `target_table_id`, the table it writes: the one of `tables` (the
      tables' list, read once a sync) whose `transform` is this one, else the one its `target`
      names (database, schema, name); null before it exists;
    - `of: measure`: a measure's definition, an MBQL 5 query with one aggregation;
    - `of: document`: a document's ProseMirror body: the cards it embeds (`cardEmbed`, via embed)
      and what it links (`smartLink`: card, model, table, dashboard; via link).

    Python because no CDK component can walk a query or a document of any depth; a plain walk of
    the parsed dict, with no request, Jinja or JSON round trip (docs/performance.md gives its cost)."""

    parameters: InitVar[Mapping[str, Any]]
    of: str = "card"
    tables: Optional[PartitionRouter] = None  # of: transform: GET /api/table (the tables stream's, cached)

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._targets: Optional[dict] = None
        self._lock = threading.Lock()

    def _target_table(self, transform: Mapping[str, Any]) -> Optional[int]:
        with self._lock:
            if self._targets is None and self.tables is not None:
                self._targets = {}
                for table in self.tables.stream_slices():
                    ident, about = table.partition.get("table_id"), table.extra_fields
                    writer = about.get("transform") if isinstance(about.get("transform"), Mapping) else {}
                    if writer.get("id") is not None:
                        self._targets[("transform", writer["id"])] = ident
                    self._targets.setdefault((about.get("db_id"), about.get("schema"), about.get("name")), ident)
        if transform.get("table") is not None:  # a detail answer names it
            return (transform.get("table") or {}).get("id")
        target, targets = transform.get("target") or {}, self._targets or {}
        database = target.get("database") or transform.get("target_db_id") or transform.get("source_database_id")
        return targets.get(("transform", transform.get("id"))) or \
            targets.get((database, target.get("schema"), target.get("name")))

    def transform(self, record: MutableMapping[str, Any], config: Optional[Mapping[str, Any]] = None,
                  stream_state: Any = None, stream_slice: Any = None) -> None:
        found: dict = {}
        if self.of == "card":
            _query(record.get("dataset_query"), found)
        elif self.of == "measure":
            _query(record.get("definition"), found)
        elif self.of == "document":
            _document(record.get("document"), found)
        elif self.of == "transform":
            source = record.get("source") or {}
            _query(source.get("query"), found)
            _python_tables(source.get("source-tables"), found)
            record["target_table_id"] = self._target_table(record)
        record["dependencies"] = list(found.values())


def _query(query: Any, found: dict) -> None:
    if isinstance(query, dict):
        stages = query.get("stages")
        if isinstance(stages, list) and stages:  # MBQL 5: the last stage is the question's own
            _stage(stages[-1], stages[:-1], found)
        elif isinstance(query.get("query"), dict):  # MBQL 4
            _stage(query["query"], (), found)
        elif isinstance(query.get("native"), dict):  # MBQL 4 native
            _stage(query["native"], (), found)


def _python_tables(tables: Any, found: dict) -> None:
    """A Python transform's source tables: {alias: table id | {database_id, schema, table,
    table_id}} or, newer, [{alias, database_id, schema, table, table_id}] (metabase-api.md 11.4)."""
    for table in (tables.values() if isinstance(tables, dict) else tables if isinstance(tables, list) else ()):
        if type(table) is int:
            _add(found, "table", table, "source_table")
        elif isinstance(table, dict):
            ident = table.get("table_id")
            name = ".".join(str(part) for part in (table.get("schema"), table.get("table")) if part)
            _add(found, "table", ident if type(ident) is int else None, "source_table", name or None)


# What a document's smartLink names, by its model (a missing model is a card; others are skipped).
LINKED = {"card": "card", "dataset": "card", "table": "table", "dashboard": "dashboard"}


def _document(node: Any, found: dict) -> None:
    """Every cardEmbed and smartLink anywhere in a ProseMirror tree, in document order."""
    if isinstance(node, list):
        for child in node:
            _document(child, found)
    elif isinstance(node, dict):
        attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
        if node.get("type") == "cardEmbed":  # a positive id: a card; a static embed has none, a draft a negative one
            if type(attrs.get("id")) is int and attrs["id"] > 0:
                _add(found, "card", attrs["id"], "embed")
        elif node.get("type") == "smartLink":
            target, entity = LINKED.get(attrs.get("model") or "card"), attrs.get("entityId")
            if isinstance(entity, str) and entity.isdigit():
                entity = int(entity)
            if target and type(entity) is int:
                _add(found, target, entity, "link")
        _document(node.get("content"), found)


def _stage(stage: Any, earlier: Any, found: dict) -> None:
    if not isinstance(stage, dict):
        return
    for key, via in CLAUSES:
        if key == "source-query" and earlier:  # MBQL 5's earlier stages stand where source-query would
            _walk(earlier, "nested_query", found)
        value = stage.get(key)
        if value is None:
            continue
        if key in ("source-table", "source-card"):
            _source(key, value, via, found)
        elif key == "template-tags":
            _template_tags(value, found)
        else:
            _walk(value, via, found)


def _add(found: dict, kind: str, ident: Any, via: str, name: Any = None) -> None:
    """One dependency per (type, id), the first place it is named; a snippet keeps its name (old
    cards name it without its id), so does a table named by its name alone."""
    key = (kind, ident if ident is not None else name)
    if key not in found:
        found[key] = {"type": kind, "id": ident, "via": via}
        if kind == "snippet" or (ident is None and name is not None):
            found[key]["name"] = name


def _source(key: str, value: Any, via: str, found: dict) -> None:
    """`source-table` 12 or "card__27" (MBQL 4), `source-card` 27 (MBQL 5)."""
    if type(value) is int:
        _add(found, "table" if key == "source-table" else "card", value, via)
    elif isinstance(value, str) and value.startswith("card__") and value[6:].isdigit():
        _add(found, "card", int(value[6:]), via)


def _walk(node: Any, via: str, found: dict) -> None:
    """Every source and reference anywhere below node (joins, nested queries, clauses)."""
    if isinstance(node, list):
        head = node[0] if node else None
        if type(head) is str and head in REFERENCES and len(node) > 1:
            # MBQL 4 ["field", 78, {opts}]; MBQL 5 ["field", {opts}, 78]. A string instead of
            # 78 names a column of a source query, not a database field.
            ident, options = node[1], node[2] if len(node) > 2 else None
            if isinstance(ident, dict):
                ident, options = options, ident
            if type(ident) is int:
                _add(found, REFERENCES[head], ident, via)
            if isinstance(options, dict) and type(options.get("source-field")) is int:  # implicit join
                _add(found, "field", options["source-field"], via)
            return
        if type(head) is str and head in CONDITIONAL and len(node) > 1:
            _walk(node[1:-1], via, found)
            _walk(node[-1], "filter", found)
            return
        for item in node:
            if isinstance(item, (list, dict)):
                _walk(item, via, found)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("source-table", "source-card"):
                _source(key, value, via, found)
            elif key == "template-tags":
                _template_tags(value, found)
            elif key != "source-metadata" and isinstance(value, (list, dict)):
                _walk(value, via, found)


def _template_tags(tags: Any, found: dict) -> None:
    """A native query's {{#27-name}} cards, {{snippet: x}} snippets (matched by name where an
    old card lacks snippet-id) and field filters' dimensions."""
    if not isinstance(tags, dict):
        return
    for tag in tags.values():
        if not isinstance(tag, dict):
            continue
        kind = tag.get("type")
        if kind == "card" and type(tag.get("card-id")) is int:
            _add(found, "card", tag["card-id"], "template_tag")
        elif kind == "snippet":
            ident = tag.get("snippet-id")
            _add(found, "snippet", ident if type(ident) is int else None, "template_tag", tag.get("snippet-name"))
        elif isinstance(tag.get("dimension"), list):
            _walk(tag["dimension"], "template_tag", found)


EXPECTED_SHAPES = {"array": "a JSON array of objects with an id", "object": "a JSON object",
                   "envelope": "a JSON object whose data is an array of objects with an id",
                   "items": "a JSON object whose items is an array of objects with an id"}


def _loads(body: bytes) -> Any:
    """A whole answer (a dashboard's detail: 120 KB each, on average, at 3,000 cards) parsed with
    orjson, the CDK's own JSON parser and about twice as fast as `json`; `json` for what orjson
    refuses (an integer beyond 64 bits), so that it fails only on what is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def _has_id(item: Any) -> bool:
    return isinstance(item, dict) and item.get("id") is not None


def _whole(response: requests.Response, body: Any, shape: str) -> Any:
    """A whole (non-array) answer, checked against the endpoint's shape."""
    if not isinstance(body, dict):
        kind = {bool: "a boolean", int: "a number", float: "a number", str: "a string", type(None): "null"}
        raise _wrong_shape(response, kind.get(type(body), "a scalar"), shape)
    if shape == "array":
        raise _wrong_shape(response, "an object", shape)
    key = {"envelope": "data", "items": "items"}.get(shape)
    if key and not (isinstance(body.get(key), list) and all(map(_has_id, body[key]))):
        raise _wrong_shape(response, f"an object without a {key} array of objects with an id", shape)
    return body


def _wrong_shape(response: requests.Response, found: str, shape: str) -> AirbyteTracedException:
    return AirbyteTracedException(
        message=f"{_without_query(response.url)} answered {found} where Metabase answers "
        f"{EXPECTED_SHAPES[shape]}; is instance_api_url the API of a Metabase instance?",
        failure_type=FailureType.system_error,
    )


def _invalid_json(response: requests.Response, error: Exception) -> AirbyteTracedException:
    return AirbyteTracedException(
        message=f"{_without_query(response.url)} answered with invalid JSON; is instance_api_url "
        "the API of a Metabase instance?",
        internal_message=str(error),
        failure_type=FailureType.system_error,
    )


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
