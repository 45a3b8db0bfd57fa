"""`make demo`: a real quincena cycle in the Airflow UI on this machine, and `make demo-stop`.

Everything lives under .local/ (QUINCENA_LOCAL): the embedded PostgreSQL (databases ``quincena``
and ``airflow``), the sample inbox, AIRFLOW_HOME (.local/airflow), process logs (.local/logs) and
PID files (.local/run). Every background process is started in its own session, so stopping its
process group stops everything it spawned (scheduler, LocalExecutor workers, task processes) and
nothing else.

Modules: ``settings`` (DemoSettings, DemoPaths, shared names), ``processes`` (process supervision),
``airflow_api`` (the REST client), ``orchestration`` (start, stop, status and their steps). A caller
that replaces a step (bench/pool.py swaps ``simulator_argv``) patches it in ``orchestration``.
"""

from quincena.devtools.demo.airflow_api import AirflowApi, admin_password, health, trigger_cycle, wait_for_run
from quincena.devtools.demo.orchestration import (
    StartResult,
    demo_keys,
    pool_slots,
    quincena_cli,
    simulator_argv,
    start,
    status,
    stop,
)
from quincena.devtools.demo.processes import Managed, read_managed, running, spawn, terminate, wait_for
from quincena.devtools.demo.settings import (
    API_SERVER,
    COMPONENTS,
    DAG_ID,
    LOOPBACK,
    SIMULATOR,
    DemoError,
    DemoPaths,
    DemoSettings,
    last_closed_cycle,
)

__all__ = [
    "API_SERVER",
    "COMPONENTS",
    "DAG_ID",
    "LOOPBACK",
    "SIMULATOR",
    "AirflowApi",
    "DemoError",
    "DemoPaths",
    "DemoSettings",
    "Managed",
    "StartResult",
    "admin_password",
    "demo_keys",
    "health",
    "last_closed_cycle",
    "pool_slots",
    "quincena_cli",
    "read_managed",
    "running",
    "simulator_argv",
    "spawn",
    "start",
    "status",
    "stop",
    "terminate",
    "trigger_cycle",
    "wait_for",
    "wait_for_run",
]
