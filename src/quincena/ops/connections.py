"""Finding an Airflow connection from a command line, where the product keeps it.

Inside a task the task SDK asks the api-server; a plain process (`quincena eval`, `quincena doctor`)
only sees AIRFLOW_CONN_* variables, so a connection kept in the metadata database (the demo's
`deepseek_default`, one created in Admin → Connections) is looked up there and handed to this process
as its AIRFLOW_CONN_* variable, which every hook then finds.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from quincena.core import config

log = logging.getLogger(__name__)


class MissingConnection(Exception):
    """No connection of that id anywhere this process can look; the message says what to set."""


def env_name(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def hint(conn_id: str) -> str:
    if conn_id == config.DEEPSEEK_CONN_ID:
        return (
            f"connection {conn_id} is not defined: set {env_name(conn_id)} (JSON with host and extra.api_keys, "
            "see .env.example), or run `make demo` once, which keeps it in Airflow's metadata database"
        )
    return f"connection {conn_id} is not defined: set {env_name(conn_id)} or create it in Admin → Connections"


def ensure_connection(conn_id: str) -> Any:
    """The connection, from the environment or else Airflow's metadata database; MissingConnection if neither."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        pass
    stored = _from_metadata_db(conn_id)
    if stored is None:
        raise MissingConnection(hint(conn_id))
    os.environ[env_name(conn_id)] = stored.as_json()
    return BaseHook.get_connection(conn_id)


def _from_metadata_db(conn_id: str) -> Any | None:
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    try:
        return Connection.get_connection_from_secrets(conn_id)
    except AirflowNotFoundException:
        return None
    except Exception as exc:  # no metadata database here (a bare CLI): the same answer as "not defined"
        log.debug("metadata database not readable for connection %s: %s", conn_id, type(exc).__name__)
        return None
