"""The review pages inside Airflow's real api-server app (plugins loaded from plugins/): only logged-in users,
CSRF-protected POSTs, validated inputs, Spanish pages; driven on a real first quincena."""

from __future__ import annotations

import re

import pytest

from quincena.core import db
from quincena.review import worklist
from tests.helpers import decide
from tests.review.conftest import CYCLE_1, token


@pytest.fixture
def browser(airflow_app):
    """The app as a logged-in UI session: the JWT in Airflow's ``_token`` cookie."""
    airflow_app.cookies.clear()
    airflow_app.cookies.set("_token", token("ana", "admin"))
    yield airflow_app
    airflow_app.cookies.clear()


def test_anonymous_and_forged_requests_are_refused(airflow_app, first_cycle) -> None:
    airflow_app.cookies.clear()
    nit = first_cycle["company_nit"]
    for path in ("/review/", f"/review/ciclo/{CYCLE_1}", f"/review/ciclo/{CYCLE_1}/empresa/{nit}"):
        assert airflow_app.get(path).status_code == 401
    assert airflow_app.post(f"/review/ciclo/{CYCLE_1}/empresa/{nit}/factura/1", data={}).status_code == 401
    forged = airflow_app.get("/review/", cookies={"_token": "not.a.jwt"})
    assert forged.status_code in (401, 403)


def _form_token(html: str) -> str:
    return re.search(r"name='csrf_token' value='([^']+)'", html).group(1)


def test_the_accountant_corrects_and_approves_through_the_pages(browser, first_cycle) -> None:
    nit = first_cycle["company_nit"]
    cycles = browser.get("/review/")
    assert cycles.status_code == 200 and CYCLE_1 in cycles.text and "Quincenas" in cycles.text
    overview = browser.get(f"/review/ciclo/{CYCLE_1}")
    assert "Por revisar" in overview.text and nit in overview.text
    assert "Lotes enviados a DeepSeek" in overview.text and "—" in overview.text  # classified without the queue
    # While the DAG's lanes classify, each company's row shows its batches sent out of those queued.
    db.query_text(
        "INSERT INTO classify_queue (cycle_id, position, company_nit, wave, invoice_ids, status)"
        " VALUES (%s, 0, %s, 1, '{1}', 'done'), (%s, 1, %s, 1, '{2}', 'queued')",
        (CYCLE_1, nit, CYCLE_1, nit),
    )
    assert "<td class='num'>1 / 2</td>" in browser.get(f"/review/ciclo/{CYCLE_1}").text

    page = browser.get(f"/review/ciclo/{CYCLE_1}/empresa/{nit}")
    assert page.status_code == 200 and "Facturas por revisar" in page.text and "Archivos en cuarentena" in page.text
    assert "not_dian" not in page.text and "is not a UBL 2.1" in page.text  # quarantined file with its reason
    invoice = next(i for i in worklist.invoices(nit, CYCLE_1) if any(ln["account"] is None for ln in i["lines"]))
    line = next(ln for ln in invoice["lines"] if ln["account"] is None)
    assert invoice["number"] in page.text and "sin propuesta" in page.text
    token = _form_token(page.text)
    url = f"/review/ciclo/{CYCLE_1}/empresa/{nit}/factura/{invoice['id']}"
    fields = {"csrf_token": token, f"cuenta_{line['line_id']}": "513520", "accion": "aprobar"}

    # Cross-site: no cookie token, a wrong token, or a foreign Origin: refused, nothing written.
    assert browser.post(url, data={**fields, "csrf_token": "forged"}).status_code == 403
    foreign = browser.post(url, data=fields, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    # Invalid input: a non-purchase account is refused with a Spanish message.
    bad = browser.post(url, data={**fields, f"cuenta_{line['line_id']}": "1105"}, follow_redirects=True)
    assert bad.status_code == 200 and "no es una subcuenta de compras" in bad.text
    assert db.query_text("SELECT count(*) AS n FROM classification_history")[0]["n"] == 0

    done = browser.post(url, data=fields, headers={"Origin": "http://airflow.test"}, follow_redirects=True)
    assert done.status_code == 200 and "aprobada" in done.text
    status = db.query_text("SELECT status FROM invoices WHERE id = %s", (invoice["id"],))[0]["status"]
    assert status == "classified"
    audit = db.query_text("SELECT action, changed_by FROM classification_history WHERE invoice_id = %s ORDER BY id",
                          (invoice["id"],))  # fmt: skip
    assert audit[0] == {"action": "filled", "changed_by": "ana"} and audit[-1]["action"] == "approved_invoice"

    from quincena.books import approvals

    approvals.open_request(f"books__{CYCLE_1}__{nit}__w", nit, CYCLE_1, "Primera solicitud.", "test")
    waiting = browser.get(f"/review/ciclo/{CYCLE_1}").text
    assert "esperando aprobación desde" in waiting
    assert f"/dags/quincena_books/runs/books__{CYCLE_1}__{nit}__w'>responder en Airflow</a>" in waiting
    decide(nit, CYCLE_1, "rejected", "luis & ana", "faltan <soportes>")
    overview = browser.get(f"/review/ciclo/{CYCLE_1}").text
    assert "rechazada por luis &amp; ana el " in overview and ": faltan &lt;soportes&gt;" in overview  # escaped once

    shown = browser.get(url)
    assert "Historial de cambios" in shown.text and "ana asignó" in shown.text and "Reclasificar" in shown.text

    # Approved books: the page warns, a change needs the explicit "reopen", and then reopens the approval.
    assert decide(nit, CYCLE_1, "approved", "luis").status == "applied"
    page = browser.get(f"/review/ciclo/{CYCLE_1}/empresa/{nit}").text
    assert "Aprobada el " in page and "por luis" in page and "Un cambio reabre la aprobación" in page
    other_account = "513595" if fields[f"cuenta_{line['line_id']}"] != "513595" else "513520"
    change = {**fields, "accion": "reclasificar", f"cuenta_{line['line_id']}": other_account}
    refused = browser.post(url, data=change, follow_redirects=True)
    assert "marque «Confirmo reabrir»" in refused.text and "Confirmo reabrir" in browser.get(url).text
    assert db.query_text("SELECT decision FROM company_approvals WHERE company_nit = %s", (nit,)) == [
        {"decision": "approved"}
    ]  # nothing changed
    done = browser.post(url, data={**change, "confirmar_reapertura": "1"}, follow_redirects=True)
    assert "reclasificada" in done.text and "Reabierta el " in done.text
    reopened = db.query_text("SELECT decision, decided_by, comment FROM company_approvals WHERE company_nit = %s",
                             (nit,))[0]  # fmt: skip
    assert reopened["decision"] == "reopened" and reopened["decided_by"] == "ana"
    assert "reclasificó" in reopened["comment"] and invoice["number"] in reopened["comment"]

    # Reopened books: one button asks the accountant now (a quincena_books run), once for the same books.
    _serialize_dags()
    page = browser.get(f"/review/ciclo/{CYCLE_1}/empresa/{nit}").text
    assert "Solicitar la aprobación ahora" in page
    ask = {"csrf_token": _form_token(page)}
    asked = browser.post(f"/review/ciclo/{CYCLE_1}/empresa/{nit}/solicitar", data=ask, follow_redirects=True)
    assert "Aprobación solicitada: books__" in asked.text
    again = browser.post(f"/review/ciclo/{CYCLE_1}/empresa/{nit}/solicitar", data=ask, follow_redirects=True)
    assert "Nada que solicitar: una solicitud ya espera" in again.text and "Solicitar la aprobación" not in again.text
    assert "esperando aprobación desde" in browser.get(f"/review/ciclo/{CYCLE_1}").text
    assert _books_runs(nit) == 1  # the same books: one run
    assert browser.post(f"/review/ciclo/{CYCLE_1}/empresa/{nit}/solicitar", data={"csrf_token": "x"}).status_code == 403
    # Another company's invoice through this company's URL: refused.
    other = browser.post(
        f"/review/ciclo/{CYCLE_1}/empresa/900000001/factura/{invoice['id']}", data=fields, follow_redirects=False
    )
    assert other.status_code == 303 and "no+es+de+la+empresa" in other.headers["location"]


def _serialize_dags() -> None:
    """The DAGs in Airflow's metadata database, as the dag-processor would store them."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    airflow = Path(sys.executable).parent / "airflow"
    done = subprocess.run([str(airflow), "dags", "reserialize"], capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 0, done.stderr[-2000:]


def _books_runs(nit: str) -> int:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = session.query(DagRun).filter(DagRun.dag_id == "quincena_books").all()
        return sum(1 for r in runs if (r.conf or {}).get("company_nit") == nit and r.run_id.startswith("books__"))


def test_review_reasons_are_split_per_line_only() -> None:
    two = ["item 1: confidence 0.35", "item 2: missing"]
    assert worklist.reasons("; ".join(two)) == two
    one = "withholdings stated in the XML differ: retefuente: XML 1, computed 2; reteica: XML 3, computed 0"
    assert worklist.reasons(one) == [one]
