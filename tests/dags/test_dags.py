"""The DAG files: parse cleanly, wire the contract ids, pool, mapping and quincena intervals."""

import subprocess
import sys

import pendulum
from airflow.timetables.base import DataInterval, TimeRestriction

from tests.fixtures.airflow import REPO

BOGOTA = "America/Bogota"


def test_dag_ids_are_the_contract(dagbag) -> None:
    assert {"quincena_cycle", "deepseek_weekly_health"} <= set(dagbag.dag_ids)


def test_cycle_dag_shape(dagbag) -> None:
    dag = dagbag.get_dag("quincena_cycle")
    classify = dag.get_task("classify_lane")
    assert classify.pool == "deepseek" and classify.pool_slots == 1  # one slot = one request in flight
    assert {"schedule", "wait_offpeak"} <= classify.upstream_task_ids
    assert dag.get_task("wait_offpeak").start_trigger_args is not None  # deferrable: waits in the triggerer
    assert "classify_lane" in dag.get_task("company.store_entries").upstream_task_ids
    assert dag.get_task("aggregate_costs").trigger_rule == "all_done"
    assert set(dag.params.keys()) == {
        "cycle",
        "companies",
        "dry_run",
        "model",
        "invoices_per_request",
        "offpeak_policy",
    }
    assert dag.catchup is False


def _next_interval(dag, after: DataInterval | None, earliest) -> DataInterval:
    from airflow.serialization.encoders import coerce_to_core_timetable

    info = coerce_to_core_timetable(dag.timetable).next_dagrun_info(
        last_automated_data_interval=after, restriction=TimeRestriction(earliest=earliest, latest=None, catchup=True)
    )
    return info.data_interval


def test_runs_are_quincenas(dagbag) -> None:
    """Each run covers one quincena; it starts at 05:00 Bogotá (10:00 UTC), when DeepSeek's morning peak
    billing window ends, so the intervals run from 05:00 to 05:00 of the quincenas' first days."""
    from quincena.pipeline import cycle

    dag = dagbag.get_dag("quincena_cycle")
    first = _next_interval(dag, None, pendulum.datetime(2026, 11, 1, tz=BOGOTA))
    assert (first.start, first.end) == (
        pendulum.datetime(2026, 11, 1, 5, tz=BOGOTA),
        pendulum.datetime(2026, 11, 16, 5, tz=BOGOTA),
    )
    second = _next_interval(dag, first, None)
    assert (second.start, second.end) == (
        pendulum.datetime(2026, 11, 16, 5, tz=BOGOTA),
        pendulum.datetime(2026, 12, 1, 5, tz=BOGOTA),
    )
    assert cycle.periods.cycle_for_interval(first.start.date(), first.end.date()) == "2026-11-Q1"
    assert cycle.periods.cycle_for_interval(second.start.date(), second.end.date()) == "2026-11-Q2"
    from quincena.deepseek import offpeak

    assert not offpeak.in_peak(first.end) and offpeak.peak_end(first.end.subtract(minutes=1)) == first.end


def test_dag_files_do_no_database_or_network_work_at_parse_time(tmp_path) -> None:
    """Parsing with an unreachable database and DeepSeek must still succeed."""
    code = (
        "import sys; from airflow.dag_processing.dagbag import DagBag; "
        f"bag = DagBag(dag_folder={str(REPO / 'dags')!r}); "
        "print(sorted(bag.dag_ids)); sys.exit(1 if bag.import_errors else 0)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_QUINCENA_DB": "postgresql://nobody@10.255.255.1:1/none",
        "AIRFLOW_CONN_DEEPSEEK_DEFAULT": '{"conn_type": "deepseek", "host": "http://10.255.255.1:1"}',
    }
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "quincena_cycle" in result.stdout and "deepseek_weekly_health" in result.stdout


def test_the_offpeak_wait_defers_instead_of_holding_a_worker(dagbag) -> None:
    """wait_offpeak hands its wait to the triggerer (TaskDeferred with a DateTimeTrigger at the target)."""
    import copy

    import pytest
    from airflow.providers.standard.triggers.temporal import DateTimeTrigger
    from airflow.sdk.exceptions import TaskDeferred

    sensor = copy.copy(dagbag.get_dag("quincena_cycle").get_task("wait_offpeak"))
    sensor.target_time = "2026-11-17T04:00:00+00:00"  # what `schedule` pushes when a run starts in a window
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, DateTimeTrigger) and trigger.moment.isoformat() == "2026-11-17T04:00:00+00:00"
    assert dagbag.get_dag("quincena_cycle").get_task("wait_offpeak").pool != "deepseek"
