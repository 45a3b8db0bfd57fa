"""A DeepSeek-compatible HTTP server for tests, benchmarks and the demo.

One account: every key shares one concurrency limit (429 beyond it), one prefix cache and one
balance, as DeepSeek documents. Faults are injected by rate or by a FIFO script, all changeable at
runtime through /admin/config; /admin/stats reports what the server saw.

The account (admission, accounting) lives in ``state``; this module is its HTTP face.
"""

from __future__ import annotations

import json
import logging
import math
import select
import socket
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from quincena.devtools.simulator.config import SimulatorConfig
from quincena.devtools.simulator.state import Admission, RequestError, SimulatorState

log = logging.getLogger(__name__)

CHAT_ROLES = frozenset({"system", "user", "assistant", "tool"})
PEER_CHECK_S = 0.25  # how often a held request looks whether its client hung up


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
    # Headers and body are separate writes: with Nagle's algorithm the body waits for the client's delayed
    # ACK, which adds ~40 ms to every answer (not DeepSeek's behaviour, and 12 % of a 300 ms answer).
    disable_nagle_algorithm = True

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
        interval = state.config.keepalive_interval_s
        end = time.monotonic() + seconds
        next_line = time.monotonic() + interval
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while (remaining := end - time.monotonic()) > 0:
                step = max(0.0, min(next_line - time.monotonic(), remaining, PEER_CHECK_S))
                if state.stopping.wait(step):
                    break
                if self._peer_closed():  # a client that left frees its slot now, not at the next blank line
                    self._client_gone()
                    return False
                if next_line <= time.monotonic() < end:
                    self._chunk(b"\n")
                    state.count("keepalive_lines")
                    next_line += interval
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

    def settled_stats(self, timeout: float = 10.0) -> dict[str, Any]:
        """Statistics once every request in flight has finished (and been counted)."""
        if not self.state.wait_idle(timeout):
            raise TimeoutError(f"the simulator still has requests in flight after {timeout} s")
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
