"""One bounded HTTP exchange with DeepSeek: the session, the streaming body reader, socket timeouts.

DeepSeek holds a busy request open and sends blank lines meanwhile, so a plain read timeout never
fires; the body is read incrementally and every read is bounded by what is left of the attempt.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error

from deepseek_provider.connection import HookSettings
from deepseek_provider.exceptions import AttemptTimeoutError, TransportError
from deepseek_provider.redact import clip

MAX_BODY_BYTES = 32 * 1024 * 1024  # a completion is KBs; anything this big is not DeepSeek talking


def new_session(pool_size: int) -> requests.Session:
    session = requests.Session()
    # Retries are ours (deepseek_provider.retry); urllib3 must not retry behind our back.
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(1, pool_size), max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def exchange(
    session: requests.Session,
    settings: HookSettings,
    secret: str,
    key: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    deadline_at: float,
) -> tuple[int, Mapping[str, str], bytes]:
    """One HTTP exchange whose total duration is bounded, however the server trickles bytes.

    ``key`` is the key's name (for errors); ``secret`` only goes into the Authorization header.
    """
    attempt_end = min(deadline_at, time.monotonic() + settings.timeout)
    remaining = max(0.001, attempt_end - time.monotonic())
    timeout = (min(settings.connect_timeout, remaining), min(settings.read_timeout, remaining))
    headers = {"Authorization": f"Bearer {secret}", "Accept": "application/json"}
    try:
        response = session.request(
            method,
            settings.base_url + path,
            json=body,
            headers=headers,
            timeout=timeout,
            stream=True,
            allow_redirects=False,  # a redirect is a configuration error (responses.raise_for_status)
        )
    except requests.Timeout as exc:
        message = f"no response within {remaining:.1f}s: {clip(str(exc), [secret])}"
        raise AttemptTimeoutError(message, key_name=key) from None
    except requests.RequestException as exc:
        raise TransportError(f"connection failed: {clip(str(exc), [secret])}", key_name=key) from None
    complete = False
    try:
        raw = read_body(response, attempt_end, settings.read_timeout, key)
        complete = True
        return response.status_code, response.headers, raw
    finally:
        if complete:
            response.raw.release_conn()  # whole body read: the connection is reusable
        else:
            response.close()  # abandoned mid-body: drop the connection, the server sees the hang-up


def read_body(response: requests.Response, attempt_end: float, read_timeout: float, key: str) -> bytes:
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
            raise TransportError(f"response broken: {type(exc).__name__}: {clip(str(exc))}", key_name=key) from None
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
