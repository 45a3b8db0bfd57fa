"""The pipeline's PostgreSQL plug-ins against the real simulator: shared rotation, the ledger, the CLI."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from deepseek_provider.exceptions import NoUsableKeyError
from deepseek_provider.hooks.deepseek import DeepSeekHook
from deepseek_provider.ledger import AttemptRecord

from quincena.cli import main as cli_main
from quincena.core import config, db
from quincena.deepseek.store import PostgresCallRecorder, PostgresKeyStore, pipeline_hook, row_of
from tests.fixtures.simulator import SIM_KEYS

NIT = "900373115"
MESSAGES = [{"role": "system", "content": "Clasifica en json."}, {"role": "user", "content": "hola"}]


@pytest.fixture
def company(clean_db: str) -> str:
    db.query_text(
        "INSERT INTO companies (nit, dv, name) VALUES (%s, 3, 'Ferretería El Tornillo SAS') RETURNING nit", (NIT,)
    )
    return NIT


def _rows(sql: str, params: Any = None) -> list[dict[str, Any]]:
    return db.query_text(sql, params)


def test_pick_is_least_used_and_skips_excluded(clean_db: str) -> None:
    store = PostgresKeyStore("deepseek_default")
    store.register(["a", "b", "c"])
    picks = [store.pick(["a", "b", "c"]) for _ in range(6)]
    assert picks == ["a", "b", "c", "a", "b", "c"]
    assert store.pick(["a", "b", "c"], exclude=["a"]) == "b"  # a is least used but was just tried
    assert store.pick(["a"], exclude=["a"]) == "a"  # the only key still serves
    store.disable("b", "HTTP 401")
    assert {store.pick(["a", "b", "c"]) for _ in range(4)} == {"a", "c"}
    status = store.statuses()["b"]
    assert not status.active and status.disabled_reason == "HTTP 401" and status.disabled_at is not None
    store.disable("a", "x")
    store.disable("c", "y")
    with pytest.raises(NoUsableKeyError):
        store.pick(["a", "b", "c"])


def test_concurrent_picks_are_atomic_and_even(clean_db: str) -> None:
    """Eight workers, each with its own store (its own connections, as separate processes would)."""
    names = ["k1", "k2", "k3", "k4", "k5"]
    PostgresKeyStore().register(names)
    picked: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        store = PostgresKeyStore()
        mine = [store.pick(names) for _ in range(50)]
        with lock:
            picked.extend(mine)

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(worker) for _ in range(8)]:
            future.result()
    counts = {n: picked.count(n) for n in names}
    assert sum(counts.values()) == 400
    assert max(counts.values()) / min(counts.values()) <= 1.2, counts
    stored = {r["name"]: r["picks"] for r in _rows("SELECT name, picks FROM api_keys")}
    assert stored == counts  # every pick counted exactly once: no lost update


def test_hooks_spread_evenly_with_postgres_store_and_threads(company: str, simulator, deepseek_conn) -> None:
    deepseek_conn()
    hook = pipeline_hook()
    context = {"company_nit": company, "cycle_id": "2026-11-Q1", "purpose": "classify"}

    def call(_: int) -> int:
        return hook.create_chat_completion(MESSAGES, context=context).attempts

    with ThreadPoolExecutor(8) as pool:
        attempts = list(pool.map(call, range(300)))
    per_key = simulator.settled_stats()["requests_per_key"]
    assert sum(per_key.values()) == sum(attempts) >= 300
    assert set(per_key) == set(SIM_KEYS)
    assert max(per_key.values()) / min(per_key.values()) <= 1.2, per_key
    ledger = {r["key_name"]: r["n"] for r in _rows("SELECT key_name, count(*) AS n FROM api_calls GROUP BY 1")}
    assert ledger == per_key  # one row per attempt the server saw
    row = _rows("SELECT * FROM api_calls LIMIT 1")[0]
    assert (row["company_nit"], row["cycle_id"], row["purpose"]) == (company, "2026-11-Q1", "classify")
    assert row["outcome"] == "ok" and row["cost_usd"] > 0 and row["price_version"]


def test_401_key_disabled_for_every_process_and_reenabled_by_cli(
    company: str, simulator, deepseek_conn, capsys: pytest.CaptureFixture[str]
) -> None:
    deepseek_conn()
    simulator.configure(revoked_keys=["sim-key-2"])
    first = pipeline_hook()
    for _ in range(10):
        first.create_chat_completion(MESSAGES)
    key = _rows("SELECT * FROM api_keys WHERE name = 'sim-key-2'")[0]
    assert key["status"] == "disabled" and key["disabled_at"] is not None and "401" in key["disabled_reason"]
    second = pipeline_hook()  # another task, another process: shares only the database
    for _ in range(20):
        assert second.create_chat_completion(MESSAGES).key_name != "sim-key-2"
    assert simulator.settled_stats()["requests_per_key"]["sim-key-2"] == 1

    assert cli_main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert "sim-key-2\tdeepseek_default\tdisabled" in listing and "HTTP 401" in listing
    # The accountant rotated the secret: re-enable; it rejoins level with the others, not starved or flooded.
    simulator.configure(revoked_keys=[])
    assert cli_main(["keys", "enable", "sim-key-2"]) == 0
    picks = {r["name"]: r["picks"] for r in _rows("SELECT name, picks FROM api_keys")}
    assert picks["sim-key-2"] == max(picks.values())
    used = {second.create_chat_completion(MESSAGES).key_name for _ in range(10)}
    assert "sim-key-2" in used
    assert cli_main(["keys", "enable", "no-such-key"]) == 2


def test_all_keys_revoked_is_a_clear_error(clean_db: str, simulator, deepseek_conn) -> None:
    deepseek_conn()
    simulator.configure(revoked_keys=list(SIM_KEYS))
    with pytest.raises(NoUsableKeyError) as caught:
        pipeline_hook().create_chat_completion(MESSAGES)
    assert "disabled" in str(caught.value)
    assert simulator.settled_stats()["requests_per_key"] == dict.fromkeys(SIM_KEYS, 1)  # each key tried once, no more
    assert _rows("SELECT count(*) AS n FROM api_keys WHERE status = 'disabled'")[0]["n"] == len(SIM_KEYS)


def test_recorder_is_idempotent_and_maps_context(company: str) -> None:
    from datetime import UTC, datetime
    from uuid import uuid4

    record = AttemptRecord(
        attempt_id=uuid4(),
        call_id=uuid4(),
        attempt_no=1,
        started_at=datetime(2026, 11, 3, 14, 0, tzinfo=UTC),
        key_name="sim-key-1",
        model="deepseek-v4-flash",
        outcome="rate_limited",
        status_code=429,
        error_class="RateLimitedError",
        latency_ms=12,
        context={"company_nit": company, "cycle_id": "2026-11-Q1", "purpose": "classify", "batch": 7},
    )
    recorder = PostgresCallRecorder()
    recorder.record(record)
    recorder.record(record)  # a retried write of the same attempt
    rows = _rows("SELECT * FROM api_calls")
    assert len(rows) == 1
    assert rows[0]["company_nit"] == company and rows[0]["status_code"] == 429 and rows[0]["cost_usd"] == 0
    assert "batch" not in row_of(record)


def test_no_secret_in_any_api_calls_row(company: str, simulator, deepseek_conn, caplog, capfd) -> None:
    deepseek_conn()
    simulator.configure(revoked_keys=["sim-key-4"], rate_429=0.3, rate_500=0.1)
    hook = pipeline_hook()
    for _ in range(30):
        hook.create_chat_completion(MESSAGES, context={"company_nit": company})
    rows = json.dumps(_rows("SELECT * FROM api_calls") + _rows("SELECT * FROM api_keys"), default=str)
    captured = capfd.readouterr()
    haystack = rows + caplog.text + captured.out + captured.err
    assert "sim-key-4" in rows and "rate_limited" in rows  # we looked at the right rows
    for secret in SIM_KEYS.values():
        assert secret not in haystack


def test_pipeline_hook_wiring(clean_db: str, deepseek_conn) -> None:
    deepseek_conn()
    hook = pipeline_hook()
    assert isinstance(hook, DeepSeekHook)
    assert isinstance(hook.key_store, PostgresKeyStore) and isinstance(hook.recorder, PostgresCallRecorder)
    shipped = json.loads((config.include_dir() / "prices.json").read_text())
    flash = shipped["models"]["deepseek-v4-flash"][0]
    from datetime import UTC, datetime

    cost, version = hook.price_table.cost("deepseek-v4-flash", 0, 1_000_000, 0, datetime(2026, 3, 1, tzinfo=UTC))
    assert cost == Decimal(flash["cache_miss"]) and version == flash["version"]
