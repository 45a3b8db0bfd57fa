"""One price table for billing, the weekly report and reconciliation: QUINCENA_PRICE_TABLE, else
include/prices.json, else the provider's shipped table."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from quincena.core import config, db
from quincena.deepseek import prices
from quincena.deepseek.store import pipeline_hook

NIT = "900373115"
MESSAGES = [{"role": "system", "content": "Clasifica en json."}, {"role": "user", "content": "hola"}]
# Flat, deliberately odd prices no real table has, under a version name only this test uses.
OVERRIDE = {
    "unit_tokens": 1000,
    "aliases": {"deepseek-chat": "deepseek-v4-flash", "deepseek-reasoner": "deepseek-v4-flash"},
    "models": {
        "deepseek-v4-flash": [
            {"valid_from": "2020-01-01T00:00:00Z", "version": "test-override",
             "cache_hit": "0.0007", "cache_miss": "0.0011", "output": "0.0013"}
        ]
    },
}  # fmt: skip


def _write(folder: Path) -> Path:
    path = folder / "override-prices.json"
    path.write_text(json.dumps(OVERRIDE), encoding="utf-8")
    return path


def test_path_resolution_order(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("QUINCENA_PRICE_TABLE", raising=False)
    assert prices.table_path() == config.include_dir() / "prices.json"
    monkeypatch.setenv("QUINCENA_PRICE_TABLE", str(_write(tmp_path)))
    assert prices.table_path() == tmp_path / "override-prices.json"
    table, unit = prices.load_with_unit()
    assert unit == 1000 and table.resolve("deepseek-chat") == "deepseek-v4-flash"
    monkeypatch.delenv("QUINCENA_PRICE_TABLE")
    monkeypatch.setenv("QUINCENA_HOME", str(tmp_path))  # no include/prices.json there: the provider's table
    assert prices.table_path() is None
    assert prices.load().resolve("deepseek-chat")


def test_billing_honours_quincena_price_table(clean_db, simulator, deepseek_conn, tmp_path, monkeypatch) -> None:
    db.query_text("INSERT INTO companies (nit, dv, name) VALUES (%s, 3, 'Ferretería El Tornillo SAS')", (NIT,))
    monkeypatch.setenv("QUINCENA_PRICE_TABLE", str(_write(tmp_path)))
    deepseek_conn()
    hook = pipeline_hook()
    hook.create_chat_completion(MESSAGES, context={"company_nit": NIT, "cycle_id": "2026-11-Q1", "purpose": "t"})
    (row,) = db.query_text("SELECT * FROM api_calls WHERE outcome = 'ok'")
    assert row["price_version"] == "test-override"
    tokens = row["prompt_cache_hit_tokens"] + row["prompt_cache_miss_tokens"] + row["completion_tokens"]
    assert tokens > 0
    expected = (
        row["prompt_cache_hit_tokens"] * Decimal("0.0007")
        + row["prompt_cache_miss_tokens"] * Decimal("0.0011")
        + row["completion_tokens"] * Decimal("0.0013")
    ) / 1000
    assert row["cost_usd"] == expected.quantize(Decimal("0.00000001"))
