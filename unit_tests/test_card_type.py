"""CardType (components.py): every card gets Metabase 0.49's `type`, whatever the version."""

import pytest


@pytest.fixture
def card_type(components_module):
    return components_module.CardType(parameters={})


@pytest.mark.parametrize(
    "card, expected",
    [
        ({"id": 1, "dataset": True}, "model"),  # Metabase < 0.49: a model is a `dataset`
        ({"id": 2, "dataset": False}, "question"),
        ({"id": 3}, "question"),
        ({"id": 4, "type": "metric", "dataset": False}, "metric"),  # 0.49+: kept as Metabase says
        ({"id": 5, "type": "question", "dataset": True}, "question"),
        ({"id": 6, "type": None, "dataset": True}, "model"),
    ],
)
def test_every_card_gets_a_type(card_type, card, expected):
    record = dict(card)
    card_type.transform(record, config={}, stream_state={}, stream_slice={})
    assert record == dict(card, type=expected)
