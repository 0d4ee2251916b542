"""Runtime Python of the Metabase connector: authentication, a streaming reader for
Metabase's top-level JSON arrays, and the cards' `type`. Everything else lives in manifest.yaml."""

import json
import logging
import os
import socket
import ssl
import threading
import time
from dataclasses import InitVar, dataclass
from typing import Any, Iterator, Mapping, MutableMapping, Optional
from urllib.parse import urlsplit

import certifi
import ijson
import requests

from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.auth.declarative_authenticator import DeclarativeAuthenticator
from airbyte_cdk.sources.declarative.decoders.decoder import Decoder
from airbyte_cdk.sources.declarative.interpolation import InterpolatedString
from airbyte_cdk.sources.declarative.transformations import RecordTransformation
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
HTML_ANSWER = (
    "{url} answered with an HTML page instead of Metabase's JSON API. Check instance_api_url: "
    "it must point at Metabase itself (e.g. https://metabase.example.com/api/), not at a "
    "single sign-on or proxy login page in front of it."
)


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


_SESSIONS: dict[tuple[str, ...], _SharedSession] = {}
_SESSIONS_LOCK = threading.Lock()
_REACHABLE: set[tuple[str, int]] = set()


def _shared_session(*identity: str) -> _SharedSession:
    with _SESSIONS_LOCK:
        return _SESSIONS.setdefault(identity, _SharedSession())


def _check_reachable(api_url: str) -> None:
    """One TLS handshake per process before the first request, so that a wrong host or port or
    an untrusted certificate fails at once with a plain answer instead of minutes of retries.
    Skipped behind a proxy."""
    parts = urlsplit(api_url)
    host, port = parts.hostname or "", parts.port or 443
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
    request while a password is configured renews the session once (however many threads hit
    it at the same time) and sends the request again."""

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

    # --- what the CDK calls -------------------------------------------------------------

    @property
    def auth_header(self) -> str:
        return API_KEY_HEADER if self._api_key else SESSION_HEADER

    @property
    def token(self) -> str:
        if self._api_key:
            return self._api_key
        return self._current_session()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if not self._api_url.startswith("https://"):
            raise config_error(
                "instance_api_url must start with https:// (Metabase credentials must not travel "
                "unencrypted)."
            )
        if not (self._api_key or self._session_token or (self._username and self._password)):
            raise config_error(NO_CREDENTIALS)
        _check_reachable(self._api_url)
        request.headers.update(self.get_auth_header())
        if self._after_response not in request.hooks["response"]:  # the CDK re-applies auth on retries
            request.register_hook("response", self._after_response)
        return request

    # --- sessions -------------------------------------------------------------------------

    def _can_login(self) -> bool:
        return bool(self._username and self._password)

    def _current_session(self) -> str:
        shared = self._shared
        with shared.lock:
            if shared.token is None:
                shared.token = self._session_token or self._login()
            return shared.token

    def _renew_session(self, rejected: Optional[str]) -> str:
        """Log in again unless another thread already replaced the rejected session."""
        shared = self._shared
        with shared.lock:
            if shared.token is None or shared.token == rejected:
                logger.info("Metabase rejected the session; logging in again.")
                shared.token = self._login()
            return shared.token

    def _after_response(self, response: requests.Response, **send_kwargs: Any) -> requests.Response:
        if response.status_code == 403:
            self._warn_forbidden(response)
        renewals = 0
        while response.status_code == 401 and self._can_login() and not self._api_key and renewals < 3:
            renewals += 1
            response = self._send_again(response, self._renew_session(_sent_session(response)), send_kwargs)
        if response.status_code == 401:
            response.close()
            raise config_error(self._rejection_message())
        return response

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
        if self._can_login():
            return "Metabase rejected the session right after a fresh login (401 Unauthenticated)."
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

    def _login(self) -> str:
        if not self._can_login():
            raise config_error(EXPIRED_TOKEN if self._session_token else NO_CREDENTIALS)
        url = self._api_url + "session"
        body = {"username": self._username, "password": self._password}
        for attempt in range(1, self.login_attempts + 1):
            wait = 2 ** (attempt - 1)
            try:
                response = requests.post(url, json=body, timeout=(30, 60))
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
        if _is_html(response):
            raise config_error(HTML_ANSWER.format(url=url))
        if response.status_code == 404:
            raise config_error(
                f"There is no Metabase API at {url} (404). Check instance_api_url, e.g. "
                "https://metabase.example.com/api/ (with /api once)."
            )
        text = response.text.strip()
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if response.ok and isinstance(body, dict) and isinstance(body.get("id"), str):
            add_to_secrets(body["id"])
            logger.info("Logged in to Metabase.")
            return body["id"]
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


def _sent_session(response: requests.Response) -> Optional[str]:
    return response.request.headers.get(SESSION_HEADER)


def _retry_after(response: requests.Response, default: float) -> float:
    try:
        return min(float(response.headers.get("Retry-After", default)), 60.0)
    except ValueError:
        return default


class _ChunkReader:
    """A file-like view of a response body for ijson, which reads it chunk by chunk."""

    def __init__(self, chunks: Iterator[bytes], first: bytes) -> None:
        self._chunks = chunks
        self._pending = first

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes the type of the stream with read(0)
            return b""
        if self._pending:
            chunk, self._pending = self._pending, b""
            return chunk
        return next(self._chunks, b"")


@dataclass
class JsonArrayStreamDecoder(Decoder):
    """Decodes a JSON answer; a top-level array (GET /api/card can be hundreds of MB) is parsed
    item by item so memory stays flat, an object is decoded whole as usual."""

    parameters: InitVar[Mapping[str, Any]]
    # ijson's C parser turns each chunk into Python objects in one go: 1 MiB chunks made the
    # parse about 40 % slower than 32 KiB ones (docs/performance.md).
    chunk_size: int = 1 << 15

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
            if first.lstrip()[:1] == b"[":
                items = ijson.items(reader, "item", use_float=True)
            else:
                items = [json.loads(b"".join(iter(reader.read, b"")))] if first else []
            for item in items:
                yield item
                # Hand the interpreter lock to the thread that prints records: otherwise the
                # parsing threads run ahead and thousands of records wait in memory. After every
                # item: as cheap as every 8th, and the lowest peaks (docs/performance.md).
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
