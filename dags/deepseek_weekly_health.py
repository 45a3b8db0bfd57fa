"""deepseek_weekly_health: every week, how the DeepSeek account did — 429s per key, spread across
keys, spend against budgets, the balance — with advice, an alert when a threshold is crossed, and a
reconciliation of any usage export dropped in the exports folder.

Runs are Bogotá calendar weeks: data interval [Monday 00:00, next Monday 00:00), starting as soon
as the week closes. Trigger with ``week`` (e.g. 2026-W45) to (re)compute any week; the row in
weekly_health and the files under reports/weekly/<week>/ are replaced, never duplicated.
Only wiring here; the logic lives in quincena.pipeline.weekly (the steps), quincena.costs.health,
quincena.costs.reconcile and quincena.costs.alerts.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from quincena.core import config


def _number(title: str, description: str, minimum: float = 0) -> Param:
    # Empty (null) = the QUINCENA_* environment setting, else the built-in default (README).
    return Param(None, type=["null", "number"], minimum=minimum, title=title, description=description)


@dag(
    dag_id="deepseek_weekly_health",
    schedule=CronDataIntervalTimetable("0 0 * * 1", timezone=config.TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 5, tz=config.TIMEZONE),
    catchup=False,
    max_active_runs=1,
    tags=["quincena", "deepseek", "health"],
    doc_md=__doc__,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=2)},
    params={
        "week": Param(
            None, type=["null", "string"], pattern=r"^(|\d{4}-W(0[1-9]|[1-4]\d|5[0-3]))$", title="Week",
            description="ISO week, e.g. 2026-W45 (Monday-Sunday, Bogotá); empty = this run's data interval",
        ),
        "monthly_budget_usd": _number("Firm's monthly budget (USD)", "empty = QUINCENA_MONTHLY_BUDGET_USD"),
        "max_429_rate": _number("Alert: 429 rate above", "fraction of attempts, default 0.05"),
        "max_spread": _number("Alert: key spread above", "|share / even share - 1| of an active key, default 0.20"),
        "budget_ratio": _number("Alert: forecast / budget above", "default 1.0 (forecast over the budget)"),
        "min_balance_usd": _number("Alert: balance below (USD)", "default 10"),
        "min_runway_days": _number("Alert: balance lasts fewer days than", "at this week's spend, default 7"),
        "min_agreement": _number("Alert: accountants' agreement below", "share of model proposals kept, default 0.85"),
        "max_agreement_drop": _number("Alert: agreement drop after a model/prompt change above", "default 0.05"),
        "trend_weeks": Param(None, type=["null", "integer"], minimum=1, maximum=52, title="429 trend: weeks back",
                             description="previous weeks the 429 rate is compared with, default 4"),
        "reconcile": Param(True, type="boolean", title="Reconcile usage exports",
                           description="reconcile any DeepSeek usage export in QUINCENA_USAGE_EXPORTS"),
    },
)  # fmt: skip
def deepseek_weekly_health():
    @task
    def plan() -> dict:
        from quincena.pipeline import weekly

        context = get_current_context()
        return weekly.plan(
            context.get("data_interval_start"), context.get("data_interval_end"), dict(context["params"])
        )

    @task
    def reconcile_exports(run_plan: dict) -> dict:
        from quincena.pipeline import weekly

        return weekly.reconcile_exports(run_plan)

    @task
    def weekly_report(run_plan: dict, reconciliation: dict) -> dict:
        from quincena.pipeline import weekly

        return weekly.weekly_report(run_plan, reconciliation)

    # The alert is a task calling the notifier, not an on_success/on_failure callback: "a threshold was
    # crossed" is a finding of a successful run, not a task state; callbacks run in the DAG processor
    # (so their logs and failures are not in the run's task logs) and are skipped by dag.test(). As a
    # task the decision and every delivery are visible in this task's log and its XCom.
    @task
    def alert(summary: dict) -> dict:
        from quincena.pipeline import weekly

        return weekly.alert(summary, get_current_context())

    run_plan = plan()
    alert(weekly_report(run_plan, reconcile_exports(run_plan)))


deepseek_weekly_health()
