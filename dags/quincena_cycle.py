"""quincena_cycle: every quincena, ingest, classify, book and cost each company's DIAN invoices.

The machine's work only: a run never waits for a person. When its classification ends it writes the cost
report and starts one quincena_books run per company-cycle whose books need the accountant's decision
(approval and export happen there, for as long as the accountant takes).

Runs are quincenas: data intervals [1st, 16th) and [16th, 1st of next month), Bogotá time,
starting when the interval closes. Only wiring here; the logic lives in quincena.pipeline.cycle.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync
from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task, task_group

from quincena.core import config

# The grid names each mapped company task "NIT name" instead of 0..N (set by each step from its target).
COMPANY_LABEL = "{{ company_label }}"
# ... and each classify_lane instance "carril 3/16", each approval request "2026-11-Q1 NIT".
LANE_LABEL = "{{ lane_label }}"
REQUEST_LABEL = "{{ task.conf['cycle'] }} {{ task.conf['company_nit'] }}"
# Runs start at 05:00 Bogotá (10:00 UTC), when DeepSeek's morning peak window ends: 15 off-peak hours ahead.
SCHEDULE = f"0 {config.CYCLE_START_HOUR} 1,16 * *"


@dag(
    dag_id="quincena_cycle",
    schedule=CronDataIntervalTimetable(SCHEDULE, timezone=config.TIMEZONE),
    start_date=pendulum.datetime(2026, 1, 1, tz=config.TIMEZONE),
    catchup=False,
    max_active_runs=1,
    # A run is machine work (hours); one still running at the next cut-off would keep Airflow from creating
    # that quincena's run (catchup=False): fail it first, so the schedule goes on.
    dagrun_timeout=timedelta(days=config.CYCLE_RUN_TIMEOUT_DAYS),
    tags=["quincena", "deepseek"],
    doc_md=__doc__,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    params={
        "cycle": Param(
            None,
            type=["null", "string"],
            pattern=r"^(|\d{4}-(0[1-9]|1[0-2])-Q[12])$",
            title="Quincena",
            description="e.g. 2026-11-Q1 (1st-15th) or 2026-11-Q2 (16th-end); empty = this run's data interval",
        ),
        "companies": Param(
            [], type="array", items={"type": "string"}, title="Companies",
            description="NITs without check digit, one per line; empty = every active company",
        ),
        "dry_run": Param(False, type="boolean", title="Dry run", description="ingest and plan only: no DeepSeek calls"),
        "model": Param(
            None, type=["null", "string"], title="Model", description="empty = the deepseek_default connection's model"
        ),
        "invoices_per_request": Param(
            8, type="integer", minimum=1, maximum=40, title="Invoices per request",
            description="invoices of ONE company sent together in a request",
        ),
        "offpeak_policy": Param(
            None, type=["null", "string"], enum=[None, "strict", "prefer", "ignore"], title="Off-peak policy",
            description="strict: no DeepSeek request starts in a peak billing window; prefer: start off-peak, "
            "then run through; ignore: never wait; empty = QUINCENA_OFFPEAK_POLICY (default strict)",
        ),
    },
)  # fmt: skip
def quincena_cycle():
    @task
    def plan() -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from quincena.pipeline import cycle

        context = get_current_context()
        try:
            return cycle.resolve_cycle(
                context.get("data_interval_start"), context.get("data_interval_end"), dict(context["params"])
            )
        except cycle.PlanError as exc:  # a bad cycle or NIT: retrying cannot help, fail the run now
            raise AirflowFailException(str(exc)) from exc

    @task
    def targets(cycle_plan: dict) -> list[dict]:
        from quincena.pipeline import cycle

        return cycle.company_targets(cycle_plan)

    @task_group(group_id="company")
    def company(target: dict):
        @task(map_index_template=COMPANY_LABEL)
        def ingest(target: dict) -> dict:
            from quincena.pipeline import cycle

            return cycle.ingest(target)

        @task(map_index_template=COMPANY_LABEL)
        def plan_batches(target: dict, ingested: dict) -> list[dict]:
            from quincena.pipeline import cycle

            return cycle.plan_batches(target)

        # all_done: classify_lane (shared by every company) is upstream; the step itself fails when
        # its company still has pending invoices, so one company's failure does not stop the others.
        @task(map_index_template=COMPANY_LABEL, trigger_rule="all_done")
        def store_entries(target: dict, planned: list[dict]) -> dict:
            from airflow.sdk.exceptions import AirflowFailException

            from quincena.pipeline import cycle

            try:
                return cycle.store_entries(target, require_complete=True)
            except cycle.IncompleteCompany as exc:  # pending invoices wait for the lanes: retrying cannot help
                raise AirflowFailException(str(exc)) from exc

        @task(map_index_template=COMPANY_LABEL)
        def summarize(target: dict, stored: dict) -> dict:
            from quincena.pipeline import cycle

            return cycle.summarize(target)

        planned = plan_batches(target, ingest(target))
        stored = store_entries(target, planned)
        entry_steps.append(stored)
        summarize(target, stored)
        return planned  # the company's batches, gathered by `schedule`

    entry_steps: list = []  # company.store_entries, to hang it after classify_lane below

    @task
    def schedule(cycle_plan: dict, company_targets: list[dict], planned: list[list[dict]]) -> list[dict]:
        """Queue every company's batches in fair order; the classify lanes; when classification may start."""
        import pendulum

        from quincena.deepseek import offpeak
        from quincena.pipeline import cycle

        context = get_current_context()
        policy = offpeak.resolve_policy(context["params"].get("offpeak_policy"))
        now = pendulum.now("UTC")
        start = offpeak.wait_until(now, policy, model=cycle_plan["settings"].get("model"))
        context["ti"].xcom_push(key="start_at", value=start.isoformat())
        return cycle.schedule_lanes(company_targets, list(planned), policy, now=now)

    # Off-peak: wait for the peak window to end, deferred (in the triggerer: no worker, no pool slot).
    wait_offpeak = DateTimeSensorAsync(
        task_id="wait_offpeak", target_time="{{ ti.xcom_pull(task_ids='schedule', key='start_at') }}"
    )

    # One pool slot = one request in flight: each lane sends one request at a time, taking the next ready
    # batch of any company from the cycle's queue as soon as its request ends.
    @task(pool=config.DEEPSEEK_POOL, pool_slots=1, map_index_template=LANE_LABEL)
    def classify_lane(lane: dict) -> dict:
        from airflow.sdk.exceptions import AirflowFailException, AirflowRescheduleException

        from quincena.classify import classifier
        from quincena.pipeline import cycle

        try:
            return cycle.classify_lane(lane)
        except cycle.PeakHours as exc:  # strict off-peak policy: give the slot back until the window ends
            raise AirflowRescheduleException(exc.until) from exc
        except classifier.ClassificationHalted as exc:
            if not exc.retryable:  # 402 or no usable key: retrying cannot help, a person must act
                raise AirflowFailException(str(exc)) from exc
            raise

    @task(trigger_rule="all_done")
    def aggregate_costs(cycle_plan: dict | None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from quincena.pipeline import cycle

        if cycle_plan is None:  # fail (not skip): a skipped leaf would let the run end green
            raise AirflowFailException("the plan task failed (see its log): there is no cycle to aggregate")
        return cycle.aggregate(cycle_plan)

    @task(trigger_rule="all_done")
    def request_approvals(cycle_plan: dict | None, summary: dict | None) -> list[dict]:
        """The books runs to start: each complete company's, unless its approved books did not change."""
        from quincena.pipeline import cycle

        if cycle_plan is None:
            return []
        return cycle.approval_requests(cycle_plan, get_current_context()["run_id"])

    @task(trigger_rule="all_done")
    def check_complete(cycle_plan: dict | None) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        from quincena.pipeline import cycle

        if cycle_plan is None:
            raise AirflowFailException("the plan task failed (see its log)")
        try:
            cycle.check_complete(cycle_plan)
        except cycle.IncompleteCompany as exc:  # the lanes have ended: only a person's resume can finish them
            raise AirflowFailException(str(exc)) from exc

    cycle_plan = plan()
    company_targets = targets(cycle_plan)
    planned = company.expand(target=company_targets)
    lanes = schedule(cycle_plan, company_targets, planned)
    classified = classify_lane.expand(lane=lanes)
    lanes >> wait_offpeak >> classified >> entry_steps[0]
    summary = aggregate_costs(cycle_plan)
    planned.operator.task_group >> summary
    # One quincena_books run per company-cycle to approve; an existing run (the same books) is not asked again.
    ask = TriggerDagRunOperator.partial(
        task_id="ask_accountants", trigger_dag_id=config.BOOKS_DAG_ID, logical_date=None,
        skip_when_already_exists=True, wait_for_completion=False, map_index_template=REQUEST_LABEL,
    ).expand_kwargs(request_approvals(cycle_plan, summary))  # fmt: skip
    ask >> check_complete(cycle_plan)


quincena_cycle()
