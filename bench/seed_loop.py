"""The seed's classification loop, kept as the baseline of the storm benchmark.

One invoice per request, plain ``requests``, keys in round-robin, a first attempt plus three retries
with 1-2-4 s backoff (multiplied by ``backoff_scale`` here so the benchmark takes seconds), and no
idea of Retry-After, of a shared rate limit or of a deadline: after the last retry the invoice is lost.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from typing import Any

import requests

BACKOFF_S = (1, 2, 4)


def classify_invoice(
    session: requests.Session, base_url: str, key: str, messages: list[dict[str, str]], timeout: float = 30
) -> dict[str, Any] | None:
    response = session.post(
        f"{base_url.rstrip('/')}/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "deepseek-chat", "messages": messages, "response_format": {"type": "json_object"}},
        timeout=timeout,
    )
    if response.status_code != 200:
        return None
    try:
        return json.loads(response.json()["choices"][0]["message"]["content"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def run(
    base_url: str,
    keys: Sequence[str],
    invoices: Sequence[tuple[Any, list[dict[str, str]], set[str]]],
    backoff_scale: float,
) -> tuple[int, int]:
    """Classify ``(invoice_id, messages, line ids)`` one by one. Returns (classified, lost)."""
    rotation = itertools.cycle(keys)
    session = requests.Session()
    classified = lost = 0
    for _, messages, ids in invoices:
        done = False
        for wait in (0, *BACKOFF_S):
            time.sleep(wait * backoff_scale)
            try:
                answer = classify_invoice(session, base_url, next(rotation), messages)
            except requests.RequestException:
                answer = None
            got = {str(e.get("id")) for e in (answer or {}).get("classifications", []) if isinstance(e, dict)}
            if answer is not None and ids <= got:
                done = True
                break
        classified += done
        lost += not done
    return classified, lost
