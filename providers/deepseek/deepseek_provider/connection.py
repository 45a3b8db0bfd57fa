"""The DeepSeek connection: its options, stated once, and how a connection becomes settings and keys.

Each option is one field of :class:`HookSettings` (name, type, default) carrying its form label and
help text. The UI form (``conn-fields`` in get_provider_info) and the parser (:func:`settings_of`)
are both derived from those fields, so the form, the parser and the defaults cannot drift apart.
The API keys are an option of the form too, but never part of the settings (settings may be logged).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deepseek_provider.exceptions import ConfigurationError, NoUsableKeyError

CONN_TYPE = "deepseek"
DEFAULT_BASE_URL = "https://api.deepseek.com"

_JSON_SCHEMA_TYPES: dict[type, str] = {str: "string", float: "number", int: "integer"}


def _option(default: Any, label: str, help: str) -> Any:
    """A HookSettings field that is also a connection option (a field of the connection form)."""
    return dataclasses.field(default=default, metadata={"label": label, "help": help})


@dataclass(frozen=True)
class HookSettings:
    """Options from the connection's extra, with their defaults (seconds unless said otherwise).

    ``base_url`` comes from the connection's host, every other field from the extra field of its name.
    """

    base_url: str = DEFAULT_BASE_URL
    model: str = _option("deepseek-v4-flash", "Model", "Default model of a call.")
    timeout: float = _option(
        180.0, "Attempt timeout (s)", "Total time of one HTTP attempt, keep-alive included."
    )  # DeepSeek sends blank lines while busy: this, not read_timeout, bounds a held request
    deadline: float = _option(900.0, "Call deadline (s)", "Total time of one call, every retry included.")
    connect_timeout: float = _option(10.0, "Connect timeout (s)", "TCP/TLS connect timeout.")
    read_timeout: float = _option(60.0, "Read timeout (s)", "Longest silence between two received bytes.")
    backoff_base: float = _option(1.0, "Backoff base (s)", "First retry waits up to this (full jitter).")
    backoff_max: float = _option(30.0, "Backoff max (s)", "Cap of one retry wait.")
    pool_size: int = _option(16, "HTTP pool size", "Connections kept open: at least the threads per task.")
    price_table: str | None = _option(
        None, "Price table (path)", "JSON price table file; empty = the table shipped with the provider."
    )


@dataclass(frozen=True)
class ConnOption:
    """One field of the connection form, stored in the connection's extra under ``name``."""

    name: str
    kind: type  # str, float or int: how a stored value is read back
    default: Any
    label: str
    help: str
    secret: bool = False
    placeholder: str | None = None

    def parse(self, value: Any) -> Any:
        return self.kind(value)

    def form_field(self) -> dict[str, Any]:
        """The ``conn-fields`` entry Airflow 3.2+ builds the connection form from."""
        schema: dict[str, Any] = {"type": [_JSON_SCHEMA_TYPES[self.kind], "null"]}
        if self.default is not None:
            whole = isinstance(self.default, float) and self.default.is_integer()
            schema["default"] = int(self.default) if whole else self.default  # the form shows 180, not 180.0
        if self.secret:
            schema["format"] = "password"  # Airflow treats the field as sensitive
        return {"label": self.label, "schema": schema, "description": self.help}


def _setting_options() -> tuple[ConnOption, ...]:
    hints = typing.get_type_hints(HookSettings)
    options = []
    for field in dataclasses.fields(HookSettings):
        if "label" not in field.metadata:
            continue  # base_url: the connection's host, not an extra field
        kind = next(t for t in typing.get_args(hints[field.name]) or (hints[field.name],) if t is not type(None))
        options.append(ConnOption(field.name, kind, field.default, field.metadata["label"], field.metadata["help"]))
    return tuple(options)


API_KEYS = ConnOption(
    "api_keys",
    str,
    None,
    "API keys (JSON)",
    'The account\'s keys by name: {"contab-1": "sk-...", "contab-2": "sk-..."}. Names go to the ledger; '
    "secrets never leave the connection.",
    secret=True,
    placeholder='{"key-1": "sk-...", "key-2": "sk-..."}',
)
SETTING_OPTIONS: tuple[ConnOption, ...] = _setting_options()
CONN_OPTIONS: tuple[ConnOption, ...] = (API_KEYS, *SETTING_OPTIONS)


def conn_fields() -> dict[str, Any]:
    return {option.name: option.form_field() for option in CONN_OPTIONS}


def ui_field_behaviour() -> dict[str, Any]:
    placeholders = {option.name: option.placeholder for option in CONN_OPTIONS if option.placeholder}
    return {
        "hidden-fields": ["schema", "port", "login"],
        "relabeling": {"host": "Base URL", "password": "Single API key (optional)"},
        "placeholders": {"host": DEFAULT_BASE_URL, **placeholders},
    }


# -- parsing a connection ---------------------------------------------------------------
def _extra(conn: Any) -> dict[str, Any]:
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else conn.extra
    if isinstance(extra, str):
        extra = json.loads(extra) if extra.strip() else {}
    return dict(extra or {})


def _value(extra: Mapping[str, Any], name: str) -> Any:
    # Forms of older Airflow versions stored fields as extra__<conn_type>__<name>.
    value = extra.get(name, extra.get(f"extra__{CONN_TYPE}__{name}"))
    return None if value in (None, "") else value


def secrets_of(conn: Any, conn_id: str) -> dict[str, str]:
    """Key name -> secret, from the extra ``api_keys`` and/or the password (named after the connection)."""
    keys = _value(_extra(conn), API_KEYS.name) or {}
    if isinstance(keys, str):  # the UI form stores the field as text
        try:
            keys = json.loads(keys)
        except ValueError:
            raise ConfigurationError(f"connection {conn_id}: extra api_keys is not a JSON object") from None
    if not isinstance(keys, dict) or not all(isinstance(v, str) and v for v in keys.values()):
        raise ConfigurationError(f"connection {conn_id}: extra api_keys must map key names to secrets")
    secrets = {str(name): secret.strip() for name, secret in keys.items()}
    if conn.password:
        secrets.setdefault(conn_id, conn.password.strip())
    for name, secret in secrets.items():
        _check_secret(conn_id, name, secret)
    if not secrets:
        raise NoUsableKeyError(f"connection {conn_id} has no API key (set extra api_keys or the password)")
    return secrets


def _check_secret(conn_id: str, name: str, secret: str) -> None:
    """A key is printable ASCII without blanks: anything else is a paste accident (a line break, a
    non-breaking space, a smart quote) that would only come back as 401s, or break the HTTP header.
    The message names the key, never shows it."""
    if not secret or not all("!" <= char <= "~" for char in secret):
        raise ConfigurationError(
            f"connection {conn_id}: API key {name!r} contains a control, blank or non-ASCII character; "
            "paste the key again"
        )


def settings_of(conn: Any) -> HookSettings:
    """The connection's settings: every option present in its extra, the defaults for the rest."""
    extra = _extra(conn)
    values = {
        option.name: option.parse(value)
        for option in SETTING_OPTIONS
        if (value := _value(extra, option.name)) is not None
    }
    settings = HookSettings(base_url=_base_url(conn) or DEFAULT_BASE_URL, **values)
    if settings.timeout <= 0 or settings.deadline <= 0:
        raise ConfigurationError("timeout and deadline must be positive")
    return settings


def _base_url(conn: Any) -> str | None:
    host = (conn.host or "").strip()
    if not host:
        return None
    if "://" not in host:
        scheme = conn.schema if conn.schema in ("http", "https") else "https"
        host = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
    return host.rstrip("/")
