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
