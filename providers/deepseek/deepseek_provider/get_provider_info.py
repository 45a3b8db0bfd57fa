"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

The connection form is declarative (``conn-fields`` / ``ui-field-behaviour``), as Airflow 3.2+
expects; the values land in the connection's extra under the same names.
"""

from __future__ import annotations

from typing import Any


def _field(label: str, kind: str, description: str, default: Any = None, secret: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": [kind, "null"]}
    if default is not None:
        schema["default"] = default
    if secret:
        schema["format"] = "password"  # Airflow treats the field as sensitive
    return {"label": label, "schema": schema, "description": description}


CONN_FIELDS: dict[str, Any] = {
    "api_keys": _field(
        "API keys (JSON)",
        "string",
        'The account\'s keys by name: {"contab-1": "sk-...", "contab-2": "sk-..."}. Names go to the ledger; '
        "secrets never leave the connection.",
        secret=True,
    ),
    "model": _field("Model", "string", "Default model of a call.", "deepseek-v4-flash"),
    "timeout": _field("Attempt timeout (s)", "number", "Total time of one HTTP attempt, keep-alive included.", 180),
    "deadline": _field("Call deadline (s)", "number", "Total time of one call, every retry included.", 900),
    "connect_timeout": _field("Connect timeout (s)", "number", "TCP/TLS connect timeout.", 10),
    "read_timeout": _field("Read timeout (s)", "number", "Longest silence between two received bytes.", 60),
    "backoff_base": _field("Backoff base (s)", "number", "First retry waits up to this (full jitter).", 1),
    "backoff_max": _field("Backoff max (s)", "number", "Cap of one retry wait.", 30),
    "pool_size": _field("HTTP pool size", "integer", "Connections kept open: at least the threads per task.", 16),
    "price_table": _field(
        "Price table (path)", "string", "JSON price table file; empty = the table shipped with the provider."
    ),
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port", "login"],
    "relabeling": {"host": "Base URL", "password": "Single API key (optional)"},
    "placeholders": {"host": "https://api.deepseek.com", "api_keys": '{"key-1": "sk-...", "key-2": "sk-..."}'},
}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "quincena-providers-deepseek",
        "name": "DeepSeek",
        "description": "DeepSeek chat completions with account-wide key rotation and a cost ledger.",
        "versions": ["0.1.0"],
        "integrations": [
            {
                "integration-name": "DeepSeek",
                "external-doc-url": "https://api-docs.deepseek.com/",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": "DeepSeek", "python-modules": ["deepseek_provider.hooks.deepseek"]}],
        "connection-types": [
            {
                "hook-class-name": "deepseek_provider.hooks.deepseek.DeepSeekHook",
                "hook-name": "DeepSeek",
                "connection-type": "deepseek",
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
    }
