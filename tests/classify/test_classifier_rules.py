"""Answer validation, supplier-memory keys, waves and the cache-friendly prompt."""

import json
from datetime import date

import pytest

from quincena.classify import prompt
from quincena.classify.classifier import (
    Invoice,
    Line,
    Settings,
    batch_size,
    description_key,
    split_waves,
    validate_answer,
)


def test_valid_answer_is_accepted() -> None:
    answer = {"classifications": [{"id": "1", "account": "513530", "confidence": 0.93}]}
    accepted, problems = validate_answer(["1"], answer, 0.6)
    assert accepted == {"1": ("513530", 0.93)} and problems == {}


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"id": "1", "account": "999999", "confidence": 0.9}, "not a purchase sub-account"),
        ({"id": "1", "account": "240810", "confidence": 0.9}, "not a purchase sub-account"),  # other side
        ({"id": "1", "account": "5135", "confidence": 0.9}, "not a purchase sub-account"),  # not 6 digits
        ({"id": "1", "account": "513530", "confidence": 0.2}, "below 0.60"),
        ({"id": "1", "account": "513530", "confidence": "alta"}, "not a number"),
        ({"id": "1", "account": "513530", "confidence": 7}, "outside 0..1"),
    ],
)
def test_invalid_entries_are_rejected_with_reason(entry: dict, fragment: str) -> None:
    accepted, problems = validate_answer(["1"], {"classifications": [entry]}, 0.6)
    assert accepted == {}
    assert fragment in problems["1"]


def test_missing_duplicate_and_unasked_items() -> None:
    answer = {
        "classifications": [
            {"id": "1", "account": "513530", "confidence": 0.9},
            {"id": "1", "account": "513535", "confidence": 0.9},
            {"id": "99", "account": "513535", "confidence": 0.9},
        ]
    }
    accepted, problems = validate_answer(["1", "2"], answer, 0.6)
    assert accepted == {}
    assert "answered twice" in problems["1"] and "missing" in problems["2"]
    # The model is told in English (the prompt's language); the accountant reads Spanish.
    assert problems["1"].es == "el modelo la respondió dos veces" and problems["2"].es == "el modelo no la respondió"
    assert "99" not in problems


@pytest.mark.parametrize("answer", [None, [], {"foo": 1}, {"classifications": "x"}])
def test_unusable_answer_fails_every_item(answer) -> None:
    accepted, problems = validate_answer(["1", "2"], answer, 0.6)
    assert accepted == {} and set(problems) == {"1", "2"}


def test_description_key_ignores_months_numbers_and_accents() -> None:
    assert description_key("Energía eléctrica Octubre 2026") == description_key("ENERGIA ELECTRICA noviembre-2026")
    assert description_key("Arriendo local 101") != description_key("Arriendo bodega 101")


def _invoice(invoice_id: int, supplier: str, *descriptions: str) -> Invoice:
    lines = tuple(Line(invoice_id * 10 + i, i, d, "100.00", "1", "19") for i, d in enumerate(descriptions, 1))
    return Invoice(invoice_id, f"F{invoice_id}", "invoice", supplier, "Proveedor", date(2026, 11, 3), lines)


def test_waves_send_one_representative_per_signature_first() -> None:
    invoices = [
        _invoice(1, "900", "Energía octubre"),
        _invoice(2, "900", "Energía noviembre"),
        _invoice(3, "800", "Arriendo"),
        _invoice(4, "900", "Energía", "Reconexión"),
    ]
    first, rest = split_waves(invoices)
    assert [i.invoice_id for i in first] == [1, 3, 4]
    assert [i.invoice_id for i in rest] == [2]


def test_settings_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        Settings(invoices_per_request=0)
    with pytest.raises(ValueError):
        Settings(min_confidence=1.5)


def test_system_prompt_is_a_stable_cacheable_prefix() -> None:
    first = prompt.messages([{"id": "1", "description": "a"}])
    second = prompt.messages([{"id": "2", "description": "b"}], previous_errors=["item 2: x"])
    assert first[0] == second[0]  # byte-identical system message: DeepSeek's cache prefix
    assert "json" in first[0]["content"].lower()  # JSON mode requires the word
    assert "513530" in first[0]["content"] and "240810" not in first[0]["content"]
    payload = json.loads(second[-1]["content"])
    assert payload["items"][0]["id"] == "2" and payload["previous_errors"] == ["item 2: x"]


def test_batches_fill_the_held_slots_before_growing() -> None:
    settings = Settings(invoices_per_request=8, concurrency=4)
    assert batch_size(3, settings) == 1  # 3 requests in flight rather than 1
    assert batch_size(10, settings) == 3  # 4 requests of <= 3
    assert batch_size(100, settings) == 8  # plenty of work: the configured size
    assert batch_size(0, settings) == 1
