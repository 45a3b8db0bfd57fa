"""Values the review pages hand to the browser and must get back unchanged: the form token and the
notice shown after an action, signed with the api-server's own secret (``[api] secret_key``).

The form token is bound to the logged-in user and to this browser's cookie: a value another site
planted in the cookie, or a token of another user, does not verify. A notice in the URL shows only if
it was signed for this user, so a crafted link cannot put words on the accountant's page.
"""

from __future__ import annotations

import hashlib
import hmac

_PURPOSE = b"quincena review pages"
MAX_NOTICE_CHARS = 300  # a notice quotes an input at most this long (never a 100 KB value in a header)


def _key() -> bytes:
    from airflow.api_fastapi.auth.tokens import get_signing_key

    secret = get_signing_key("api", "secret_key")
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def sign(*parts: str) -> str:
    message = "\x1f".join(parts).encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def verify(signature: str, *parts: str) -> bool:
    return hmac.compare_digest(signature.encode(), sign(*parts).encode())


def form_parts(user_name: str, cookie: str) -> tuple[str, str, str]:
    return "csrf", user_name, cookie


def form_token(user_name: str, cookie: str) -> str:
    return sign(*form_parts(user_name, cookie))


def notice_signature(user_name: str, kind: str, invoice: str, text: str) -> str:
    return sign("notice", user_name, kind, invoice, text)


def clip(text: str) -> str:
    return text if len(text) <= MAX_NOTICE_CHARS else text[: MAX_NOTICE_CHARS - 1] + "…"
