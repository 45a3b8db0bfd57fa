"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations


def get_provider_info() -> dict:
    return {
        "package-name": "quincena-providers-deepseek",
        "name": "DeepSeek",
        "description": "DeepSeek chat completions with account-wide key rotation and a cost ledger.",
        "versions": ["0.1.0"],
        "connection-types": [],
    }
