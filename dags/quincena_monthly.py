"""quincena_monthly: after each month closes, reconcile it with DeepSeek's usage export per UTC day
and write each client's cost statement (PDF + CSV) and the firm's summary.

The month is the one before the run's data interval ends, in UTC days (DeepSeek's). It runs on the
3rd so the firm has time to drop the month's export in QUINCENA_USAGE_EXPORTS; trigger it again
(``month``: 2026-11) after dropping a late export: the month's verdict and files are replaced.
Only wiring here; the logic lives in quincena.pipeline.monthly, quincena.costs.monthly and
quincena.billing.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task


@dag(
    dag_id="quincena_monthly",
    schedule=CronDataIntervalTimetable("0 12 3 * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 3, 12, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["quincena", "deepseek", "billing"],
    doc_md=__doc__,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=2)},
    params={
        "month": Param(None, type=["null", "string"], pattern=r"^(|\d{4}-(0[1-9]|1[0-2]))$", title="Month",
                       description="YYYY-MM; empty = the month before this run's data interval ends"),
    },
)  # fmt: skip
def quincena_monthly():
    @task
    def plan() -> dict:
        from quincena.pipeline import monthly

        context = get_current_context()
        return monthly.plan(context.get("data_interval_end"), dict(context["params"]))

    @task
    def reconcile_month(run_plan: dict) -> dict:
        from quincena.pipeline import monthly

        return monthly.reconcile(run_plan)

    @task
    def statements(run_plan: dict, reconciliation: dict) -> dict:
        from quincena.pipeline import monthly

        return monthly.statements(run_plan, reconciliation)

    run_plan = plan()
    statements(run_plan, reconcile_month(run_plan))


quincena_monthly()
