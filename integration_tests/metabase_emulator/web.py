"""The HTTP vocabulary of the routes, the server and any kind module's handlers: requests,
responses, bodies made of pieces, the error a handler raises, and the LRU of list bodies."""

from __future__ import annotations

import threading
from collections import OrderedDict
from urllib.parse import parse_qs

import orjson

JSON = "application/json;charset=utf-8"
TEXT = "text/plain;charset=utf-8"
HTML = "text/html;charset=utf-8"
FORBIDDEN = "You don't have permissions to do that."


class Body:
    """A response body made of pieces (bytes or memoryviews), sent without joining them."""
    __slots__ = ("pieces", "length")

    def __init__(self, pieces):
        self.pieces = pieces
        self.length = sum(len(p) for p in pieces)


class Response:
    __slots__ = ("status", "body", "content_type", "headers", "auth")

    def __init__(self, status=200, body=b"", content_type=JSON, headers=None, auth="none"):
        self.status = status
        self.body = body  # bytes or Body
        self.content_type = content_type
        self.headers = headers or []
        self.auth = auth

    @property
    def length(self):
        return self.body.length if isinstance(self.body, Body) else len(self.body)


def json_response(obj, status=200, headers=None) -> Response:
    return Response(status, orjson.dumps(obj), JSON, headers)


def text_response(text: str, status: int) -> Response:
    return Response(status, text.encode(), TEXT)


class HttpError(Exception):
    def __init__(self, status, payload):
        super().__init__(status)
        self.response = json_response(payload, status) if isinstance(payload, dict) else text_response(payload, status)


class Request:
    __slots__ = ("method", "path", "query", "params", "headers", "body", "user", "viewer", "auth", "session_id")

    def __init__(self, method, path, query, headers, body=b""):
        self.method = method
        self.path = path
        self.query = query
        self.params = parse_qs(query, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self.user = self.viewer = self.session_id = None
        self.auth = "none"

    def get(self, name, default=None):
        v = self.params.get(name)
        return v[-1] if v else default

    def flag(self, name, default=False) -> bool:
        v = self.get(name)
        if v is None or v == "":
            return default
        if v.lower() not in ("true", "false"):
            raise HttpError(400, {"errors": {name: "nullable boolean"},
                                  "specific-errors": {name: ["should be a boolean, received: %s" % v]}})
        return v.lower() == "true"

    def paging(self):
        """Metabase's offset paging: both null unless one is given; then limit 50 / offset 0."""
        limit, offset = self.get("limit"), self.get("offset")
        if limit is None and offset is None:
            return None, None
        out = []
        for name, v, default in (("limit", limit, 50), ("offset", offset, 0)):
            if v is None:
                out.append(default)
                continue
            try:
                n = int(v)
                if n < 0:
                    raise ValueError
            except ValueError:
                raise HttpError(400, {"errors": {name: "value must be a valid integer greater than or equal to zero."}})
            out.append(n)
        return out[0], out[1]


class LRU:
    """Bodies by key with a byte budget; arena-backed bodies cost only their piece list."""

    def __init__(self, budget: int):
        self.budget = budget
        self.used = 0
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()
        self.generation = 0  # bumped by clear(): a body built before a change is not kept

    def clear(self):
        with self.lock:
            self.items.clear()
            self.used = 0
            self.generation += 1

    @staticmethod
    def cost(body) -> int:
        return 64 * len(body.pieces) if isinstance(body, Body) else len(body) + 64

    def get(self, key):
        with self.lock:
            body = self.items.get(key)
            if body is not None:
                self.items.move_to_end(key)
            return body

    def put(self, key, body, generation=None):
        with self.lock:
            if key in self.items or (generation is not None and generation != self.generation):
                return
            self.items[key] = body
            self.used += self.cost(body)
            while self.used > self.budget and len(self.items) > 1:
                _, old = self.items.popitem(last=False)
                self.used -= self.cost(old)

