"""DeepSeekHook: chat completions over one account's keys, with rotation, retries and a cost ledger.

One instance may be used by many threads at once (a task classifying several batches in parallel):
the HTTP session's pool is sized by the ``pool_size`` option, the key store and recorder are
thread-safe, and per-call state lives on the stack.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from airflow.sdk import BaseHook
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error

from deepseek_provider.exceptions import (
    AttemptTimeoutError,
    AuthenticationError,
    BadContentError,
    BadRequestError,
    ConfigurationError,
    DeepSeekError,
    InsufficientBalanceError,
    NoUsableKeyError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from deepseek_provider.keystore import InMemoryKeyStore, KeyStore
from deepseek_provider.ledger import AttemptRecord, CallRecorder, InMemoryCallRecorder
from deepseek_provider.pricing import PriceTable
from deepseek_provider.retry import Backoff, call_with_retries

try:  # the task SDK's masker also tells the supervisor process, whose log output must hide keys too
    from airflow.sdk.log import mask_secret
except ImportError:  # pragma: no cover - older SDKs
    from airflow.sdk.execution_time.secrets_masker import mask_secret  # type: ignore[no-redef]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.deepseek.com"
MAX_BODY_BYTES = 32 * 1024 * 1024  # a completion is KBs; anything this big is not DeepSeek talking


@dataclass(frozen=True)
class HookSettings:
    """Options from the connection's extra, with their defaults (seconds unless said otherwise)."""

    base_url: str = DEFAULT_BASE_URL
    model: str = "deepseek-v4-flash"
    timeout: float = 180.0  # total budget of one HTTP attempt, keep-alive blank lines included
    deadline: float = 900.0  # total budget of one call, every retry and wait included
    connect_timeout: float = 10.0
    read_timeout: float = 60.0  # longest silence between two bytes (DeepSeek sends blank lines while busy)
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    pool_size: int = 16  # HTTP connections kept per host: at least the threads sharing this hook
    price_table: str | None = None


@dataclass(frozen=True)
class Usage:
    """DeepSeek's ``usage`` block. completion_tokens already includes reasoning_tokens."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_cache_hit_tokens: int = 0
    prompt_cache_miss_tokens: int = 0
    reasoning_tokens: int = 0

    @classmethod
    def from_api(cls, data: Mapping[str, Any] | None) -> Usage:
        data = data or {}
        details = data.get("completion_tokens_details") or {}

        def number(value: Any) -> int:
            return int(value) if isinstance(value, int | float) else 0

        return cls(
            prompt_tokens=number(data.get("prompt_tokens")),
            completion_tokens=number(data.get("completion_tokens")),
            total_tokens=number(data.get("total_tokens")),
            prompt_cache_hit_tokens=number(data.get("prompt_cache_hit_tokens")),
            prompt_cache_miss_tokens=number(data.get("prompt_cache_miss_tokens")),
            reasoning_tokens=number(details.get("reasoning_tokens")),
        )


@dataclass(frozen=True)
class ChatResult:
    content: str
    parsed: Any  # the decoded JSON answer when JSON was expected, else None
    finish_reason: str | None
    usage: Usage  # of the successful attempt
    key_name: str  # key of the successful attempt
    attempts: int
    cost_usd: Decimal  # every billed attempt of the call (a blank JSON answer is billed too)
    call_id: uuid.UUID
    model: str
    price_version: str | None = None


@dataclass(frozen=True)
class BalanceInfo:
    currency: str
    total_balance: Decimal
    granted_balance: Decimal
    topped_up_balance: Decimal


@dataclass(frozen=True)
class Balance:
    is_available: bool
    balance_infos: tuple[BalanceInfo, ...]


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


@dataclass(frozen=True)
class _Answer:
    content: str
    finish_reason: str | None
    usage: Usage
    model: str


class DeepSeekHook(BaseHook):
    """Talk to DeepSeek through connection ``deepseek_conn_id``.

    :param deepseek_conn_id: Airflow connection (type ``deepseek``).
    :param key_store: shared rotation/health state; in memory by default (one process).
    :param recorder: receives one AttemptRecord per HTTP attempt; in memory by default.
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
                secrets = _secrets_of(conn, self.deepseek_conn_id)
                for secret in secrets.values():
                    mask_secret(secret)
                settings = _settings_of(conn)
                self.key_store.register(sorted(secrets))
                self._loaded = _Loaded(settings, secrets, self._prices(settings), _session(settings.pool_size))
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
        body = _request_body(messages, model, response_format, max_tokens, temperature)
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
        clock = time.monotonic()
        status: int | None = None
        answer: _Answer | None = None
        parsed: Any = None
        error: DeepSeekError | None = None
        try:
            status, headers, raw = self._http(loaded, key, "POST", "/chat/completions", body, deadline_at)
            _raise_for_status(status, headers, raw, key, loaded.secrets)
            answer = _parse_answer(raw, model, key)
            parsed = _decode_content(answer, expect_json, key)
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
            self.key_store.disable(key, f"HTTP 401 at {started_at.isoformat()}: {error}")
        self._record(
            AttemptRecord(
                attempt_id=uuid.uuid4(),
                call_id=state.call_id,
                attempt_no=state.attempts,
                started_at=started_at,
                key_name=key,
                model=model,
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
                context=context,
            )
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

    def _record(self, attempt: AttemptRecord) -> None:
        # The attempt already happened (and may be billed): a ledger failure must not turn a good answer
        # into a retry that is billed again. It is logged loudly instead.
        try:
            self.recorder.record(attempt)
        except Exception:
            log.exception("could not record DeepSeek attempt %s of call %s", attempt.attempt_id, attempt.call_id)

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
                _raise_for_status(status, headers, raw, key, loaded.secrets)
            except AuthenticationError as exc:
                self.key_store.disable(key, f"HTTP 401 on /user/balance: {exc}")
                raise
            return _parse_balance(raw, key)

        backoff = Backoff(loaded.settings.backoff_base, loaded.settings.backoff_max)
        return call_with_retries(attempt, deadline_at=deadline_at, backoff=backoff, label="DeepSeek balance")

    # -- HTTP ----------------------------------------------------------------------------
    def _http(
        self, loaded: _Loaded, key: str, method: str, path: str, body: dict[str, Any] | None, deadline_at: float
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One HTTP exchange whose total duration is bounded, however the server trickles bytes."""
        settings = loaded.settings
        attempt_end = min(deadline_at, time.monotonic() + settings.timeout)
        remaining = max(0.001, attempt_end - time.monotonic())
        timeout = (min(settings.connect_timeout, remaining), min(settings.read_timeout, remaining))
        headers = {"Authorization": f"Bearer {loaded.secrets[key]}", "Accept": "application/json"}
        try:
            response = loaded.session.request(
                method, settings.base_url + path, json=body, headers=headers, timeout=timeout, stream=True
            )
        except requests.Timeout as exc:
            raise AttemptTimeoutError(f"no response within {remaining:.1f}s: {exc}", key_name=key) from None
        except requests.RequestException as exc:
            raise TransportError(f"connection failed: {exc}", key_name=key) from None
        complete = False
        try:
            raw = _read_body(response, attempt_end, settings.read_timeout, key)
            complete = True
            return response.status_code, response.headers, raw
        finally:
            if complete:
                response.raw.release_conn()  # whole body read: the connection is reusable
            else:
                response.close()  # abandoned mid-body: drop the connection, the server sees the hang-up


def _read_body(response: requests.Response, attempt_end: float, read_timeout: float, key: str) -> bytes:
    """Read incrementally so the attempt's total deadline fires even while blank lines keep arriving."""
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = attempt_end - time.monotonic()
        if remaining <= 0:
            raise AttemptTimeoutError("attempt timed out while the server held the request open", key_name=key)
        _set_socket_timeout(response, min(read_timeout, remaining))
        try:
            chunk = response.raw.read1(65536, decode_content=True)
        except TimeoutError:
            raise AttemptTimeoutError("attempt timed out: the server went silent", key_name=key) from None
        except (Urllib3Error, requests.RequestException, OSError) as exc:
            if "timed out" in str(exc).lower():  # urllib3 wraps socket timeouts in ReadTimeoutError
                raise AttemptTimeoutError("attempt timed out: the server went silent", key_name=key) from None
            raise TransportError(f"response broken: {type(exc).__name__}: {exc}", key_name=key) from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise TransportError(f"response larger than {MAX_BODY_BYTES} bytes", key_name=key)


def _set_socket_timeout(response: requests.Response, seconds: float) -> None:
    # requests fixes the read timeout at send time; shrinking it as the attempt's budget runs out is
    # what keeps a silent server from overshooting the deadline by a whole read timeout.
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(max(0.001, seconds))


# -- response interpretation ------------------------------------------------------------
def _error_message(raw: bytes, secrets: Mapping[str, str]) -> str:
    text = raw.decode("utf-8", "replace").strip()
    try:
        text = str(json.loads(text)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        text = text[:300]
    for secret in secrets.values():  # servers may echo the key back; never let it into logs
        text = text.replace(secret, "***")
    return text


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _raise_for_status(
    status: int, headers: Mapping[str, str], raw: bytes, key: str, secrets: Mapping[str, str]
) -> None:
    if status < 400:
        return
    message = f"HTTP {status}: {_error_message(raw, secrets)}"
    if status == 401:
        raise AuthenticationError(message, status_code=status, key_name=key)
    if status == 402:
        raise InsufficientBalanceError(message, status_code=status, key_name=key)
    if status == 429:
        raise RateLimitedError(message, status_code=status, key_name=key, retry_after=_retry_after(headers))
    if status >= 500:
        raise ServerError(message, status_code=status, key_name=key, retry_after=_retry_after(headers))
    raise BadRequestError(message, status_code=status, key_name=key)


def _parse_answer(raw: bytes, model: str, key: str) -> _Answer:
    try:
        # json.loads skips the leading blank lines DeepSeek sends while it holds a request.
        data = json.loads(raw)
        choice = data["choices"][0]
        content = choice["message"].get("content") or ""
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise BadContentError("HTTP 200 with an unreadable body", status_code=200, key_name=key) from None
    return _Answer(str(content), choice.get("finish_reason"), Usage.from_api(data.get("usage")), model)


def _decode_content(answer: _Answer, expect_json: bool, key: str) -> Any:
    """The decoded JSON answer (None when JSON is not expected).

    Blank content (DeepSeek's JSON mode may answer only spaces) and broken JSON are retryable failures.
    """
    if not answer.content.strip():
        raise BadContentError(f"blank content (finish_reason={answer.finish_reason})", status_code=200, key_name=key)
    if not expect_json:
        return None
    try:
        return json.loads(answer.content)
    except ValueError:
        message = f"content is not valid JSON (finish_reason={answer.finish_reason})"
        raise BadContentError(message, status_code=200, key_name=key) from None


def _parse_balance(raw: bytes, key: str) -> Balance:
    try:
        data = json.loads(raw)
        infos = tuple(
            BalanceInfo(
                currency=str(info["currency"]),
                total_balance=Decimal(str(info["total_balance"])),
                granted_balance=Decimal(str(info.get("granted_balance", "0"))),
                topped_up_balance=Decimal(str(info.get("topped_up_balance", "0"))),
            )
            for info in data.get("balance_infos", [])
        )
        return Balance(bool(data["is_available"]), infos)
    except (ValueError, KeyError, TypeError, ArithmeticError):
        raise BadContentError("unreadable /user/balance answer", status_code=200, key_name=key) from None


def _request_body(
    messages: Sequence[Mapping[str, Any]],
    model: str,
    response_format: Mapping[str, Any] | None,
    max_tokens: int | None,
    temperature: float | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [dict(m) for m in messages], "stream": False}
    if response_format is not None:
        body["response_format"] = dict(response_format)
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if temperature is not None:
        body["temperature"] = temperature
    return body


# -- connection parsing -----------------------------------------------------------------
def _extra(conn: Any) -> dict[str, Any]:
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else conn.extra
    if isinstance(extra, str):
        extra = json.loads(extra) if extra.strip() else {}
    return dict(extra or {})


def _option(extra: Mapping[str, Any], name: str) -> Any:
    # Forms of older Airflow versions stored fields as extra__<conn_type>__<name>.
    value = extra.get(name, extra.get(f"extra__deepseek__{name}"))
    return None if value in (None, "") else value


def _secrets_of(conn: Any, conn_id: str) -> dict[str, str]:
    extra = _extra(conn)
    keys = _option(extra, "api_keys") or {}
    if isinstance(keys, str):  # the UI form stores the field as text
        try:
            keys = json.loads(keys)
        except ValueError:
            raise ConfigurationError(f"connection {conn_id}: extra api_keys is not a JSON object") from None
    if not isinstance(keys, dict) or not all(isinstance(v, str) and v for v in keys.values()):
        raise ConfigurationError(f"connection {conn_id}: extra api_keys must map key names to secrets")
    secrets = {str(name): secret.strip() for name, secret in keys.items()}
    if conn.password:
        secrets.setdefault(conn_id, conn.password.strip())
    if not secrets:
        raise NoUsableKeyError(f"connection {conn_id} has no API key (set extra api_keys or the password)")
    return secrets


def _settings_of(conn: Any) -> HookSettings:
    extra = _extra(conn)
    defaults = HookSettings()
    values: dict[str, Any] = {}
    for name in ("timeout", "deadline", "connect_timeout", "read_timeout", "backoff_base", "backoff_max"):
        if (value := _option(extra, name)) is not None:
            values[name] = float(value)
    if (value := _option(extra, "pool_size")) is not None:
        values["pool_size"] = int(value)
    for name in ("model", "price_table"):
        if (value := _option(extra, name)) is not None:
            values[name] = str(value)
    settings = HookSettings(base_url=_base_url(conn) or defaults.base_url, **values)
    if settings.timeout <= 0 or settings.deadline <= 0:
        raise ConfigurationError("timeout and deadline must be positive")
    return settings


def _base_url(conn: Any) -> str | None:
    host = (conn.host or "").strip()
    if not host:
        return None
    if "://" not in host:
        scheme = conn.schema if conn.schema in ("http", "https") else "https"
        host = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
    return host.rstrip("/")


def _session(pool_size: int) -> requests.Session:
    session = requests.Session()
    # Retries are ours (deepseek_provider.retry); urllib3 must not retry behind our back.
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(1, pool_size), max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
