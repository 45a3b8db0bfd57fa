"""The concept table (include/sample/concepts.json): purchase concepts, their items and the PUC
sub-account an accountant would expect for each, plus the withholding rules and the UVT."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from quincena.core import config


@dataclass(frozen=True)
class ItemSpec:
    description: str
    unit: str
    price: tuple[int, int]
    quantity: tuple[int, int]
    tax: str  # iva19 | iva5 | iva0 | excluded | inc8
    quantity_decimals: int


@dataclass(frozen=True)
class Concept:
    id: str
    expected_account: str
    label: str
    withholding: str
    frequency: int
    items_per_supplier: tuple[int, int]
    suppliers: tuple[str, ...]
    items: tuple[ItemSpec, ...]


@functools.cache
def concept_file() -> dict[str, Any]:
    path = config.include_dir() / "sample" / "concepts.json"
    return json.loads(path.read_text(encoding="utf-8"))


def load_concepts() -> tuple[Concept, ...]:
    """The purchase concepts with the PUC sub-account an accountant would expect."""
    return tuple(
        Concept(
            id=c["id"],
            expected_account=c["expected_account"],
            label=c["label"],
            withholding=c["withholding"],
            frequency=c["frequency"],
            items_per_supplier=tuple(c["items_per_supplier"]),
            suppliers=tuple(c["suppliers"]),
            items=tuple(
                ItemSpec(
                    description=i["description"],
                    unit=i["unit"],
                    price=tuple(i["price"]),
                    quantity=tuple(i["quantity"]),
                    tax=i["tax"],
                    quantity_decimals=i["quantity_decimals"],
                )
                for i in c["items"]
            ),
        )
        for c in concept_file()["concepts"]
    )


def expected_account_by_description() -> dict[str, str]:
    """Line description → expected PUC sub-account, for every description the generator can write."""
    return {item.description: c.expected_account for c in load_concepts() for item in c.items}


@functools.cache
def _accounts() -> dict[str, str]:
    return {c.id: c.expected_account for c in load_concepts()}


def expected_account(concept_id: str) -> str:
    return _accounts()[concept_id]
