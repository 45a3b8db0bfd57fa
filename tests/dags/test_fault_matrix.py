"""The fault matrix (issue 7): each row drives the cycle's own functions (quincena.pipeline.cycle) for one or
two small companies against the real DeepSeek simulator and the real PostgreSQL, injects one fault,
and checks the same invariants through ``_assert_invariants``: nothing lost (every invoice ends
classified or in review after at most one re-run), nothing counted twice (one classification per
line, one ledger row per answered request, cycle costs that add up), no secret anywhere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from quincena.classify.classifier import ClassificationHalted
from quincena.core import db
from quincena.costs import cycle_costs as costs
from quincena.devtools import sample
from quincena.pipeline import cycle
from tests.fixtures import dian_docs
from tests.fixtures.simulator import SIM_KEYS
from tests.helpers import assert_ledger_matches_answers
from tests.helpers import count as _count
from tests.helpers import wait_for as _wait_for

CYCLE = "2026-11-Q1"
INVOICES = 12
PER_REQUEST = 2  # small batches: several requests per company
CONCURRENCY = 2


# --- helpers -----------------------------------------------------------------------------------------


@pytest.fixture
def matrix(simulated_firm, caplog):
    """A private inbox and reports folder, the DeepSeek connection on the simulator, logs at DEBUG."""
    caplog.set_level("DEBUG")
    return simulated_firm


def _start_cycle(companies: int = 1, seed: int = 3, invoices: int = INVOICES) -> tuple[dict, list[dict]]:
    """Sample inbox → resolve_cycle → ingest each company; returns the cycle and its targets."""
    inbox = Path(os.environ["QUINCENA_INBOX"])
    chosen = sample.generate(companies=companies, invoices=invoices, inbox=inbox, seed=seed, period=CYCLE)
    params = {"cycle": CYCLE, "companies": [c.nit for c in chosen], "invoices_per_request": PER_REQUEST}
    run = cycle.resolve_cycle(None, None, params)
    targets = cycle.company_targets(run)
    for target in targets:
        assert cycle.ingest(target)["ingested"] > 0
    return run, targets


def _classify(target: dict, concurrency: int = CONCURRENCY) -> ClassificationHalted | None:
    try:
        cycle.classify(target, concurrency=concurrency)
    except ClassificationHalted as exc:
        return exc
    return None


def _pending(nit: str | None = None) -> int:
    if nit is None:
        return _count("SELECT count(*) AS n FROM invoices WHERE status = 'pending'")
    return _count("SELECT count(*) AS n FROM invoices WHERE status = 'pending' AND company_nit = %s", (nit,))


def _done(nit: str) -> int:
    return _count("SELECT count(*) AS n FROM invoices WHERE company_nit = %s AND status <> 'pending'", (nit,))


def _ledger_per_key(where: str = "TRUE") -> dict[str, int]:
    rows = db.query_text(f"SELECT key_name, count(*) AS n FROM api_calls WHERE {where} GROUP BY 1")
    return {r["key_name"]: r["n"] for r in rows}


def _all_text_in_database() -> str:
    tables = db.query_text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return "\n".join(json.dumps(db.query_text(f'SELECT * FROM "{t["tablename"]}"'), default=str) for t in tables)


def _assert_no_secret(capfd, caplog) -> None:
    captured = capfd.readouterr()
    logs = "\n".join(p.read_text(errors="replace") for p in Path(os.environ["AIRFLOW_HOME"]).rglob("*.log"))
    haystack = _all_text_in_database() + logs + captured.out + captured.err + caplog.text
    # Re-emit what was captured so a failing row still shows its output.
    sys.stdout.write(captured.out)
    sys.stderr.write(captured.err)
    for secret in SIM_KEYS.values():
        assert secret not in haystack
    assert "sim-key-" in haystack  # the key names are there: the search looked in the right places


def _assert_invariants(
    simulator, run: dict, targets: list[dict], capfd, caplog, killed_workers: int = 0
) -> dict[str, Any]:
    """The matrix's one set of invariants, checked after the row's (at most one) re-run.

    ``killed_workers``: classify processes of concurrency 1 killed mid-attempt (each may leave one
    in_flight ledger row)."""
    # Nothing lost: no invoice left pending.
    assert _pending() == 0, db.query_text(
        "SELECT company_nit, count(*) FROM invoices WHERE status='pending' GROUP BY 1"
    )
    # Nothing classified twice: one classification per line of a classified invoice, never two per line.
    bad_lines = (
        "SELECT count(*) AS n FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id "
        "WHERE i.status = 'classified' AND (SELECT count(*) FROM classifications c WHERE c.invoice_line_id = l.id) <> 1"
    )
    assert _count(bad_lines) == 0
    twice = "SELECT count(*) AS n FROM (SELECT invoice_line_id FROM classifications GROUP BY 1 HAVING count(*) > 1) d"
    assert _count(twice) == 0
    assert _count("SELECT count(*) AS n FROM invoices WHERE status = 'review' AND status_reason IS NULL") == 0
    # One completed ledger row per answered request, key by key, plus in_flight rows only for attempts a
    # killed worker never recorded; no attempt recorded twice.
    assert _count("SELECT count(*) - count(DISTINCT attempt_id) AS n FROM api_calls") == 0
    stats = simulator.settled_stats(timeout=30)  # once the simulator has finished (and counted) its requests
    # A timed-out attempt was abandoned, not answered. Only a killed worker leaves in_flight rows.
    assert assert_ledger_matches_answers(stats["requests_per_key"], ("timeout",)) <= killed_workers
    # Costs: the companies add up to the cycle total, which is the ledger's total.
    nits = [t["company_nit"] for t in targets]
    result = costs.compute(CYCLE, nits)
    ledger_total = db.query_text("SELECT coalesce(sum(cost_usd), 0) AS s FROM api_calls WHERE cycle_id = %s", (CYCLE,))
    assert sum(Decimal(r["cost_usd"]) for r in result.companies) == result.total["cost_usd"] == ledger_total[0]["s"]
    assert result.total["cost_usd"] > 0
    # The cycle closes complete, with entries posted for every company.
    for target in targets:
        cycle.store_entries(target)
    summary = cycle.aggregate(run)
    assert summary["incomplete_companies"] == []
    cycle.check_complete(run)  # reads the database: nothing pending
    _assert_no_secret(capfd, caplog)
    return stats


# --- the rows -----------------------------------------------------------------------------------------


def test_429_storm(matrix, capfd, caplog) -> None:
    run, targets = _start_cycle(companies=2, seed=31)
    matrix.configure(rate_429=0.3)
    for target in targets:
        assert _classify(target) is None
    _assert_invariants(matrix, run, targets, capfd, caplog)
    assert _count("SELECT count(*) AS n FROM api_calls WHERE outcome = 'rate_limited'") > 0


def test_500_503_bursts(matrix, capfd, caplog) -> None:
    run, targets = _start_cycle(companies=2, seed=32)
    matrix.configure(script=["500", "500", "500", "503", "503", "503"], rate_500=0.1, rate_503=0.1)
    for target in targets:
        assert _classify(target) is None
    stats = _assert_invariants(matrix, run, targets, capfd, caplog)
    assert stats["status_counts"].get("500", 0) >= 3 and stats["status_counts"].get("503", 0) >= 3


def test_blank_line_keepalive(matrix, capfd, caplog) -> None:
    run, targets = _start_cycle(seed=33)
    # Every answer arrives after blank keep-alive lines, slower than the interval between them.
    matrix.configure(latency_ms=120, latency_sd_ms=0, keepalive_interval_s=0.02)
    assert _classify(targets[0]) is None
    stats = _assert_invariants(matrix, run, targets, capfd, caplog)
    assert stats["keepalive_lines"] >= stats["requests"] * 2
    assert _count("SELECT count(*) AS n FROM api_calls WHERE outcome <> 'ok'") == 0


def test_request_that_never_starts(matrix, deepseek_conn, capfd, caplog) -> None:
    deepseek_conn(timeout=0.3, deadline=0.8, read_timeout=1)
    run, targets = _start_cycle(seed=34)
    nit = targets[0]["company_nit"]
    matrix.configure(rate_never_start=1.0)  # DeepSeek holds every request open with blank lines
    started = time.monotonic()
    halted = _classify(targets[0])
    assert isinstance(halted, ClassificationHalted) and halted.retryable, halted
    assert time.monotonic() - started < 30
    assert _pending(nit) > 0  # the batches stay pending
    assert _count("SELECT count(*) AS n FROM api_calls WHERE outcome = 'timeout'") > 0
    # The server saw each timed-out attempt abandoned by its client (none answered, none billed).
    timeouts = _ledger_per_key("outcome = 'timeout'")
    _wait_for(lambda: matrix.stats()["abandoned_per_key"] == timeouts, 30, "the server to see every abandon")
    matrix.configure(rate_never_start=0.0)
    assert _classify(targets[0]) is None  # the re-run
    _assert_invariants(matrix, run, targets, capfd, caplog)


def test_blank_and_truncated_json(matrix, capfd, caplog) -> None:
    run, targets = _start_cycle(companies=2, seed=35)
    matrix.configure(script=["blank", "truncated", "blank", "truncated"], rate_blank=0.1, rate_truncated=0.1)
    for target in targets:
        assert _classify(target) is None
    stats = _assert_invariants(matrix, run, targets, capfd, caplog)
    assert stats["faults"].get("blank", 0) >= 2 and stats["faults"].get("truncated", 0) >= 2


def test_off_catalog_accounts(matrix, capfd, caplog) -> None:
    run, targets = _start_cycle(companies=2, seed=36)
    wrong, right = targets
    matrix.configure(rate_off_catalog=1.0)  # every account of these requests is outside the PUC
    assert _classify(wrong) is None
    report_retries = _count("SELECT count(*) AS n FROM api_calls WHERE company_nit = %s", (wrong["company_nit"],))
    matrix.configure(rate_off_catalog=0.0)
    assert _classify(right) is None
    _assert_invariants(matrix, run, targets, capfd, caplog)
    # Retried once with the errors, then review with the reason: nothing off-catalog is stored.
    assert report_retries >= 2
    reviews = db.query_text(
        "SELECT status, status_reason FROM invoices WHERE company_nit = %s", (wrong["company_nit"],)
    )
    assert reviews and all(r["status"] == "review" for r in reviews)
    assert all("no es una subcuenta de compras del catálogo" in r["status_reason"] for r in reviews)
    assert _count("SELECT count(*) AS n FROM classifications WHERE company_nit = %s", (wrong["company_nit"],)) == 0
    assert _count("SELECT count(*) AS n FROM invoices WHERE company_nit = %s AND status = 'classified'", (
        right["company_nit"],
    )) > 0  # fmt: skip


def test_key_revoked_mid_cycle(matrix, capfd, caplog) -> None:
    run, targets = _start_cycle(companies=2, seed=37)
    revoked = "sim-key-2"
    matrix.configure(latency_ms=40, latency_sd_ms=0)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for target in targets:
                assert _classify(target) is None
        except BaseException as exc:  # surfaced by the main thread
            errors.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    _wait_for(lambda: matrix.stats()["requests"] >= 3, 30, "the first requests")
    matrix.configure(revoked_keys=[revoked])
    worker.join(60)
    assert not worker.is_alive() and not errors, errors
    _assert_invariants(matrix, run, targets, capfd, caplog)
    key = db.query_text("SELECT * FROM api_keys WHERE name = %s", (revoked,))[0]
    assert key["status"] == "disabled" and "401" in key["disabled_reason"]
    assert _count("SELECT count(*) AS n FROM api_calls WHERE key_name = %s AND status_code = 401", (revoked,)) >= 1
    picked_after = "SELECT count(*) AS n FROM api_calls WHERE key_name = %s AND started_at > %s"
    assert _count(picked_after, (revoked, key["disabled_at"])) == 0
    others = _ledger_per_key(f"key_name <> '{revoked}' AND outcome = 'ok'")
    assert len(others) == len(SIM_KEYS) - 1


def test_balance_exhausted_then_topped_up(matrix, capfd, caplog) -> None:
    run, targets = _start_cycle(companies=2, seed=38)
    first, second = targets
    assert _classify(first) is None
    spent = Decimal(matrix.stats()["spend_usd"])
    # Room for about a quarter of what the first company cost: the second one runs dry mid-way.
    matrix.configure(spend_limit_usd=spent + spent / 4)
    started = time.monotonic()
    halted = _classify(second)
    assert isinstance(halted, ClassificationHalted) and not halted.retryable, halted
    assert "402" in str(halted)
    assert time.monotonic() - started < 10
    nit = second["company_nit"]
    assert _pending(nit) > 0
    first_402 = db.query_text("SELECT min(started_at) AS t FROM api_calls WHERE status_code = 402")[0]["t"]
    assert first_402 is not None
    # No further requests after the 402: at most the other slot's request in flight, and it got 402 too.
    later = db.query_text("SELECT status_code FROM api_calls WHERE started_at > %s", (first_402,))
    assert len(later) <= CONCURRENCY - 1 and all(r["status_code"] == 402 for r in later)
    stored = db.query_text("SELECT id, status FROM invoices WHERE company_nit = %s AND status <> 'pending'", (nit,))
    lines = _count("SELECT count(*) AS n FROM classifications WHERE company_nit = %s", (nit,))
    matrix.topup("1.00")
    assert _classify(second) is None  # the re-run after the top-up
    _assert_invariants(matrix, run, targets, capfd, caplog)
    # The batches stored before the halt are intact.
    # (store_entries, in the invariants, may send a classified invoice to review over its XML's withholdings.)
    rows = db.query_text("SELECT id, status, status_reason FROM invoices WHERE company_nit = %s", (nit,))
    after = {r["id"]: r for r in rows}
    for r in stored:
        now = after[r["id"]]
        withholdings_review = now["status"] == "review" and "las retenciones del XML difieren" in now["status_reason"]
        assert now["status"] == r["status"] or (r["status"] == "classified" and withholdings_review), (r, now)
    assert _count("SELECT count(*) AS n FROM classifications WHERE company_nit = %s", (nit,)) >= lines


def _classify_in_subprocess(target: dict) -> subprocess.Popen:
    code = f"from quincena.pipeline import cycle; cycle.classify({target!r}, concurrency=1)"
    return subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy(), start_new_session=True)


def test_worker_killed_mid_company(matrix, capfd, caplog) -> None:
    run, targets = _start_cycle(seed=39)
    target = {**targets[0], "settings": {**targets[0]["settings"], "invoices_per_request": 1}}
    nit = target["company_nit"]
    total = _count("SELECT count(*) AS n FROM invoices WHERE company_nit = %s", (nit,))
    matrix.configure(latency_ms=150, latency_sd_ms=0)  # slow enough to be caught mid-way
    proc = _classify_in_subprocess(target)
    try:
        _wait_for(lambda: _done(nit) >= 2, 60, "the first classified invoices")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    killed_done = _done(nit)
    assert 2 <= killed_done < total, "the kill must land mid-company for this test to mean anything"
    matrix.configure(latency_ms=2, latency_sd_ms=1)
    assert _classify(target) is None  # the task re-run
    _assert_invariants(matrix, run, targets, capfd, caplog, killed_workers=1)
    assert _done(nit) == total


def _pg_ctl_restart() -> None:
    import pgserver

    from quincena.devtools import embedded

    directory = embedded.data_dir()
    pg_ctl = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_ctl"
    log_file = directory / "restart.log"
    cmd = [str(pg_ctl), "-D", str(directory), "-m", "fast", "-w", "-t", "60", "-l", str(log_file), "restart"]
    result = subprocess.run(  # the server it starts must not hold our pipes open: files, not pipes
        cmd,
        check=False,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        user=directory.stat().st_uid,
        timeout=90,
    )
    assert result.returncode == 0, log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""


def test_postgres_restarted_mid_cycle(matrix, capfd, caplog) -> None:
    if os.environ.get("DATABASE_URL"):
        pytest.skip("DATABASE_URL points at a server this test does not own: it restarts only the embedded one")
    run, targets = _start_cycle(seed=40)
    target = {**targets[0], "settings": {**targets[0]["settings"], "invoices_per_request": 1}}
    nit = target["company_nit"]
    total = _count("SELECT count(*) AS n FROM invoices WHERE company_nit = %s", (nit,))
    matrix.configure(latency_ms=120, latency_sd_ms=0)
    proc = _classify_in_subprocess(target)
    try:
        _wait_for(lambda: _done(nit) >= 2, 60, "the first classified invoices")
        _pg_ctl_restart()
        proc.wait(timeout=60)  # it fails on the lost connection or finishes: either way it ends
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    _wait_for(lambda: _can_query(), 30, "PostgreSQL to accept connections again")
    assert _done(nit) >= 2
    matrix.configure(latency_ms=2, latency_sd_ms=1)
    assert _classify(target) is None  # the re-run
    _assert_invariants(matrix, run, targets, capfd, caplog, killed_workers=1)
    assert _done(nit) == total


def _can_query() -> bool:
    try:
        return _count("SELECT 1 AS n") == 1
    except Exception:
        return False


def test_hostile_and_malformed_xml(matrix, tmp_path, capfd, caplog) -> None:
    inbox = Path(os.environ["QUINCENA_INBOX"])
    chosen = sample.generate(companies=1, invoices=INVOICES, inbox=inbox, seed=41, period=CYCLE)
    nit = chosen[0].nit
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-PAYROLL-77aa", encoding="utf-8")
    folder = inbox / nit / "hostil"
    folder.mkdir(parents=True, exist_ok=True)
    bad = {
        "xxe.xml": dian_docs.attached_xml(dian_docs.XXE_TEMPLATE.format(path=secret)),
        "lol.xml": dian_docs.BILLION_LAUGHS,
        "roto.xml": dian_docs.invoice_xml()[:700],
        "basura.xml": "<<<not xml at all",
    }
    for name, text in bad.items():
        (folder / name).write_text(text, encoding="utf-8")
    params = {"cycle": CYCLE, "companies": [nit], "invoices_per_request": PER_REQUEST}
    run = cycle.resolve_cycle(None, None, params)
    targets = cycle.company_targets(run)
    report = cycle.ingest(targets[0])
    assert report["ingested"] > 0
    rows = {
        Path(r["path"]).name: r
        for r in db.query_text("SELECT * FROM ingested_files WHERE outcome = 'quarantined'")
        if "hostil" in r["path"]
    }
    assert set(rows) == set(bad)
    assert rows["xxe.xml"]["reason_code"] == rows["lol.xml"]["reason_code"] == "hostile_xml"
    assert rows["roto.xml"]["reason_code"] == rows["basura.xml"]["reason_code"] == "malformed_xml"
    assert _count("SELECT count(*) AS n FROM ingested_files WHERE outcome = 'quarantined' AND reason IS NULL") == 0
    files = [p for p in inbox.rglob("*") if p.is_file() and p.suffix in (".xml", ".zip")]
    assert _count("SELECT count(*) AS n FROM ingested_files") == len(files)
    assert _classify(targets[0]) is None
    _assert_invariants(matrix, run, targets, capfd, caplog)
    assert "TOP-SECRET" not in _all_text_in_database()


def test_no_secret_after_the_matrix(database_uri, capfd, caplog) -> None:
    """After every row: no API key secret in any table, Airflow log file or captured output."""
    captured = capfd.readouterr()
    logs = "\n".join(p.read_text(errors="replace") for p in Path(os.environ["AIRFLOW_HOME"]).rglob("*.log"))
    haystack = _all_text_in_database() + logs + captured.out + captured.err + caplog.text
    for secret in SIM_KEYS.values():
        assert secret not in haystack
