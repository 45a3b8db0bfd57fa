"""The hook against small real HTTP servers that misbehave in ways the simulator does not: a 401 that
echoes the key, a redirect to another host, a 429 with ``Retry-After: 0`` forever."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from deepseek_provider.exceptions import DeadlineExceededError, NoUsableKeyError, RateLimitedError, RedirectError

from quincena.core import db
from quincena.deepseek.store import pipeline_hook

MESSAGES = [{"role": "user", "content": "hola"}]
SECRETS = {"contab-1": "sk-" + "a1b2c3d4e5f6" * 4, "contab-2": "sk-" + "0f9e8d7c6b5a" * 4}

Reply = Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]]


class _Server:
    """A local HTTP server answering every request with ``reply(handler)``; counts what it got."""

    def __init__(self, reply: Reply) -> None:
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                outer.requests += 1
                status, headers, body = reply(self)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def netloc(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{host}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.netloc}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Reply], _Server]]:
    servers: list[_Server] = []

    def start(reply: Reply) -> _Server:
        servers.append(_Server(reply))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def _connect(monkeypatch: pytest.MonkeyPatch, url: str, **extra: Any) -> None:
    conn = {
        "conn_type": "deepseek",
        "host": url,
        "extra": {"api_keys": SECRETS, "timeout": 5, "deadline": 10, "backoff_base": 0.005, "backoff_max": 0.05,
                  **extra},
    }  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_DEEPSEEK_DEFAULT", json.dumps(conn))


def _leaks(text: str) -> list[str]:
    """Every 8-character piece of a secret (after its generic ``sk-``) found in ``text``."""
    return [s[i : i + 8] for s in SECRETS.values() for i in range(3, len(s) - 7) if s[i : i + 8] in text]


def test_a_401_echoing_the_key_leaks_no_part_of_it(clean_db, serve, monkeypatch, caplog) -> None:
    def echo_401(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        auth = handler.headers.get("Authorization", "")
        secret = auth.removeprefix("Bearer ")
        # A proxy's plain-text page: the header echoed just where a 300-character cut falls, and a prefix.
        body = "Unauthorized. " + "." * 238 + f" You sent: Authorization: {auth}; key starts {secret[:20]}"
        return 401, {"Content-Type": "text/plain"}, body.encode()

    server = serve(echo_401)
    _connect(monkeypatch, server.url)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(NoUsableKeyError) as caught:
        pipeline_hook().create_chat_completion(MESSAGES)
    assert server.requests == 2  # each key tried once, then disabled
    errors = []
    exc: BaseException | None = caught.value
    while exc is not None:
        errors.append(f"{exc!r} {exc}")
        exc = exc.__cause__ or exc.__context__
    keys = db.query_text("SELECT name, status, disabled_reason FROM api_keys ORDER BY name")
    assert [(k["name"], k["status"]) for k in keys] == [("contab-1", "disabled"), ("contab-2", "disabled")]
    assert all("401" in k["disabled_reason"] and "Unauthorized" in k["disabled_reason"] for k in keys)
    haystack = json.dumps(keys) + json.dumps(db.query_text("SELECT * FROM api_calls"), default=str)
    haystack += caplog.text + " ".join(errors)
    assert "401" in caplog.text  # the retry log did speak about the 401s
    assert _leaks(haystack) == []


def test_a_redirect_to_another_host_disables_no_key(clean_db, serve, monkeypatch) -> None:
    elsewhere = serve(lambda h: (401, {}, b'{"error": {"message": "Authentication Fails"}}'))
    redirect = serve(lambda h: (307, {"Location": f"{elsewhere.url}/chat/completions"}, b""))
    _connect(monkeypatch, redirect.url)
    hook = pipeline_hook()
    started = time.monotonic()
    with pytest.raises(RedirectError) as caught:
        hook.create_chat_completion(MESSAGES)
    assert time.monotonic() - started < 2  # final: not retried until the deadline
    assert elsewhere.netloc in str(caught.value) and "Base URL" in str(caught.value)
    assert (redirect.requests, elsewhere.requests) == (1, 0)  # the other host never saw our key
    assert {k.active for k in hook.key_store.statuses().values()} == {True}
    rows = db.query_text("SELECT outcome, status_code FROM api_calls")
    assert [(r["outcome"], r["status_code"]) for r in rows] == [("redirected", 307)]


def test_retry_after_zero_gets_a_minimum_backoff(clean_db, serve, monkeypatch) -> None:
    server = serve(lambda h: (429, {"Retry-After": "0"}, b'{"error": {"message": "Rate limit reached"}}'))
    _connect(monkeypatch, server.url, deadline=3)
    started = time.monotonic()
    with pytest.raises(DeadlineExceededError) as caught:
        pipeline_hook().create_chat_completion(MESSAGES)
    assert time.monotonic() - started <= 3.5
    assert isinstance(caught.value.last_error, RateLimitedError)
    assert 2 <= server.requests <= 7, server.requests  # at most one attempt per half second, not hundreds


def test_a_disable_reason_is_scrubbed_before_it_is_cut(clean_db) -> None:
    from quincena.deepseek.store import PostgresKeyStore

    store = PostgresKeyStore()
    store.register(["contab-1"])
    secret = SECRETS["contab-1"]
    store.disable("contab-1", "HTTP 401: " + "." * 280 + f" Authorization: Bearer {secret} (key {secret[:20]})")
    (row,) = db.query_text("SELECT disabled_reason FROM api_keys")
    assert row["disabled_reason"].startswith("HTTP 401: ") and len(row["disabled_reason"]) <= 300
    assert _leaks(row["disabled_reason"]) == []


# -- the write-ahead ledger -----------------------------------------------------------------------------
def _ledger() -> list[dict[str, Any]]:
    return db.query_text("SELECT key_name, outcome, status_code, cost_usd, cycle_id FROM api_calls ORDER BY id")


def test_the_ledger_row_is_written_before_the_request_is_sent(clean_db, serve, monkeypatch) -> None:
    seen: list[list[tuple[str, str]]] = []

    def answer(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        # What the ledger holds while the request is on the wire.
        seen.append([(r["key_name"], r["outcome"]) for r in _ledger()])
        body = {
            "choices": [{"message": {"role": "assistant", "content": "hola"}, "finish_reason": "stop"}],
            "usage": {"prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 1000, "completion_tokens": 100},
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    _connect(monkeypatch, serve(answer).url)
    result = pipeline_hook().create_chat_completion(MESSAGES, context={"cycle_id": "2026-11-Q1"})
    assert seen == [[(result.key_name, "in_flight")]]
    (row,) = _ledger()
    assert (row["outcome"], row["status_code"], row["cost_usd"]) == ("ok", 200, result.cost_usd) and result.cost_usd > 0


def test_a_worker_killed_mid_attempt_leaves_a_visible_in_flight_row(clean_db, serve, monkeypatch, tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from quincena.costs import cycle_costs

    release = threading.Event()
    received = threading.Event()

    def hang(handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], bytes]:
        received.set()
        release.wait(30)
        return 500, {}, b""

    _connect(monkeypatch, serve(hang).url)
    code = (
        "from quincena.deepseek.store import pipeline_hook\n"
        f"pipeline_hook().create_chat_completion({MESSAGES!r}, context={{'cycle_id': '2026-11-Q1'}})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy(), start_new_session=True)
    try:
        assert received.wait(60), "the worker never sent its request"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        release.set()
    (row,) = _ledger()
    assert (row["outcome"], row["status_code"], row["cost_usd"]) == ("in_flight", None, 0)
    costs = cycle_costs.aggregate_cycle("2026-11-Q1", [], tmp_path)
    assert costs.total["in_flight_calls"] == 1 and costs.total["failed_calls"] == 0 and costs.total["calls"] == 1
    assert costs.to_dict()["in_flight_calls"] == 1
    stored = db.query_text("SELECT in_flight_calls FROM cycle_costs WHERE dimension = 'total'")
    assert stored == [{"in_flight_calls": 1}]
    assert "1 llamada(s) de costo desconocido" in costs.html_path.read_text(encoding="utf-8")
