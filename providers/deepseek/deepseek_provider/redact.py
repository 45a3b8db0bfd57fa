"""Hiding secrets in texts that come from elsewhere (error bodies, exception messages).

Scrub FIRST, then cut: cutting first may leave the beginning of a key that the scrubber no longer
recognises (a cut key is not the key), and that beginning would reach a log, a table and the WAL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
MAX_ERROR_CHARS = 300  # an error text kept in a message, a log line or a table
_MIN_PIECE = 8  # a run of this many leading characters of a secret counts as the secret
# Anything shaped like a key or a bearer credential, configured or not (a stale key, another account's).
_KEYLIKE = re.compile(r"\bsk-[^\s\"'<>,;]+")
_BEARER = re.compile(r"(?i)\b(bearer)\s+(?!sk-)[^\s\"'<>,;]+")
# A key the server echoed masked ("****7cee", "sk-1bb****7cee7"): the visible ends are pieces of the key.
_MASKED = re.compile(r"[A-Za-z0-9_-]*\*{2,}[A-Za-z0-9_-]*")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every configured secret, any leading piece of one, ``sk-...``, ``Bearer ...`` and any
    masked echo of a key (its visible first or last characters) masked."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = _mask_pieces(text.replace(secret, MASK), secret)
    text = _MASKED.sub(MASK, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _KEYLIKE.sub(f"sk-{MASK}", text)


def clip(text: str, secrets: Iterable[str] = (), limit: int = MAX_ERROR_CHARS) -> str:
    """Scrubbed, then cut to ``limit`` characters."""
    text = scrub(text, secrets)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mask_pieces(text: str, secret: str) -> str:
    """Mask a secret's beginning echoed on its own (a server that shows only the first characters)."""
    if len(secret) < _MIN_PIECE:
        return text
    start = text.find(secret[:_MIN_PIECE])
    while start >= 0:
        end = start + _MIN_PIECE
        while end < len(text) and end - start < len(secret) and text[end] == secret[end - start]:
            end += 1
        text = text[:start] + MASK + text[end:]
        start = text.find(secret[:_MIN_PIECE], start + len(MASK))
    return text
