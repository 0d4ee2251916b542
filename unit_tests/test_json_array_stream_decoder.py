"""JsonArrayStreamDecoder (components.py): bare arrays item by item, objects whole, clear errors."""

import io
import json

import pytest
import requests
from urllib3.response import HTTPResponse

from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

URL = "https://metabase.example.com/api/card?f=all"


class Body(io.RawIOBase):
    """A response body served in small pieces, optionally failing after the last one."""

    def __init__(self, pieces, then_fail=False):
        self.pieces = list(pieces)
        self.then_fail = then_fail
        self.served = 0
        self.bytes_served = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        if not self.pieces:
            if self.then_fail:
                raise ConnectionResetError("peer went away")
            return 0
        piece = self.pieces.pop(0)
        buffer[: len(piece)] = piece
        self.served += 1
        self.bytes_served += len(piece)
        return len(piece)


def response(body, content_type="application/json"):
    result = requests.Response()
    result.status_code = 200
    result.url = URL
    result.headers["Content-Type"] = content_type
    result.raw = HTTPResponse(body=body, preload_content=False, decode_content=False)
    return result


@pytest.fixture
def decoder(components_module):
    return components_module.JsonArrayStreamDecoder(parameters={}, chunk_size=64)


def test_bare_array_yields_each_item(decoder):
    items = [{"id": n, "name": f"card {n}", "score": n / 3} for n in range(50)]
    text = json.dumps(items).encode()
    pieces = [text[i : i + 37] for i in range(0, len(text), 37)]
    assert list(decoder.decode(response(Body(pieces)))) == items


def test_items_come_out_before_the_whole_body_is_read(decoder):
    head = b'[{"id": 1}, {"id": 2}, ' + b" " * 200
    body = Body([head, b'{"id": 3}]'])
    records = decoder.decode(response(body))
    assert next(records) == {"id": 1}
    assert body.pieces, "the decoder read the whole body before yielding the first item"


def test_a_big_array_is_read_one_chunk_at_a_time(components_module):
    decoder = components_module.JsonArrayStreamDecoder(parameters={})  # the default chunk size
    card = {"id": 1, "name": "card", "result_metadata": [{"name": "column", "base_type": "type/Text"}] * 20}
    text = json.dumps([card] * 3000).encode()  # about 4 MB
    body = Body([text[i : i + 4096] for i in range(0, len(text), 4096)])
    records = decoder.decode(response(body))
    assert next(records) == card
    assert body.bytes_served <= decoder.chunk_size < len(text) / 20, "memory grows with the body"
    assert sum(1 for _ in records) == 2999


def test_object_answer_in_many_pieces_is_decoded_whole(components_module):
    decoder = components_module.JsonArrayStreamDecoder(parameters={}, chunk_size=64, shape="envelope")
    envelope = {"data": [{"id": n, "name": f"user {n}"} for n in range(40)], "total": 40}
    text = json.dumps(envelope).encode()
    assert list(decoder.decode(response(Body([text[i : i + 10] for i in range(0, len(text), 10)])))) == [envelope]


def test_object_answer_is_decoded_whole(components_module):
    decoder = components_module.JsonArrayStreamDecoder(parameters={}, shape="envelope")
    envelope = {"data": [{"id": 1}], "total": 1}
    assert list(decoder.decode(response(Body([json.dumps(envelope).encode()])))) == [envelope]


def test_empty_array_gives_nothing(decoder):
    assert list(decoder.decode(response(Body([b"  [ ]  "])))) == []


def test_html_page_is_a_config_error(decoder):
    with pytest.raises(AirbyteTracedException) as raised:
        list(decoder.decode(response(Body([b"<html>Sign in</html>"]), "text/html; charset=utf-8")))
    assert raised.value.failure_type == FailureType.config_error
    assert "HTML page" in raised.value.message and "?f=all" not in raised.value.message


def test_cut_off_answer_is_a_transient_error(decoder):
    with pytest.raises(AirbyteTracedException) as raised:
        list(decoder.decode(response(Body([b'[{"id": 1}, {"id": 2'], then_fail=True))))
    assert raised.value.failure_type == FailureType.transient_error
    assert "cut off" in raised.value.message


def test_answer_ending_early_is_a_transient_error(decoder):
    with pytest.raises(AirbyteTracedException) as raised:
        list(decoder.decode(response(Body([b'[{"id": 1}, {"id": 2']))))
    assert raised.value.failure_type == FailureType.transient_error


@pytest.mark.parametrize("text", [b"[{'id': 1}]", b"{not json", b'[{"id": 1},, 3]'])
def test_invalid_json_is_a_system_error_naming_the_endpoint(decoder, text):
    with pytest.raises(AirbyteTracedException) as raised:
        list(decoder.decode(response(Body([text]))))
    assert raised.value.failure_type == FailureType.system_error
    assert "invalid JSON" in raised.value.message and "/api/card" in raised.value.message


@pytest.mark.parametrize("shape, text, found", [
    ("array", b"", "an empty body"),
    ("array", b"null", "null"),
    ("array", b'"a string"', "a string"),
    ("array", b"42", "a number"),
    ("array", b'{"id": 1}', "an object"),  # an object where the list should be
    ("array", b'[{"id": 1}, {"name": "no id"}]', "an item that is no object with an id"),
    ("array", b'[{"id": 1}, [2]]', "an item that is no object with an id"),
    ("array", b'[{"id": null}]', "an item that is no object with an id"),
    ("object", b'[{"id": 1}]', "an array"),
    ("envelope", b'{"total": 0}', "an object without a data array"),
    ("envelope", b'{"data": [{"name": "no id"}]}', "an object without a data array"),
    ("items", b'{"data": [{"id": 1}]}', "an object without a items array"),
    ("items", b'[{"name": "no id"}]', "an item that is no object with an id"),
])
def test_an_answer_of_another_shape_is_a_plain_error_naming_the_endpoint(components_module, shape, text, found):
    decoder = components_module.JsonArrayStreamDecoder(parameters={}, shape=shape)
    with pytest.raises(AirbyteTracedException) as raised:
        list(decoder.decode(response(Body([text] if text else []))))
    assert raised.value.failure_type == FailureType.system_error
    assert f"/api/card answered {found}" in raised.value.message, raised.value.message


def test_the_root_collection_id_is_an_id(components_module):
    decoder = components_module.JsonArrayStreamDecoder(parameters={})
    items = [{"id": "root", "name": "Our analytics"}, {"id": 3}]
    assert list(decoder.decode(response(Body([json.dumps(items).encode()])))) == items


def test_object_answer_with_an_integer_beyond_64_bits_is_decoded(components_module):
    decoder = components_module.JsonArrayStreamDecoder(parameters={}, shape="object")
    detail = {"id": 7, "dashcards": [], "fingerprint": {"max": 2**70, "avg": 1.5}}
    assert list(decoder.decode(response(Body([json.dumps(detail).encode()])))) == [detail]


@pytest.mark.parametrize("text", [
    b'{"items": [{"id": 3, "name": "Q3 review"}, {"id": 5, "name": "Runbook"}]}',  # GET /api/document
    b'[{"id": 3, "name": "Q3 review"}, {"id": 5, "name": "Runbook"}]',  # its early builds: a bare array
])
def test_an_items_envelope_or_a_bare_array_gives_the_items(components_module, text):
    decoder = components_module.JsonArrayStreamDecoder(parameters={}, shape="items")
    assert list(decoder.decode(response(Body([text])))) == [{"id": 3, "name": "Q3 review"}, {"id": 5, "name": "Runbook"}]


@pytest.mark.parametrize("hand_over, expected", [("item", lambda items, chunks: items), ("chunk", lambda items, chunks: chunks)])
def test_the_lock_is_handed_over_after_each_item_or_once_per_chunk(components_module, monkeypatch, hand_over, expected):
    """The printing thread gets the interpreter lock after every record by default; the query
    log's decoder ("chunk") hands it over once per chunk read, never more often than records."""
    slept = []
    monkeypatch.setattr(components_module.time, "sleep", slept.append)
    items = [{"id": n} for n in range(200)]
    text = json.dumps(items).encode()  # about 2 KB: 16 chunks of 128 bytes
    decoder = components_module.JsonArrayStreamDecoder(parameters={}, chunk_size=128, hand_over=hand_over)
    body = Body([text[i : i + 128] for i in range(0, len(text), 128)])
    assert list(decoder.decode(response(body))) == items
    assert len(slept) == expected(len(items), body.served - 1)
    assert set(slept) == {0}
