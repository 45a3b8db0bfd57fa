"""A seeded api_calls history for the weekly health tests; every figure in them is hand-computed from it.

Reported week 2026-W45 = [2026-11-02 05:00Z, 2026-11-09 05:00Z) (Monday 00:00 Bogotá, UTC-5).
Every answered call bills 100,000 cache-hit + 20,000 cache-miss + 10,000 output tokens of
deepseek-v4-flash: US$0.0093 off-peak, US$0.0186 in a peak hour (UTC 01-04, 06-10) under PRICE_TABLE.

| key | week attempts                                   | notes                                         |
|-----|-------------------------------------------------|-----------------------------------------------|
| k1  | 14 ok (1000..2300 ms), 6 x 429 (burst 14h UTC)  | company A; first call exactly at week start   |
| k2  | 9 ok (2000..2800 ms), 2 x 429, 1 server error   | company B                                     |
| k3  | 8 ok (500..1200 ms) at 02h UTC = peak           | company B; one more call AT week end: excluded |
| k4  | 1 ok (3000 ms), 1 auth failure, then disabled   | company B                                     |
Previous weeks: W41 20 attempts/0 429, W42 20/1, W43 none, W44 20/1 (incl. 2 calls on Nov 1 = month to
date, and one at Nov 1 04:00Z = Oct 31 in Bogotá, NOT month to date); W40 one 429 outside the trend.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from quincena.core import db

MODEL = "deepseek-v4-flash"
OFF = Decimal("0.0093")
PEAK = Decimal("0.0186")
A, B, D = "900000001", "900000002", "900000004"

PRICE_TABLE = {
    "unit_tokens": 1000000,
    "aliases": {"deepseek-chat": "deepseek-v4-flash"},
    "models": {
        "deepseek-v4-flash": [
            {"valid_from": "2026-01-01T00:00:00Z", "version": "v4-launch",
             "cache_hit": "0.0028", "cache_miss": "0.14", "output": "0.28"},
            {"valid_from": "2026-08-16T00:00:00Z", "version": "v4.1-2026-08-16",
             "cache_hit": "0.003", "cache_miss": "0.15", "output": "0.60",
             "peak": {"cache_hit": "0.006", "cache_miss": "0.30", "output": "1.20"},
             "peak_windows_utc": [["01:00", "04:00"], ["06:00", "10:00"]]},
        ]
    },
}  # fmt: skip


def write_price_table(folder: Path) -> Path:
    path = folder / "prices.json"
    path.write_text(json.dumps(PRICE_TABLE), encoding="utf-8")
    return path


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def call(
    key: str,
    started: datetime,
    outcome: str = "ok",
    latency: int = 1000,
    company: str | None = B,
    cost: Decimal | None = None,
    model: str = MODEL,
) -> dict:
    answered = outcome == "ok"
    status = {"ok": 200, "rate_limited": 429, "server_error": 500, "auth_failed": 401}[outcome]
    return {
        "attempt_id": uuid.uuid4(), "call_id": uuid.uuid4(), "attempt_no": 1, "started_at": started,
        "key_name": key, "model": model, "company_nit": company, "cycle_id": "2026-11-Q1", "purpose": "classify",
        "outcome": outcome, "status_code": status, "error_class": None if answered else outcome,
        "latency_ms": latency,
        "hit": 100_000 if answered else 0, "miss": 20_000 if answered else 0, "out": 10_000 if answered else 0,
        "cost": (OFF if cost is None else cost) if answered else Decimal(0),
    }  # fmt: skip


INSERT_CALL = """
INSERT INTO api_calls (attempt_id, call_id, attempt_no, started_at, key_name, model, company_nit, cycle_id,
    purpose, outcome, status_code, error_class, latency_ms, prompt_cache_hit_tokens, prompt_cache_miss_tokens,
    completion_tokens, cost_usd, price_version)
VALUES (%(attempt_id)s, %(call_id)s, %(attempt_no)s, %(started_at)s, %(key_name)s, %(model)s, %(company_nit)s,
    %(cycle_id)s, %(purpose)s, %(outcome)s, %(status_code)s, %(error_class)s, %(latency_ms)s, %(hit)s, %(miss)s,
    %(out)s, %(cost)s, 'test')
"""


def insert_calls(rows: list[dict]) -> None:
    with db.transaction() as cur:
        cur.executemany(INSERT_CALL, rows)


def history() -> list[dict]:
    minute = timedelta(minutes=1)
    rows: list[dict] = []
    # --- the reported week ---
    rows.append(call("k1", at("2026-11-02T05:00:00"), latency=1000, company=A))  # exactly at week start
    k1_day = at("2026-11-03T15:00:00")
    rows += [call("k1", k1_day + i * minute, latency=1000 + 100 * i, company=A) for i in range(1, 14)]
    rows += [call("k1", at("2026-11-04T14:00:00") + i * minute, "rate_limited", 50, A) for i in range(6)]
    rows += [call("k2", at("2026-11-05T16:00:00") + i * minute, latency=2000 + 100 * i) for i in range(9)]
    rows.append(call("k2", at("2026-11-04T14:10:00"), "rate_limited", 50))
    rows.append(call("k2", at("2026-11-07T03:30:00"), "rate_limited", 50))
    rows.append(call("k2", at("2026-11-06T20:00:00"), "server_error", 100))
    rows += [call("k3", at("2026-11-04T02:00:00") + i * minute, latency=500 + 100 * i, cost=PEAK) for i in range(8)]
    rows.append(call("k4", at("2026-11-03T04:30:00"), latency=3000))
    rows.append(call("k4", at("2026-11-03T10:00:00"), "auth_failed", 100))
    rows.append(call("k3", at("2026-11-09T05:00:00"), latency=9999))  # the next week's first instant
    # --- W44 [Oct 26, Nov 2): 20 attempts, one 429 ---
    rows += [call("k2", at("2026-11-01T15:00:00") + i * minute, latency=2000) for i in range(2)]  # Nov: MTD
    rows.append(call("k2", at("2026-11-01T04:00:00")))  # Oct 31 23:00 in Bogotá: not November
    rows += [call("k1", at("2026-10-28T15:00:00") + i * minute, company=A) for i in range(16)]
    rows.append(call("k1", at("2026-10-28T16:00:00"), "rate_limited", 50, A))
    # --- W43: nothing. W42: 20 attempts, one 429. W41: 20 attempts, no 429. W40: outside the trend ---
    rows += [call("k1", at("2026-10-14T15:00:00") + i * minute, company=A) for i in range(19)]
    rows.append(call("k1", at("2026-10-14T16:00:00"), "rate_limited", 50, A))
    rows += [call("k2", at("2026-10-07T15:00:00") + i * minute) for i in range(20)]
    rows.append(call("k1", at("2026-09-30T12:00:00"), "rate_limited", 50, A))
    return rows


def seed() -> None:
    with db.transaction() as cur:
        cur.execute(
            "INSERT INTO companies (nit, dv, name, monthly_budget_usd) VALUES "
            "(%s, 0, 'Alfa SAS', 1.00), (%s, 0, 'Beta SAS', 0.50), ('900000003', 0, 'Gamma SAS', NULL), "
            "(%s, 0, 'Delta SAS', 2.00)",
            (A, B, D),
        )
        cur.execute(
            "INSERT INTO api_keys (name, conn_id, status, disabled_at, disabled_reason) VALUES "
            "('k1', 'deepseek_default', 'active', NULL, NULL), ('k2', 'deepseek_default', 'active', NULL, NULL), "
            "('k3', 'deepseek_default', 'active', NULL, NULL), "
            "('k4', 'deepseek_default', 'disabled', '2026-11-03T10:00:01Z', 'HTTP 401 on chat: authentication failed')"
        )
    insert_calls(history())


# -- a real HTTP endpoint that records what the alert notifier posts ---------------------------------
class _Recorder(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.received.append({"path": self.path, "body": json.loads(self.rfile.read(length) or b"null")})
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def webhook_server(status: int = 200) -> Iterator[ThreadingHTTPServer]:
    """An HTTP server on 127.0.0.1 answering ``status`` to every POST; ``.received`` holds the bodies."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.received = []  # type: ignore[attr-defined]
    server.status = status  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def webhook_connection(server: ThreadingHTTPServer, endpoint: str = "/hooks/T0K3N-secret") -> str:
    host, port = server.server_address[:2]
    return json.dumps(
        {"conn_type": "http", "host": host, "port": port, "schema": "http", "extra": {"endpoint": endpoint}}
    )


# -- HTML: well-formed, with charts and tables -------------------------------------------------------
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source", "track", "embed"}


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.counts: dict[str, int] = {}
        self.errors: list[str] = []
        self.doctype = False
        self.text: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_html(text: str) -> _Checker:
    """Parse strictly enough to catch a broken page: one html root, every element closed in order."""
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert checker.doctype, "no <!DOCTYPE html>"
    assert checker.errors == [], checker.errors[:5]
    assert checker.stack == [], f"unclosed: {checker.stack}"
    assert checker.counts.get("html") == 1 and checker.counts.get("body") == 1 and checker.counts.get("title") >= 1
    return checker
