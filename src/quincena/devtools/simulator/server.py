"""A DeepSeek-compatible HTTP server for tests, benchmarks and the demo.

One account: every key shares one concurrency limit (429 beyond it), one prefix cache and one
balance, as DeepSeek documents. Faults are injected by rate or by a FIFO script, all changeable at
runtime through /admin/config; /admin/stats reports what the server saw.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import select
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from quincena.devtools.simulator import classifier
from quincena.devtools.simulator.config import SimulatorConfig

log = logging.getLogger(__name__)

CHAT_ROLES = frozenset({"system", "user", "assistant", "tool"})
UNLIMITED_BALANCE = Decimal("1000.00")  # what /user/balance shows when no spend limit is set


class RequestError(Exception):
    def __init__(self, status: int, message: str, key_name: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.key_name = key_name


@dataclass(frozen=True)
class Admission:
    """How an admitted request will be answered (it holds one slot of the account's concurrency)."""

    fault: str  # ok, blank, truncated, never_start
    latency_s: float


class SimulatorState:
    """Configuration, statistics, prefix cache and spend of the simulated account (thread-safe)."""

    def __init__(self, config: SimulatorConfig) -> None:
        config.validate()
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.config = config
        self._rng = random.Random(config.seed)
        self._by_secret = {secret: name for name, secret in config.keys.items()}
        self._reset_counters()

    def _reset_counters(self) -> None:
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests_per_key: Counter[str] = Counter()  # answers delivered (errors included)
        self.abandoned_per_key: Counter[str] = Counter()  # admitted, but the client left first
        self.status_counts: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.tokens: Counter[str] = Counter()
        self.spend = Decimal(0)
        self.unauthorized = 0
        self.keepalive_lines = 0
        self.disconnects = 0
        self._cache: set[bytes] = set()

    # -- admin ---------------------------------------------------------------------------
    def configure(self, knobs: dict[str, Any]) -> SimulatorConfig:
        with self._lock:
            self.config = self.config.updated(knobs)
            self._by_secret = {secret: name for name, secret in self.config.keys.items()}
            if "seed" in knobs:
                self._rng = random.Random(self.config.seed)
            return self.config

    def reset(self) -> None:
        """Forget statistics, prefix cache, spend and any pending script (the configuration stays)."""
        with self._lock:
            self._reset_counters()
            self.config = self.config.updated({"script": []})

    def topup(self, amount: Decimal) -> None:
        with self._lock:
            if self.config.spend_limit_usd is not None:
                self.config = self.config.updated({"spend_limit_usd": self.config.spend_limit_usd + amount})

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "requests_per_key": dict(self.requests_per_key),
                "abandoned_per_key": dict(self.abandoned_per_key),
                "status_counts": dict(self.status_counts),
                "faults": dict(self.faults),
                "tokens": dict(self.tokens),
                "spend_usd": str(self.spend),
                "unauthorized": self.unauthorized,
                "keepalive_lines": self.keepalive_lines,
                "disconnects": self.disconnects,
            }

    def count(self, what: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + n)

    def abandoned(self, key_name: str) -> None:
        """Count a request whose client left before its answer was delivered."""
        with self._lock:
            self.abandoned_per_key[key_name] += 1

    def answered(self, key_name: str | None, status: int) -> None:
        """Count a request the client got an answer to (or started to get, for held requests)."""
        with self._lock:
            self.status_counts[str(status)] += 1
            if key_name is not None:
                self.requests_per_key[key_name] += 1

    # -- the API's decisions -------------------------------------------------------------
    def authenticate(self, header: str) -> str:
        """The key NAME behind a Bearer header; RequestError(401) otherwise."""
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        with self._lock:
            self.requests += 1
            name = self._by_secret.get(token)
            if name is None:
                self.unauthorized += 1
                raise RequestError(401, f"Authentication Fails, Your api key: ****{token[-4:]} is invalid")
            if name in self.config.revoked_keys:
                raise RequestError(401, f"Authentication Fails, Your api key: ****{token[-4:]} is invalid", name)
            if self.config.spend_limit_usd is not None and self.spend >= self.config.spend_limit_usd:
                raise RequestError(402, "Insufficient Balance", name)
            return name

    def balance(self) -> Decimal:
        with self._lock:
            limit = self.config.spend_limit_usd
            return max(Decimal(0), (UNLIMITED_BALANCE if limit is None else limit) - self.spend)

    def admit(self) -> Admission:
        """Take a concurrency slot, or raise RequestError(429/500/503) without one."""
        with self._lock:
            cfg = self.config
            head = cfg.script[0] if cfg.script else None
            if head in ("429", "500", "503"):
                cfg.script.pop(0)
                self.faults[f"scripted_{head}"] += 1
                raise RequestError(int(head), _REJECTIONS[head])
            if self.in_flight >= cfg.concurrency:
                self.faults["over_concurrency"] += 1
                raise RequestError(429, "Rate Limit Reached: too many concurrent requests for this account")
            for status in ("429", "500", "503"):
                if self._rng.random() < getattr(cfg, f"rate_{status}"):
                    self.faults[f"random_{status}"] += 1
                    raise RequestError(int(status), _REJECTIONS[status])
            fault = cfg.script.pop(0) if cfg.script else self._random_fault()
            if fault != "ok":
                self.faults[fault] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return Admission(fault, self._latency())

    def release(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _random_fault(self) -> str:
        cfg = self.config
        for fault in ("never_start", "blank", "truncated"):
            if self._rng.random() < getattr(cfg, f"rate_{fault}"):
                return fault
        return "ok"

    def _latency(self) -> float:
        mean, sd = self.config.latency_ms, self.config.latency_sd_ms
        if mean <= 0:
            return 0.0
        if sd <= 0:
            return mean / 1000
        sigma2 = math.log(1 + (sd / mean) ** 2)  # lognormal with the requested mean and sd
        return self._rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2)) / 1000

    def content_for(self, messages: list[dict[str, Any]]) -> str:
        with self._lock:
            return classifier.answer(messages, self._rng, self.config.rate_off_catalog)

    def prompt_tokens(self, text: str) -> tuple[int, int]:
        """(cache-hit, cache-miss) tokens: hits are the longest seen prefix in whole cache units."""
        cpt, unit_tokens = self.config.chars_per_token, self.config.cache_unit_tokens
        total = max(1, math.ceil(len(text) / cpt))
        unit_chars = cpt * unit_tokens
        digests = []
        running = hashlib.sha256()
        for start in range(0, len(text) - unit_chars + 1, unit_chars):
            running.update(text[start : start + unit_chars].encode("utf-8"))
            digests.append(running.copy().digest())
        with self._lock:
            hit_units = 0
            for digest in digests:  # the set is prefix-closed, so the first miss ends the hit
                if digest not in self._cache:
                    break
                hit_units += 1
            self._cache.update(digests)
        hit = min(total, hit_units * unit_tokens)
        return hit, total - hit

    def bill(self, hit: int, miss: int, completion: int, reasoning: int) -> None:
        with self._lock:
            cfg = self.config
            cost = hit * cfg.price_cache_hit + miss * cfg.price_cache_miss + completion * cfg.price_output
            self.spend += cost / Decimal(1_000_000)
            self.tokens.update(
                {"prompt_cache_hit": hit, "prompt_cache_miss": miss, "completion": completion, "reasoning": reasoning}
            )


_REJECTIONS = {
    "429": "Rate Limit Reached",
    "500": "Internal Server Error",
    "503": "Server Overloaded",
}


def _validate_chat(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise RequestError(400, "Failed to deserialize the JSON body") from None
    if not isinstance(body, dict):
        raise RequestError(400, "Invalid request: body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError(400, "Invalid request: messages must be a non-empty list")
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in CHAT_ROLES:
            raise RequestError(400, "Invalid request: every message needs a role among system/user/assistant/tool")
        if not isinstance(message.get("content"), str):
            raise RequestError(400, "Invalid request: message content must be a string")
    model = body.get("model")
    if not isinstance(model, str) or not model.startswith("deepseek"):
        raise RequestError(400, "Model Not Exist")
    temperature = body.get("temperature", 1)
    if not isinstance(temperature, int | float) or not 0 <= temperature <= 2:
        raise RequestError(422, "Invalid parameter: temperature must be between 0 and 2")
    max_tokens = body.get("max_tokens", 1)
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise RequestError(422, "Invalid parameter: max_tokens must be a positive integer")
    kind = (body.get("response_format") or {}).get("type", "text")
    if kind not in ("text", "json_object"):
        raise RequestError(422, "Invalid parameter: response_format.type must be text or json_object")
    if body.get("stream"):
        raise RequestError(422, "the simulator does not stream; send stream=false")
    return body


def _thinking(body: dict[str, Any]) -> bool:
    thinking = body.get("thinking") or {}
    return body.get("model") == "deepseek-reasoner" or thinking.get("type") == "enabled"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients pool connections
    server: SimulatorServer
    timeout = 120  # an idle keep-alive connection frees its thread after this

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # -- routing -------------------------------------------------------------------------
    def _path(self) -> str:
        path = self.path.split("?", 1)[0].rstrip("/")
        return path[3:] if path.startswith("/v1/") else path

    def do_GET(self) -> None:
        state = self.server.state
        routes = {
            "/user/balance": self._balance,
            "/admin/stats": lambda: self._json(200, state.stats()),
            "/admin/config": lambda: self._json(200, state.config.public()),
        }
        routes.get(self._path(), self._not_found)()

    def do_POST(self) -> None:
        routes = {
            "/chat/completions": self._chat,
            "/admin/config": self._admin_config,
            "/admin/reset": self._admin_reset,
            "/admin/topup": self._admin_topup,
        }
        routes.get(self._path(), self._not_found)()

    def _not_found(self) -> None:
        self._read_body()
        self._error(404, f"no route {self.command} {self.path}")

    # -- API -----------------------------------------------------------------------------
    def _chat(self) -> None:
        state = self.server.state
        raw = self._read_body()
        key_name = None
        try:
            key_name = state.authenticate(self.headers.get("Authorization", ""))
            body = _validate_chat(raw)
            admission = state.admit()
        except RequestError as exc:
            state.answered(key_name or exc.key_name, exc.status)
            self._error(exc.status, str(exc), retry_after=exc.status in (429, 503))
            return
        try:
            self._answer(key_name, body, admission)
        finally:
            state.release()

    def _answer(self, key_name: str, body: dict[str, Any], admission: Admission) -> None:
        """Answer after the latency; count the request answered only if the client got the answer.

        A client that left first (killed, or gave up on its own timeout) is counted as abandoned, and
        is not billed: so a client's ledger matches requests_per_key even when its process is killed.
        """
        state = self.server.state
        cfg = state.config

        def completion() -> bytes:
            return self._completion(body, admission.fault)

        if admission.fault == "never_start":
            delivered = self._hold(cfg.max_hold_s, None)
        elif admission.latency_s >= cfg.keepalive_interval_s:
            delivered = self._hold(admission.latency_s, completion)
        else:
            state.stopping.wait(admission.latency_s)
            if self._peer_closed():
                self._client_gone()
                delivered = False
            else:
                delivered = self._send(200, completion())
        if delivered:
            state.answered(key_name, 200)
        else:
            state.abandoned(key_name)

    def _completion(self, body: dict[str, Any], fault: str) -> bytes:
        state = self.server.state
        cfg = state.config
        content = state.content_for(body["messages"])
        finish_reason = "stop"
        if fault == "blank":
            content = " " * len(content)  # what DeepSeek's JSON mode returns instead of invalid output
        elif fault == "truncated":
            content, finish_reason = content[: max(1, len(content) // 2)], "length"
        prompt = "".join(f"{m['role']}: {m['content']}\n" for m in body["messages"])
        hit, miss = state.prompt_tokens(prompt)
        completion = max(1, math.ceil(len(content) / cfg.chars_per_token))
        reasoning = 3 * completion if _thinking(body) else 0
        completion += reasoning  # DeepSeek bills reasoning as output and counts it in completion_tokens
        state.bill(hit, miss, completion, reasoning)
        usage: dict[str, Any] = {
            "prompt_tokens": hit + miss,
            "completion_tokens": completion,
            "total_tokens": hit + miss + completion,
            "prompt_tokens_details": {"cached_tokens": hit},
            "prompt_cache_hit_tokens": hit,
            "prompt_cache_miss_tokens": miss,
        }
        if reasoning:
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        message = {"role": "assistant", "content": content}
        return _dumps(
            {
                "id": f"sim-{time.time_ns():x}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
                "usage": usage,
                "system_fingerprint": "fp_quincena_simulator",
            }
        )

    def _balance(self) -> None:
        state = self.server.state
        try:
            state.authenticate(self.headers.get("Authorization", ""))
        except RequestError as exc:
            if exc.status != 402:  # a broke account can still read its balance
                self._error(exc.status, str(exc))
                return
        remaining = state.balance()
        self._json(
            200,
            {
                "is_available": remaining > 0,
                "balance_infos": [
                    {
                        "currency": "USD",
                        "total_balance": f"{remaining:.2f}",
                        "granted_balance": "0.00",
                        "topped_up_balance": f"{remaining:.2f}",
                    }
                ],
            },
        )

    # -- admin ---------------------------------------------------------------------------
    def _admin_config(self) -> None:
        try:
            knobs = json.loads(self._read_body() or b"{}")
            config = self.server.state.configure(knobs)
        except (ValueError, TypeError, ArithmeticError) as exc:
            self._error(400, str(exc))
            return
        self._json(200, config.public())

    def _admin_reset(self) -> None:
        self._read_body()
        self.server.state.reset()
        self._json(200, {"reset": True})

    def _admin_topup(self) -> None:
        try:
            amount = Decimal(str(json.loads(self._read_body() or b"{}")["amount_usd"]))
        except (ValueError, KeyError, TypeError, ArithmeticError):
            self._error(400, 'send {"amount_usd": "<amount>"}')
            return
        self.server.state.topup(amount)
        self._json(200, {"balance_usd": str(self.server.state.balance())})

    # -- wire ----------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json(self, status: int, data: Any) -> None:
        self._send(status, _dumps(data))

    def _error(self, status: int, message: str, retry_after: bool = False) -> None:
        headers = {}
        retry_after_s = self.server.state.config.retry_after_s
        if retry_after and retry_after_s is not None:
            headers["Retry-After"] = f"{retry_after_s:g}"
        kind = "invalid_request_error" if status < 500 else "server_error"
        body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
        self._send(status, _dumps(body), headers)

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> bool:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
            return True
        except OSError:
            self._client_gone()
            return False

    def _hold(self, seconds: float, payload: Callable[[], bytes] | None) -> bool:
        """200 at once, then a blank line every keepalive interval; the body (if any) after ``seconds``.

        With no payload the request never starts: after ``seconds`` the connection closes without a
        body. Returns whether the client was still there at the end.
        """
        state = self.server.state
        end = time.monotonic() + seconds
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while (remaining := end - time.monotonic()) > 0:
                if state.stopping.wait(min(state.config.keepalive_interval_s, remaining)):
                    break
                if time.monotonic() < end:
                    self._chunk(b"\n")
                    state.count("keepalive_lines")
            if self._peer_closed():
                self._client_gone()
                return False
            if payload is None or state.stopping.is_set():
                self.close_connection = True  # hang up without a body, as DeepSeek does after its hold
                return True
            self._chunk(payload())
            self.wfile.write(b"0\r\n\r\n")
            return True
        except OSError:
            self._client_gone()
            return False

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def _peer_closed(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            # Nothing else is expected on this connection while a request is pending, so a readable
            # socket that yields no data means the client closed it.
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _client_gone(self) -> None:
        self.close_connection = True
        self.server.state.count("disconnects")


def _dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # held requests end on `stopping`; never wait for idle keep-alive threads

    def __init__(self, address: tuple[str, int], state: SimulatorState) -> None:
        super().__init__(address, _Handler)
        self.state = state


class SimulatorHandle:
    """A simulator running in a background thread of this process (tests, benchmarks)."""

    def __init__(self, server: SimulatorServer) -> None:
        self.server = server
        self.state = server.state
        host, port = server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        # A short poll interval makes stop() prompt (serve_forever checks for shutdown between polls).
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="deepseek-simulator", daemon=True
        )
        self._thread.start()

    def stats(self) -> dict[str, Any]:
        return self.state.stats()

    def configure(self, **knobs: Any) -> SimulatorConfig:
        return self.state.configure(knobs)

    def reset(self) -> None:
        self.state.reset()

    def topup(self, amount_usd: Decimal | str | int) -> None:
        self.state.topup(Decimal(str(amount_usd)))

    def stop(self) -> None:
        self.state.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_simulator(
    config: SimulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0, **knobs: Any
) -> SimulatorHandle:
    """Start a simulator in the background (port 0 = an ephemeral port); ``knobs`` override ``config``."""
    config = (config or SimulatorConfig()).updated(knobs)
    return SimulatorHandle(SimulatorServer((host, port), SimulatorState(config)))
