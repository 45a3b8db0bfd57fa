"""The PUC catalog shipped in include/puc/catalog.csv."""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass

from quincena.core import config, db


@dataclass(frozen=True)
class Account:
    code: str
    name: str
    level: str
    parent: str | None
    purchase_target: bool


@functools.cache
def catalog() -> tuple[Account, ...]:
    path = config.include_dir() / "puc" / "catalog.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(
            Account(
                code=row["code"],
                name=row["name"],
                level=row["level"],
                parent=row["parent"] or None,
                purchase_target=row["purchase_target"] == "true",
            )
            for row in csv.DictReader(handle)
        )


def purchase_accounts() -> dict[str, Account]:
    """Sub-accounts a purchase line may be debited to: the only valid classification answers."""
    return {a.code: a for a in catalog() if a.purchase_target and a.level == "subaccount"}


def sync_to_db() -> int:
    """Upsert the catalog into puc_accounts (parents first, so the FK holds)."""
    rows = [
        {
            "code": a.code,
            "name": a.name,
            "level": a.level,
            "parent": a.parent,
            "purchase_target": a.purchase_target,
        }
        for a in sorted(catalog(), key=lambda a: len(a.code))
    ]
    with db.transaction() as cur:
        db.execute_many("puc_upsert", rows, cur)
    return len(rows)
