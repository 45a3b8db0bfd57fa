"""The accountant's loop on the real stack (`quincena demo start`: PostgreSQL, simulator, Airflow's four
components with our plugin, the real scheduler): the cycle run classifies and ends; each company's
quincena_books run waits at its approval request (awaiting input, holding no worker); the next quincena's
run starts and ends while they wait; in headless Chromium the accountant logs in, opens the review page,
corrects a line (Enter saves), repeats it on its look-alike lines with one click and approves the invoice;
then each company is approved or rejected through Airflow's REST API (``PATCH …/hitlDetails``), one of them
twice at the same moment, and the decisions are recorded.

The browser part needs Debian's ``chromium`` and ``chromium-driver`` (`.ci/run` installs them); without
them it is skipped with that reason, the REST part still runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from quincena.devtools.demo.airflow_api import answerable
from tests.devtools.test_demo import QUINCENA, REPO, START_TIMEOUT_S, poll, private_demo_env, quincena

pytestmark = pytest.mark.e2e

COMPANIES, INVOICES, SAMPLE_SEED = 2, 16, 14
DAG = "quincena_cycle"
BOOKS = "quincena_books"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
NO_BROWSER = "no browser: install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, Any]]:
    env = private_demo_env("quincena-review-", COMPANIES, INVOICES)
    # A sample whose invoices in review include a supplier's repeated line, in whichever quincena the suite runs
    # (checked on four consecutive quincenas: the documents are the seed's, only their dates move).
    env["QUINCENA_DEMO_SEED"] = str(SAMPLE_SEED)
    local = Path(env["QUINCENA_LOCAL"])
    try:
        quincena(env, "demo", "start", timeout=START_TIMEOUT_S)
        base = f"http://127.0.0.1:{env['QUINCENA_DEMO_API_PORT']}"
        token = _token(base, local)
        run = requests.get(f"{base}/api/v2/dags/{DAG}/dagRuns", headers=_auth(token), timeout=60).json()
        # The browser opens the UI where Airflow is configured to be ([api] base_url): the review pages
        # accept a POST only from that origin.
        ui = f"http://localhost:{env['QUINCENA_DEMO_API_PORT']}"
        yield {"env": env, "local": local, "base": base, "ui": ui, "token": token, "run": run["dag_runs"][0]}
    finally:
        subprocess.run([*QUINCENA, "demo", "stop"], env=env, cwd=REPO, capture_output=True, timeout=120)
        shutil.rmtree(local, ignore_errors=True)


def _password(local: Path, user: str = "admin") -> str:
    password_file = local / "airflow" / "simple_auth_manager_passwords.json.generated"
    return json.loads(password_file.read_text())[user]


def _admin_password(local: Path) -> str:
    return _password(local, "admin")


@contextmanager
def _logged_in(base: str, user: str, password: str) -> Iterator[Any]:
    """Headless Chromium logged in to Airflow's login page as ``user``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    wait = WebDriverWait(driver, 60)
    try:
        driver.get(f"{base}/auth/login")
        user_field = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[name='username']")))
        user_field.send_keys(user)
        driver.find_element(By.CSS_SELECTOR, "input[type='password']").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "button[type='submit']").click()
        wait.until(lambda d: d.get_cookie("_token") is not None)
        yield driver
    finally:
        driver.quit()


def _token(base: str, local: Path) -> str:
    """A JWT for admin (the api-server's single worker may be slow to answer right after start)."""
    body = {"username": "admin", "password": _admin_password(local)}
    response = requests.post(f"{base}/auth/token", json=body, timeout=120)
    response.raise_for_status()
    return response.json()["access_token"]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _firm(stack: dict[str, Any], sql: str, params: Any = None) -> list[tuple]:
    with psycopg.connect(f"postgresql://postgres:@/quincena?host={stack['local'] / 'pgdata'}") as conn:
        return conn.execute(sql, params).fetchall()


def _open_requests(
    stack: dict[str, Any], every: bool = True, cycle_id: str | None = None
) -> list[dict[str, Any]] | None:
    """The unanswered approval requests of the stack's quincena (or ``cycle_id``'s); with ``every``, only once
    every company's
    request is parked (None before). The request is written before its task parks, so a request alone is
    not enough."""
    url = f"{stack['base']}/api/v2/dags/{BOOKS}/dagRuns/~/hitlDetails"
    found = requests.get(url, params={"response_received": "false"}, headers=_auth(stack["token"]), timeout=60)
    found.raise_for_status()
    mine = f"books__{cycle_id or stack['run']['conf']['cycle']}__"
    details = [d for d in found.json()["hitl_details"] if d["task_instance"]["dag_run_id"].startswith(mine)]
    if not every:
        return details
    parked = [d for d in details if d["task_instance"]["state"] == "awaiting_input"]  # no worker, no pool slot
    return parked if len(parked) == COMPANIES else None


@pytest.fixture(scope="module")
def waiting(stack) -> list[dict[str, Any]]:
    details = poll("every company's approval request, parked", lambda: _open_requests(stack), 240)
    cycle_id = stack["run"]["conf"]["cycle"]
    for detail in details:
        assert detail["options"] == ["Aprobar", "Rechazar"] and "/review/ciclo/" in detail["body"]
        assert detail["subject"].startswith(f"Aprobar {cycle_id} · ")  # findable: the quincena and the company
        assert detail["task_instance"]["dag_run_id"].startswith(f"books__{cycle_id}__")
    return details


def _run_state(stack: dict[str, Any], dag_id: str, run_id: str) -> str:
    url = f"{stack['base']}/api/v2/dags/{dag_id}/dagRuns/{run_id}"
    return requests.get(url, headers=_auth(stack["token"]), timeout=60).json()["state"]


def test_the_cycle_ends_and_the_next_one_runs_while_its_companies_wait(stack, waiting, tmp_path) -> None:
    run_id = stack["run"]["dag_run_id"]
    assert poll("the cycle run to end", lambda: _run_state(stack, DAG, run_id) in ("success", "failed"), 240)
    assert _run_state(stack, DAG, run_id) == "success"  # its machine work is done; nobody has answered yet
    cycle_id = stack["run"]["conf"]["cycle"]
    report = stack["local"] / "reports" / cycle_id / "cycle_report.html"
    # The cost report was written when classification ended; each request shows in it as it opens.
    assert poll(
        "the report to show the waiting companies",
        lambda: report.read_text(encoding="utf-8").count("esperando aprobación desde") == COMPANIES,
        60,
    )

    # The next quincena's run starts and ends while the first one's companies still wait for their accountant.
    year, month, half = cycle_id[:4], int(cycle_id[5:7]), cycle_id[-1]
    following = f"{year}-{month:02d}-Q2" if half == "1" else f"{int(year) + (month == 12)}-{month % 12 + 1:02d}-Q1"
    body = {"dag_run_id": f"manual__{following}", "logical_date": None, "conf": {"cycle": following}}
    url = f"{stack['base']}/api/v2/dags/{DAG}/dagRuns"
    created = requests.post(url, json=body, headers=_auth(stack["token"]), timeout=60)
    assert created.status_code == 200, created.text
    screenshot = os.environ.get("TWO_RUNS_SCREENSHOT")  # set to refresh docs/two-runs.png
    if screenshot and CHROMIUM and CHROMEDRIVER:
        _screenshot_runs(stack, screenshot)
    ended = poll("the next quincena's run to end", lambda: _run_state(stack, DAG, body["dag_run_id"]) in
                 ("success", "failed") or None, 300)  # fmt: skip
    assert ended and _run_state(stack, DAG, body["dag_run_id"]) == "success"
    assert len(_open_requests(stack, every=False)) == COMPANIES  # still waiting, untouched
    # The new quincena (no invoices yet) asks each accountant too: an empty quincena is confirmed, not assumed.
    assert poll("the new quincena's requests", lambda: _open_requests(stack, cycle_id=following), 240)
    assert (stack["local"] / "reports" / following / "cycle_report.html").is_file()


def _screenshot_runs(stack: dict[str, Any], path: str) -> None:
    """The UI's list of runs: the next quincena running while the books runs of the first one wait."""
    from selenium.webdriver.support.ui import WebDriverWait

    with _logged_in(stack["ui"], "admin", _admin_password(stack["local"])) as driver:
        driver.get(f"{stack['ui']}/dag_runs")
        WebDriverWait(driver, 60).until(lambda d: "quincena_books" in d.page_source)
        driver.save_screenshot(path)


def test_anonymous_requests_to_the_review_page_are_refused(stack) -> None:
    assert requests.get(f"{stack['base']}/review/", timeout=60).status_code == 401
    assert requests.get(f"{stack['base']}/review/", headers=_auth(stack["token"]), timeout=60).status_code == 200


def _line_with_look_alikes(stack: dict[str, Any], cycle_id: str) -> dict[str, Any]:
    """A line of an invoice in review whose supplier has other lines of the same description in the quincena
    (in review or classified), the first company's (its own chart) first: the lines one correction reaches."""
    from quincena.classify.classifier import description_key

    rows = _firm(
        stack,
        "SELECT i.company_nit, i.id, i.status, i.supplier_nit, l.id, l.description, c.account_code "
        "FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id "
        "LEFT JOIN classifications c ON c.invoice_line_id = l.id "
        "WHERE i.cycle_id = %s AND i.status IN ('review', 'classified') ORDER BY i.company_nit, i.id, l.line_no",
        (cycle_id,),
    )
    groups: dict[tuple[str, str, str], list[tuple]] = {}
    for row in rows:
        groups.setdefault((row[0], row[3], description_key(row[5])), []).append(row)
    for group in groups.values():
        source = next((r for r in group if r[2] == "review"), None)
        if source and len(group) > 1:
            nit, invoice_id, _, _, line_id, description, proposal = source
            return {"nit": nit, "invoice_id": invoice_id, "line_id": line_id, "description": description,
                    "proposal": proposal, "alike": [r[4] for r in group if r is not source],
                    "accounts": {r[6] for r in group}}  # fmt: skip
    pytest.fail("the demo's sample must repeat a supplier's line on an invoice in review")


def _another_account(stack: dict[str, Any], nit: str, cycle_id: str, line: dict[str, Any]) -> str:
    """An account the line may take that no line of its group has yet, from the page's own account search (the
    company's chart when it has one, else the catalog): another auxiliary of the proposal's sub-account when
    there is one (administración → operación), else a service account."""
    url = f"{stack['base']}/review/ciclo/{cycle_id}/empresa/{nit}/cuentas"
    for prefix in ((line["proposal"] or "")[:6], "5135"):
        found = requests.get(url, params={"q": prefix}, headers=_auth(stack["token"]), timeout=60)
        found.raise_for_status()
        free = [a["code"] for a in found.json() if a["code"] not in line["accounts"]]
        if prefix and free:
            return free[0]
    pytest.fail(f"no account to correct line {line['line_id']} to")


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason=NO_BROWSER)
def test_in_a_browser_the_accountant_corrects_repeats_on_look_alikes_and_approves(stack, waiting, tmp_path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    cycle_id = stack["run"]["conf"]["cycle"]
    line = _line_with_look_alikes(stack, cycle_id)
    nit, invoice_id, line_id = line["nit"], line["invoice_id"], line["line_id"]
    account = _another_account(stack, nit, cycle_id, line)
    shots = Path(os.environ.get("REVIEW_SCREENSHOTS", tmp_path))  # set to docs/ to refresh the README's

    with _logged_in(stack["ui"], "admin", _admin_password(stack["local"])) as driver:
        wait = WebDriverWait(driver, 60)
        (charted,) = _firm(stack, "SELECT DISTINCT company_nit FROM chart_imports")  # the demo's first company
        driver.get(f"{stack['ui']}/review/ciclo/{cycle_id}/empresa/{charted[0]}")
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input.account")))
        assert "Plan de cuentas propio" in driver.page_source
        driver.save_screenshot(str(shots / "review-page.png"))

        driver.get(f"{stack['ui']}/review/ciclo/{cycle_id}/empresa/{nit}")
        field = wait.until(ec.presence_of_element_located((By.NAME, f"cuenta_{line_id}")))
        assert "Facturas por revisar" in driver.page_source and "Archivos en cuarentena" in driver.page_source
        field.clear()
        field.send_keys(account)
        audited = "SELECT count(*) FROM classification_history WHERE invoice_id = %s"
        before = _firm(stack, audited, (invoice_id,))[0][0]
        field.send_keys(Keys.ENTER)  # Enter in an account field saves (the form's first button is «Guardar»)
        saved = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "p.ok"))).text
        # The form saves every line's field: the corrected one and the proposals the accountant left as shown,
        # one audit row each.
        written = _firm(stack, audited, (invoice_id,))[0][0] - before
        assert written >= 1 and saved == f"Factura {invoice_id}: {written} línea(s) guardada(s).", saved

        form = wait.until(ec.presence_of_element_located((By.ID, f"factura-{invoice_id}")))
        offer = form.find_element(By.CSS_SELECTOR, f"button.repeat[formaction$='/linea/{line_id}/igualar']")
        assert offer.get_attribute("value") == f"description:{len(line['alike'])}"
        assert f"Aplicar {account} a {len(line['alike'])} línea(s) con la misma descripción" in offer.text
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", offer)
        driver.save_screenshot(str(shots / "look-alikes.png"))
        offer.click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "p.ok")))
        assert f"Cuenta aplicada a {len(line['alike'])} línea(s) parecida(s)" in driver.page_source

        form = driver.find_element(By.ID, f"factura-{invoice_id}")
        form.find_element(By.CSS_SELECTOR, "button[value='aprobar']").click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "p.ok")))
        assert f"Factura {invoice_id} aprobada" in driver.page_source

    assert _firm(stack, "SELECT status FROM invoices WHERE id = %s", (invoice_id,)) == [("classified",)]
    audit = _firm(
        stack,
        "SELECT action, old_account, new_account, changed_by, invoice_line_id FROM classification_history "
        "WHERE invoice_id = %s ORDER BY id",
        (invoice_id,),
    )
    expected = ("filled" if line["proposal"] is None else "changed", line["proposal"], account, "admin", line_id)
    assert expected in audit and audit[-1][0] == "approved_invoice"
    repeated = _firm(stack, "SELECT invoice_line_id, new_account, changed_by, applied_from_line_id "
                     "FROM classification_history WHERE invoice_line_id = ANY(%s) ORDER BY invoice_line_id",
                     (line["alike"],))  # fmt: skip
    assert repeated == [(alike, account, "admin", line_id) for alike in sorted(line["alike"])]  # one row per line
    booked = _firm(stack, "SELECT DISTINCT account_code FROM classifications WHERE invoice_line_id = ANY(%s)",
                   ([line_id, *line["alike"]],))  # fmt: skip
    assert booked == [(account,)]
    assert _firm(stack, "SELECT count(*) FROM journal_lines WHERE invoice_id = %s", (invoice_id,))[0][0] > 0
    taught = _firm(stack, "SELECT source, confidence FROM supplier_memory WHERE account_code = %s", (account,))
    assert ("accountant", 1) in taught


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason=NO_BROWSER)
def test_in_a_browser_the_demo_accountant_sees_only_her_company(stack, waiting) -> None:
    cycle_id = stack["run"]["conf"]["cycle"]
    mine, other = (nit for (nit,) in _firm(stack, "SELECT nit FROM companies ORDER BY nit"))  # she has the first
    granted = _firm(stack, "SELECT company_nit FROM company_access WHERE principal = 'contadora'")
    assert granted == [(mine,)]
    with _logged_in(stack["ui"], "contadora", _password(stack["local"], "contadora")) as driver:
        driver.get(f"{stack['ui']}/review/ciclo/{cycle_id}")
        overview = driver.page_source
        assert mine in overview and other not in overview
        driver.get(f"{stack['ui']}/review/ciclo/{cycle_id}/empresa/{other}")
        assert "empresa desconocida" in driver.page_source and other not in driver.page_source  # a 404, no name
        driver.get(f"{stack['ui']}/review/ciclo/{cycle_id}/empresa/{mine}")
        assert "Facturas por revisar" in driver.page_source and "solo lectura" not in driver.page_source


def test_companies_are_approved_and_rejected_through_the_rest_api(stack, waiting) -> None:
    approve, reject = sorted(waiting, key=lambda d: d["task_instance"]["dag_run_id"])
    runs = {d["task_instance"]["dag_run_id"] for d in waiting}
    ok = {"chosen_options": ["Aprobar"], "params_input": {"comentario": "ok"}}
    no = {"chosen_options": ["Rechazar"], "params_input": {"comentario": "faltan soportes"}}

    def answer(detail: dict[str, Any], body: dict[str, Any]) -> requests.Response:
        run_id = detail["task_instance"]["dag_run_id"]
        url = f"{stack['base']}/api/v2/dags/{BOOKS}/dagRuns/{run_id}/taskInstances/approval/-1/hitlDetails"
        return requests.patch(url, json=body, headers=_auth(stack["token"]), timeout=60)

    answered: list[str] = []

    def finished() -> list[str] | None:
        # Answer as a person does: once the request is parked and has been open a few seconds. On Airflow
        # 3.3.2's LocalExecutor a faster answer can fail the parked try; the approval step's retry then asks
        # again, and the accountant answers again.
        for detail in _open_requests(stack, every=False) or []:
            if not answerable(detail):
                continue
            run_id = detail["task_instance"]["dag_run_id"]
            if run_id == reject["task_instance"]["dag_run_id"]:
                # Two answers to the same request at the same moment: Airflow 3.3.2 says 200 to both.
                with ThreadPoolExecutor(2) as pool:
                    codes = [f.result().status_code for f in [pool.submit(answer, detail, b) for b in (no, ok)]]
                assert 200 in codes, codes
            else:
                assert answer(detail, ok).status_code == 200
                assert answer(detail, ok).status_code == 409  # one answer per request, sequentially
            answered.append(run_id)
        states = [_run_state(stack, BOOKS, r) for r in runs]
        return states if all(s in ("success", "failed") for s in states) else None

    try:
        assert poll("the books runs to finish after the answers", finished, 300) == ["success", "success"]
        assert all(answered.count(r) <= 2 for r in runs)  # the step retries once, never more
        applied = _firm(stack, "SELECT company_nit, decision, decided_by, run_id FROM approval_decisions "
                        "WHERE status = 'applied' ORDER BY run_id")  # fmt: skip
        assert len(applied) == 2 and all(a[2] == "admin" for a in applied)
        assert (applied[0][1], applied[0][3]) == ("approved", approve["task_instance"]["dag_run_id"])
        # The raced request: one decision applied; if Airflow kept another answer over it, that one is on
        # record as refused — what Airflow shows is never silently different from what the books say.
        raced = reject["task_instance"]["dag_run_id"]
        overview = requests.get(f"{stack['base']}/review/ciclo/{stack['run']['conf']['cycle']}",
                                headers=_auth(stack["token"]), timeout=60)  # fmt: skip
        assert overview.status_code == 200  # opening the overview compares Airflow's answers with the books
        refused = _firm(stack, "SELECT decision, refused_reason FROM approval_decisions WHERE status = 'refused' "
                        "AND request_id = %s", (raced,))  # fmt: skip
        url = f"{stack['base']}/api/v2/dags/{BOOKS}/dagRuns/{raced}/taskInstances/approval/-1/hitlDetails"
        kept = requests.get(url, headers=_auth(stack["token"]), timeout=60).json()["chosen_options"]
        decided = {"Aprobar": "approved", "Rechazar": "rejected"}[kept[0]]
        assert applied[1][1] == decided or [r[0] for r in refused] == [decided], (applied, refused, kept)
        exported = _firm(stack, "SELECT DISTINCT company_nit FROM exports")
        approved_nits = sorted(a[0] for a in applied if a[1] == "approved")
        assert sorted(e[0] for e in exported) == approved_nits  # exported exactly the approved companies
    except BaseException:
        _keep_for_diagnosis(stack, answered)
        raise


def _keep_for_diagnosis(stack: dict[str, Any], answered: list[str]) -> None:
    """Print the books runs' task states and keep the stack's logs (not its database) for a post-mortem."""
    url = f"{stack['base']}/api/v2/dags/{BOOKS}/dagRuns/~/taskInstances"
    tis = requests.get(url, headers=_auth(stack["token"]), timeout=60).json()["task_instances"]
    print("answered (books runs, in order):", answered)
    print({(ti["dag_run_id"], ti["task_id"]): (ti["state"], ti["try_number"]) for ti in tis})
    kept = Path(os.environ.get("E2E_KEEP_DIR", "/tmp/quincena-e2e-failure"))
    shutil.copytree(stack["local"], kept, dirs_exist_ok=True, ignore=shutil.ignore_patterns("pgdata"))
    print("stack logs kept in", kept)
