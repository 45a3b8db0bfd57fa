"""DeepSeekHook against the running simulator: rotation, the retry policy, deadlines, ledger, cost."""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from deepseek_provider.exceptions import (
    AttemptTimeoutError,
    BadRequestError,
    DeadlineExceededError,
    InsufficientBalanceError,
    NoUsableKeyError,
    RateLimitedError,
    TransportError,
    UnknownModelError,
)
from deepseek_provider.hooks.deepseek import ChatResult, DeepSeekHook
from deepseek_provider.keystore import InMemoryKeyStore
from deepseek_provider.ledger import InMemoryCallRecorder

from tests.fixtures.simulator import SIM_KEYS

JSON = {"type": "json_object"}
ITEMS = {"items": [{"id": "L1", "description": "Arriendo local comercial noviembre", "supplier_name": "Inmobiliaria"}]}
MESSAGES = [
    {"role": "system", "content": "Eres contador colombiano. Responde en json con el código PUC."},
    {"role": "user", "content": json.dumps(ITEMS, ensure_ascii=False)},
]


def _hook(**kwargs) -> DeepSeekHook:
    return DeepSeekHook(recorder=InMemoryCallRecorder(), **kwargs)


def _outcomes(hook: DeepSeekHook) -> list[str]:
    return [r.outcome for r in hook.recorder.records]


def _served(simulator) -> int:
    return sum(simulator.settled_stats()["requests_per_key"].values())


# -- the happy path and the result ----------------------------------------------------------------
def test_classification_answer_and_usage(simulator, deepseek_conn) -> None:
    deepseek_conn()
    hook = _hook()
    result = hook.create_chat_completion(MESSAGES, response_format=JSON, context={"purpose": "classify"})
    assert isinstance(result, ChatResult)
    assert result.parsed == {"classifications": [{"id": "L1", "account": "512010", "confidence": 0.92}]}
    assert result.finish_reason == "stop" and result.attempts == 1 and result.model == "deepseek-v4-flash"
    usage = result.usage
    assert usage.prompt_tokens == usage.prompt_cache_hit_tokens + usage.prompt_cache_miss_tokens > 0
    assert usage.completion_tokens > 0 and result.key_name in SIM_KEYS
    (record,) = hook.recorder.records
    assert record.call_id == result.call_id and record.key_name == result.key_name and record.outcome == "ok"
    assert record.context == {"purpose": "classify"} and record.started_at.tzinfo is not None
    assert record.cost_usd == result.cost_usd > 0


# -- rotation ------------------------------------------------------------------------------------
def test_even_spread_over_keys_with_threads(simulator, deepseek_conn) -> None:
    deepseek_conn()
    hook = _hook()
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: hook.create_chat_completion(MESSAGES), range(300)))
    per_key = simulator.settled_stats()["requests_per_key"]
    assert sum(r.attempts for r in results) == sum(per_key.values()) == len(hook.recorder.records)
    assert set(per_key) == set(SIM_KEYS)
    assert max(per_key.values()) / min(per_key.values()) <= 1.2, per_key


def test_401_key_disabled_and_skipped_by_hooks_sharing_the_store(simulator, deepseek_conn, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    deepseek_conn()
    simulator.configure(revoked_keys=["sim-key-3"])
    store = InMemoryKeyStore()
    first, second = _hook(key_store=store), _hook(key_store=store)
    results = [first.create_chat_completion(MESSAGES) for _ in range(5)]
    assert sum(r.attempts for r in results) == 6  # one extra attempt, right after the 401, on another key
    status = store.statuses()["sim-key-3"]
    assert not status.active and "401" in (status.disabled_reason or "") and status.disabled_at is not None
    # The 401 body echoes the key masked ("****" and its last characters): no fragment is stored or logged.
    tail = SIM_KEYS["sim-key-3"][-4:]
    assert "****" not in status.disabled_reason and tail not in status.disabled_reason, status.disabled_reason
    assert "****" not in caplog.text and tail not in caplog.text
    assert "auth_failed" in _outcomes(first)
    for _ in range(20):
        assert second.create_chat_completion(MESSAGES).key_name != "sim-key-3"
    assert simulator.settled_stats()["requests_per_key"]["sim-key-3"] == 1


def test_no_usable_key_when_every_key_is_revoked(simulator, deepseek_conn) -> None:
    deepseek_conn()
    simulator.configure(revoked_keys=list(SIM_KEYS))
    hook = _hook()
    with pytest.raises(NoUsableKeyError):
        hook.create_chat_completion(MESSAGES)
    assert simulator.settled_stats()["requests_per_key"] == dict.fromkeys(SIM_KEYS, 1)
    assert _outcomes(hook) == ["auth_failed"] * len(SIM_KEYS)


# -- the retry policy ----------------------------------------------------------------------------
def test_402_stops_at_once_without_further_calls(simulator, deepseek_conn) -> None:
    deepseek_conn()
    hook = _hook()
    hook.create_chat_completion(MESSAGES)
    simulator.configure(spend_limit_usd=simulator.settled_stats()["spend_usd"])  # the account is now exhausted
    started = time.monotonic()
    with pytest.raises(InsufficientBalanceError) as caught:
        hook.create_chat_completion(MESSAGES)
    assert time.monotonic() - started < 1.0
    assert caught.value.status_code == 402
    assert _served(simulator) == 2 and _outcomes(hook) == ["ok", "insufficient_balance"]
    simulator.topup("1.00")  # resumable after a top-up
    assert hook.create_chat_completion(MESSAGES).attempts == 1


def test_429_storm_has_no_failed_calls(simulator, deepseek_conn) -> None:
    deepseek_conn()
    simulator.configure(rate_429=0.3)
    hook = _hook()
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: hook.create_chat_completion(MESSAGES, response_format=JSON), range(150)))
    assert all(r.parsed["classifications"][0]["account"] == "512010" for r in results)
    stats = simulator.settled_stats()
    assert stats["status_counts"]["429"] >= 25  # the storm really happened
    assert stats["status_counts"]["200"] == 150
    assert _outcomes(hook).count("rate_limited") == stats["status_counts"]["429"]
    assert len(hook.recorder.records) == sum(stats["requests_per_key"].values())  # one record per attempt


def test_server_errors_are_retried_on_another_key(simulator, deepseek_conn) -> None:
    deepseek_conn()
    simulator.configure(script=["500", "503"])
    hook = _hook()
    result = hook.create_chat_completion(MESSAGES)
    records = hook.recorder.records
    assert result.attempts == 3 and [r.status_code for r in records] == [500, 503, 200]
    assert len({r.key_name for r in records}) == 3  # every attempt rotates to another key


def test_blank_json_content_is_retried(simulator, deepseek_conn) -> None:
    deepseek_conn()
    simulator.configure(script=["blank"])
    hook = _hook()
    result = hook.create_chat_completion(MESSAGES, response_format=JSON)
    assert result.attempts == 2 and result.parsed["classifications"][0]["account"] == "512010"
    blank, ok = hook.recorder.records
    assert (blank.outcome, blank.status_code, blank.error_class) == ("bad_content", 200, "BadContentError")
    assert blank.completion_tokens > 0 and blank.cost_usd > 0  # a blank answer is billed all the same
    assert result.cost_usd == blank.cost_usd + ok.cost_usd


def test_truncated_json_is_retried(simulator, deepseek_conn) -> None:
    deepseek_conn()
    simulator.configure(script=["truncated"])
    hook = _hook()
    result = hook.create_chat_completion(MESSAGES, response_format=JSON)
    assert result.attempts == 2 and _outcomes(hook) == ["bad_content", "ok"]
    assert json.loads(result.content) == result.parsed


def test_plain_text_is_accepted_when_json_is_not_expected(simulator, deepseek_conn) -> None:
    deepseek_conn()
    simulator.configure(script=["truncated"])  # not JSON, but text was asked for
    hook = _hook()
    result = hook.create_chat_completion(MESSAGES)
    assert result.attempts == 1 and result.finish_reason == "length" and result.parsed is None


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [({"messages": [{"role": "wizard", "content": "hola"}]}, 400), ({"temperature": 5.0}, 422)],
)
def test_bad_request_is_not_retried(simulator, deepseek_conn, kwargs, status) -> None:
    deepseek_conn()
    hook = _hook()
    with pytest.raises(BadRequestError) as caught:
        hook.create_chat_completion(**{"messages": MESSAGES, **kwargs})
    assert caught.value.status_code == status
    assert _served(simulator) == 1 and _outcomes(hook) == ["bad_request"]


def test_retry_after_is_honoured(simulator, deepseek_conn) -> None:
    deepseek_conn()  # backoff_max 0.05 s: any wait near 0.6 s comes from the header
    simulator.configure(script=["429"], retry_after_s=0.6)
    started = time.monotonic()
    result = _hook().create_chat_completion(MESSAGES)
    elapsed = time.monotonic() - started
    assert result.attempts == 2 and 0.6 <= elapsed < 1.5

    simulator.configure(script=["429"], retry_after_s=None)
    started = time.monotonic()
    _hook().create_chat_completion(MESSAGES)
    assert time.monotonic() - started < 0.4  # without the header: jittered backoff only


def test_retry_after_beyond_the_deadline_gives_up_at_once(simulator, deepseek_conn) -> None:
    deepseek_conn(deadline=1)
    simulator.configure(script=["429"], retry_after_s=30)
    started = time.monotonic()
    with pytest.raises(DeadlineExceededError) as caught:
        _hook().create_chat_completion(MESSAGES)
    assert time.monotonic() - started < 0.5  # no point sleeping past the deadline
    assert isinstance(caught.value.last_error, RateLimitedError)


# -- timeouts that really fire --------------------------------------------------------------------
def test_keepalive_blank_lines_before_the_body_are_parsed(simulator, deepseek_conn) -> None:
    deepseek_conn()
    simulator.configure(latency_ms=250, latency_sd_ms=0)  # held: blank lines every 20 ms, then JSON
    result = _hook().create_chat_completion(MESSAGES, response_format=JSON)
    assert result.attempts == 1 and result.parsed["classifications"][0]["account"] == "512010"
    assert simulator.settled_stats()["keepalive_lines"] >= 5


def test_attempt_timeout_fires_while_blank_lines_keep_coming(simulator, deepseek_conn) -> None:
    deepseek_conn(timeout=0.4)
    simulator.configure(script=["never_start"])
    hook = _hook()
    started = time.monotonic()
    result = hook.create_chat_completion(MESSAGES)
    elapsed = time.monotonic() - started
    assert result.attempts == 2 and 0.4 <= elapsed < 1.0
    timeout, _ = hook.recorder.records
    assert (timeout.outcome, timeout.error_class) == ("timeout", "AttemptTimeoutError")
    assert 380 <= timeout.latency_ms < 700


@pytest.mark.parametrize("keepalive_s", [0.02, 30.0], ids=["blank-lines", "silent"])
def test_never_starting_request_is_abandoned_at_the_deadline(simulator, deepseek_conn, keepalive_s) -> None:
    deepseek_conn(timeout=0.5, deadline=1.2, read_timeout=10)
    simulator.configure(rate_never_start=1.0, keepalive_interval_s=keepalive_s)
    hook = _hook()
    started = time.monotonic()
    with pytest.raises(DeadlineExceededError) as caught:
        hook.create_chat_completion(MESSAGES)
    elapsed = time.monotonic() - started
    assert 1.1 <= elapsed < 1.5, elapsed  # the deadline, not a read timeout, ends the call
    assert isinstance(caught.value.last_error, AttemptTimeoutError)
    assert set(_outcomes(hook)) == {"timeout"} and caught.value.attempts == len(hook.recorder.records) >= 2


def test_connection_refused_is_a_transport_error_bounded_by_the_deadline(deepseek_conn, monkeypatch) -> None:
    conn_id = deepseek_conn(deadline=0.5)
    conn = json.loads(__import__("os").environ[f"AIRFLOW_CONN_{conn_id.upper()}"])
    conn["host"] = "http://127.0.0.1:9"  # discard port: nothing listens
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    hook = _hook()
    with pytest.raises(DeadlineExceededError) as caught:
        hook.create_chat_completion(MESSAGES)
    assert isinstance(caught.value.last_error, TransportError)
    assert set(_outcomes(hook)) == {"connection_error"}


# -- cost -----------------------------------------------------------------------------------------
def test_cost_is_tokens_times_configured_prices(simulator, deepseek_conn, tmp_path: Path) -> None:
    table = {
        "models": {
            "deepseek-v4-flash": [
                {"valid_from": "2026-01-01T00:00:00Z", "version": "test-1",
                 "cache_hit": "0.5", "cache_miss": "2", "output": "8"},
            ]
        }
    }  # fmt: skip
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(table))
    deepseek_conn(price_table=str(path))
    hook = _hook()
    system = {"role": "system", "content": "s" * (256 * 4 - len("system: "))}  # exactly 4 cache units of 256 chars
    first = hook.create_chat_completion([system, {"role": "user", "content": "a" * 100}])
    second = hook.create_chat_completion([system, {"role": "user", "content": "b" * 100}])
    assert first.usage.prompt_cache_hit_tokens == 0
    assert second.usage.prompt_cache_hit_tokens == 256  # the shared system prompt, in whole 64-token units
    for result in (first, second):
        u = result.usage
        expected = (
            Decimal(u.prompt_cache_hit_tokens) * Decimal("0.5")
            + Decimal(u.prompt_cache_miss_tokens) * Decimal("2")
            + Decimal(u.completion_tokens) * Decimal("8")
        ) / Decimal(1_000_000)
        assert result.cost_usd == expected and result.price_version == "test-1"
    # by hand: 256 hit + 27 miss prompt tokens, 15 output tokens: (256 × 0.5 + 27 × 2 + 15 × 8) / 1M
    assert (second.usage.prompt_cache_miss_tokens, second.usage.completion_tokens) == (27, 15)
    assert second.cost_usd == Decimal("0.000302")


def test_unknown_model_fails_before_spending(simulator, deepseek_conn) -> None:
    deepseek_conn()
    with pytest.raises(UnknownModelError):
        _hook().create_chat_completion(MESSAGES, model="deepseek-v9-ultra")
    assert simulator.settled_stats()["requests"] == 0


def test_include_price_table_lists_the_providers_models() -> None:
    # The table's own rules are tested with the provider (providers/deepseek/tests/test_provider_pricing.py).
    shipped = Path(__file__).resolve().parents[2] / "include" / "prices.json"
    assert (
        json.loads(shipped.read_text())["models"].keys()
        == json.loads((Path(__import__("deepseek_provider").__file__).parent / "prices.json").read_text())[
            "models"
        ].keys()
    )


# -- secrets --------------------------------------------------------------------------------------
def test_secrets_never_reach_logs_or_errors(simulator, deepseek_conn, caplog, capfd) -> None:
    keys = {**SIM_KEYS, "stale-key": "sk-stale-not-on-the-server-0123456789abcdef"}
    deepseek_conn(keys=keys, timeout=0.3)
    simulator.configure(revoked_keys=["sim-key-2"], script=["500", "blank", "never_start", "429"])
    caplog.set_level(logging.DEBUG)
    hook = _hook()
    errors = []
    for _ in range(8):
        hook.create_chat_completion(MESSAGES, response_format=JSON)
    with pytest.raises(BadRequestError) as caught:
        hook.create_chat_completion(MESSAGES, temperature=9)
    errors.append(caught.value)
    captured = capfd.readouterr()
    haystack = caplog.text + captured.out + captured.err + " ".join(repr(e) + str(e) for e in errors)
    haystack += " ".join(repr(r) for r in hook.recorder.records)
    assert "auth_failed" in haystack and "stale-key" in haystack  # the names show, the secrets never
    for secret in keys.values():
        assert secret not in haystack
    from airflow.sdk._shared.secrets_masker import redact

    assert keys["sim-key-1"] not in redact(f"Authorization: Bearer {keys['sim-key-1']}")  # masked for Airflow logs


# -- connection, balance, provider ---------------------------------------------------------------
def test_connection_forms(monkeypatch, simulator) -> None:
    extra = json.dumps({"api_keys": json.dumps({"a": "sk-aaaaaaaaaaaa"}), "model": "deepseek-v4-pro", "deadline": "30"})
    monkeypatch.setenv("AIRFLOW_CONN_DS_TEXT", json.dumps({"conn_type": "deepseek", "extra": extra}))
    hook = DeepSeekHook("ds_text")
    assert hook.key_names == ["a"]
    assert (hook.settings.base_url, hook.settings.model, hook.settings.deadline) == (
        "https://api.deepseek.com",
        "deepseek-v4-pro",
        30.0,
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_DS_PASSWORD",
        json.dumps({"conn_type": "deepseek", "host": "api.example.test/", "password": "sk-single-key-123456"}),
    )
    hook = DeepSeekHook("ds_password")
    assert hook.key_names == ["ds_password"] and hook.settings.base_url == "https://api.example.test"
    monkeypatch.setenv("AIRFLOW_CONN_DS_NONE", json.dumps({"conn_type": "deepseek"}))
    with pytest.raises(NoUsableKeyError):
        DeepSeekHook("ds_none").create_chat_completion(MESSAGES)


def test_get_balance(simulator, deepseek_conn) -> None:
    deepseek_conn()
    simulator.configure(spend_limit_usd="5")
    hook = _hook()
    hook.create_chat_completion(MESSAGES)
    balance = hook.get_balance()
    (info,) = balance.balance_infos
    assert balance.is_available and info.currency == "USD" and info.total_balance == Decimal("5.00")
    simulator.topup("2.50")
    assert hook.get_balance().balance_infos[0].total_balance == Decimal("7.50")
    simulator.configure(spend_limit_usd="0")
    assert not hook.get_balance().is_available  # an exhausted account can still read its balance
    assert hook.test_connection()[0]
    assert len(hook.recorder.records) == 1  # balance requests are not completions: not in the ledger


def test_provider_registers_the_connection_form() -> None:
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    hook_info = ProvidersManagerTaskRuntime().hooks["deepseek"]
    assert hook_info.hook_class_name == "deepseek_provider.hooks.deepseek.DeepSeekHook"
    assert hook_info.connection_testable  # the UI's Test button calls get_balance
    manager = ProvidersManager()  # the UI form metadata lives in core's manager
    behaviour = manager.field_behaviours["deepseek"]
    assert behaviour["relabeling"]["host"] == "Base URL" and "login" in behaviour["hidden_fields"]
    assert {"extra__deepseek__api_keys", "extra__deepseek__deadline", "extra__deepseek__price_table"} <= set(
        manager.connection_form_widgets
    )
    assert manager.connection_form_widgets["extra__deepseek__api_keys"].is_sensitive


def test_hook_module_still_exports_the_public_names() -> None:
    from deepseek_provider import connection, models
    from deepseek_provider.hooks import deepseek

    for name in ("ChatResult", "Balance", "BalanceInfo", "Usage"):
        assert getattr(deepseek, name) is getattr(models, name)
    assert deepseek.HookSettings is connection.HookSettings
