"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

The connection form is declarative (``conn-fields`` / ``ui-field-behaviour``), as Airflow 3.2+
expects; the values land in the connection's extra under the same names, where
``deepseek_provider.connection.settings_of`` reads them back.
"""

from __future__ import annotations

from typing import Any

from deepseek_provider.connection import CONN_TYPE, conn_fields, ui_field_behaviour

# Derived from the single definition of the options (deepseek_provider.connection).
CONN_FIELDS: dict[str, Any] = conn_fields()
UI_FIELD_BEHAVIOUR: dict[str, Any] = ui_field_behaviour()


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
                "connection-type": CONN_TYPE,
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
    }
