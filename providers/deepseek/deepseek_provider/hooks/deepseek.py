"""DeepSeekHook: chat completions over one account's keys, with rotation, retries and a cost ledger.

One instance may be used by many threads at once (a task classifying several batches in parallel):
the HTTP session's pool is sized by the ``pool_size`` option, the key store and recorder are
thread-safe, and per-call state lives on the stack.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from airflow.sdk import BaseHook

from deepseek_provider.connection import DEFAULT_BASE_URL, HookSettings, secrets_of, settings_of
from deepseek_provider.exceptions import AuthenticationError, DeepSeekError
from deepseek_provider.http import exchange, new_session
from deepseek_provider.keystore import InMemoryKeyStore, KeyStore
from deepseek_provider.ledger import IN_FLIGHT, AttemptRecord, CallRecorder, InMemoryCallRecorder
from deepseek_provider.models import Balance, BalanceInfo, ChatResult, Usage
from deepseek_provider.pricing import PriceTable
from deepseek_provider.redact import clip
from deepseek_provider.responses import (
    Answer,
    decode_content,
    parse_answer,
    parse_balance,
    raise_for_status,
    request_body,
)
from deepseek_provider.retry import Backoff, call_with_retries

try:  # the task SDK's masker also tells the supervisor process, whose log output must hide keys too
    from airflow.sdk.log import mask_secret
except ImportError:  # pragma: no cover - older SDKs
    from airflow.sdk.execution_time.secrets_masker import mask_secret  # type: ignore[no-redef]

log = logging.getLogger(__name__)

# Callers import these from here; they live in the modules named above.
__all__ = ["DEFAULT_BASE_URL", "Balance", "BalanceInfo", "ChatResult", "DeepSeekHook", "HookSettings", "Usage"]


@dataclass
class _Loaded:
    settings: HookSettings
    secrets: dict[str, str]  # key name -> secret; never logged, never recorded
    prices: PriceTable
    session: requests.Session


@dataclass
class _CallState:
    """What one logical call has seen so far (lives on the calling thread's stack)."""

    call_id: uuid.UUID
    attempts: int = 0
    last_key: str | None = None
    cost: Decimal = field(default_factory=lambda: Decimal(0))


class DeepSeekHook(BaseHook):
    """Talk to DeepSeek through connection ``deepseek_conn_id``.

    :param deepseek_conn_id: Airflow connection (type ``deepseek``).
    :param key_store: shared rotation/health state; in memory by default (one process).
    :param recorder: write-ahead ledger: ``begin`` (in_flight) before each HTTP attempt, ``finish`` after it;
        in memory by default.
    :param price_table: a PriceTable or the path of a JSON table; else the connection's
        ``price_table`` extra; else the table shipped with the provider.
    """

    conn_name_attr = "deepseek_conn_id"
    default_conn_name = "deepseek_default"
    conn_type = "deepseek"
    hook_name = "DeepSeek"

    def __init__(
        self,
        deepseek_conn_id: str = default_conn_name,
        key_store: KeyStore | None = None,
        recorder: CallRecorder | None = None,
        price_table: PriceTable | str | Path | None = None,
    ) -> None:
        super().__init__()
        self.deepseek_conn_id = deepseek_conn_id
        self.key_store: KeyStore = key_store if key_store is not None else InMemoryKeyStore()
        self.recorder: CallRecorder = recorder if recorder is not None else InMemoryCallRecorder()
        self._price_table_arg = price_table
        self._load_lock = threading.Lock()
        self._loaded: _Loaded | None = None

    # -- connection ----------------------------------------------------------------------
    def _load(self) -> _Loaded:
        # Lazily, once per instance: constructing a hook must not touch the connection (DAG parsing).
        with self._load_lock:
            if self._loaded is None:
                conn = self.get_connection(self.deepseek_conn_id)
                secrets = secrets_of(conn, self.deepseek_conn_id)
                for secret in secrets.values():
                    mask_secret(secret)
                settings = settings_of(conn)
                self.key_store.register(sorted(secrets))
                self._loaded = _Loaded(settings, secrets, self._prices(settings), new_session(settings.pool_size))
            return self._loaded

    def _prices(self, settings: HookSettings) -> PriceTable:
        chosen = self._price_table_arg
        if isinstance(chosen, PriceTable):
            return chosen
        if chosen is not None:
            return PriceTable.from_file(chosen)
        if settings.price_table:
            return PriceTable.from_file(settings.price_table)
        return PriceTable.default()

    def get_conn(self) -> requests.Session:
        return self._load().session

    @property
    def settings(self) -> HookSettings:
        return self._load().settings

    @property
    def key_names(self) -> list[str]:
        return sorted(self._load().secrets)

    @property
    def price_table(self) -> PriceTable:
        return self._load().prices

    def test_connection(self) -> tuple[bool, str]:
        """The UI's Test button: one balance request."""
        try:
            balance = self.get_balance(deadline=30)
        except DeepSeekError as exc:
            return False, f"{type(exc).__name__}: {exc}"
        return True, f"available={balance.is_available}"

    # -- chat completions ----------------------------------------------------------------
    def create_chat_completion(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        response_format: Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        context: Mapping[str, Any] | None = None,
        deadline: float | None = None,
        expect_json: bool | None = None,
    ) -> ChatResult:
        """One chat completion, retried per the policy in deepseek_provider.retry until ``deadline``.

        ``context`` (e.g. company_nit, cycle_id, purpose) is passed unchanged to every AttemptRecord.
        Raises InsufficientBalanceError (402), BadRequestError (400/422), NoUsableKeyError,
        DeadlineExceededError; never returns blank or (when JSON is expected) unparsable content.
        """
        loaded = self._load()
        model = model or loaded.settings.model
        loaded.prices.entry(model, datetime.now(UTC))  # an unpriced model fails before any spending
        if expect_json is None:
            expect_json = bool(response_format and response_format.get("type") == "json_object")
        body = request_body(messages, model, response_format, max_tokens, temperature)
        state = _CallState(call_id=uuid.uuid4())
        budget = loaded.settings.deadline if deadline is None else deadline
        deadline_at = time.monotonic() + budget
        context = dict(context or {})

        def attempt() -> ChatResult:
            return self._chat_attempt(loaded, state, body, model, bool(expect_json), deadline_at, context)

        backoff = Backoff(loaded.settings.backoff_base, loaded.settings.backoff_max)
        return call_with_retries(
            attempt, deadline_at=deadline_at, backoff=backoff, label=f"DeepSeek call {state.call_id}"
        )

    def _pick(self, loaded: _Loaded, state: _CallState) -> str:
        exclude = (state.last_key,) if state.last_key else ()
        key = self.key_store.pick(list(loaded.secrets), exclude=exclude)
        state.last_key = key
        state.attempts += 1
        return key

    def _chat_attempt(
        self,
        loaded: _Loaded,
        state: _CallState,
        body: dict[str, Any],
        model: str,
        expect_json: bool,
        deadline_at: float,
        context: dict[str, Any],
    ) -> ChatResult:
        key = self._pick(loaded, state)
        started_at = datetime.now(UTC)
        ahead = AttemptRecord(
            attempt_id=uuid.uuid4(),
            call_id=state.call_id,
            attempt_no=state.attempts,
            started_at=started_at,
            key_name=key,
            model=model,
            outcome=IN_FLIGHT,
            status_code=None,
            error_class=None,
            latency_ms=0,
            context=context,
        )
        self._ledger("begin", ahead)  # before the request: a worker killed mid-attempt leaves this row
        clock = time.monotonic()
        status: int | None = None
        answer: Answer | None = None
        parsed: Any = None
        error: DeepSeekError | None = None
        try:
            status, headers, raw = self._http(loaded, key, "POST", "/chat/completions", body, deadline_at)
            raise_for_status(status, headers, raw, key, loaded.secrets)
            answer = parse_answer(raw, model, key)
            parsed = decode_content(answer, expect_json, key)
        except DeepSeekError as exc:
            error = exc  # recorded below; `answer` stays set when a billed answer was unusable
        latency_ms = int((time.monotonic() - clock) * 1000)
        usage = answer.usage if answer else Usage()
        cost, version = loaded.prices.cost(
            model, usage.prompt_cache_hit_tokens, usage.prompt_cache_miss_tokens, usage.completion_tokens, started_at
        )
        state.cost += cost
        if isinstance(error, AuthenticationError):
            # Before recording/retrying, so no other worker picks this key again.
            self.key_store.disable(key, clip(f"HTTP 401 at {started_at.isoformat()}: {error}", loaded.secrets.values()))
        self._ledger(
            "finish",
            replace(
                ahead,
                outcome=error.outcome if error else "ok",
                status_code=status,
                error_class=type(error).__name__ if error else None,
                latency_ms=latency_ms,
                prompt_cache_hit_tokens=usage.prompt_cache_hit_tokens,
                prompt_cache_miss_tokens=usage.prompt_cache_miss_tokens,
                completion_tokens=usage.completion_tokens,
                reasoning_tokens=usage.reasoning_tokens,
                cost_usd=cost,
                price_version=version,
            ),
        )
        outcome = error.outcome if error else "ok"
        log.debug(
            "DeepSeek call %s attempt %d key %s: %s in %d ms", state.call_id, state.attempts, key, outcome, latency_ms
        )
        if error is not None:
            raise error
        assert answer is not None
        return ChatResult(
            content=answer.content,
            parsed=parsed,
            finish_reason=answer.finish_reason,
            usage=usage,
            key_name=key,
            attempts=state.attempts,
            cost_usd=state.cost,
            call_id=state.call_id,
            model=model,
            price_version=version,
        )

    def _ledger(self, step: str, attempt: AttemptRecord) -> None:
        # A ledger failure must not turn a good answer into a retry that is billed again (finish), nor
        # stop a call (begin: finish still inserts the whole row). It is logged loudly instead.
        try:
            getattr(self.recorder, step)(attempt)
        except Exception:
            log.exception("could not %s DeepSeek attempt %s of call %s", step, attempt.attempt_id, attempt.call_id)

    # -- balance -------------------------------------------------------------------------
    def get_balance(self, deadline: float | None = None) -> Balance:
        """GET /user/balance (not a completion: not recorded in the ledger)."""
        loaded = self._load()
        deadline_at = time.monotonic() + (loaded.settings.deadline if deadline is None else deadline)
        state = _CallState(call_id=uuid.uuid4())

        def attempt() -> Balance:
            key = self._pick(loaded, state)
            status, headers, raw = self._http(loaded, key, "GET", "/user/balance", None, deadline_at)
            try:
                raise_for_status(status, headers, raw, key, loaded.secrets)
            except AuthenticationError as exc:
                self.key_store.disable(key, clip(f"HTTP 401 on /user/balance: {exc}", loaded.secrets.values()))
                raise
            return parse_balance(raw, key)

        backoff = Backoff(loaded.settings.backoff_base, loaded.settings.backoff_max)
        return call_with_retries(attempt, deadline_at=deadline_at, backoff=backoff, label="DeepSeek balance")

    # -- HTTP ----------------------------------------------------------------------------
    def _http(
        self, loaded: _Loaded, key: str, method: str, path: str, body: dict[str, Any] | None, deadline_at: float
    ) -> tuple[int, Mapping[str, str], bytes]:
        secret = loaded.secrets[key]
        return exchange(loaded.session, loaded.settings, secret, key, method, path, body, deadline_at)
