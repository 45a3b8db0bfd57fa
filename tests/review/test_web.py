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
    # A quarantined file: the accountant's label, then the technical detail; never the bare code.
    assert "no es un documento electrónico de la DIAN" in page.text and "is not a UBL 2.1" in page.text
    assert "not_dian" not in page.text
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


def test_one_correction_is_offered_and_applied_to_every_look_alike_line(browser, first_cycle) -> None:
    from quincena.classify.classifier import description_key

    nit = first_cycle["company_nit"]
    groups: dict[tuple[str, str], list[tuple[dict, dict]]] = {}
    for inv in worklist.invoices(nit, CYCLE_1):
        for ln in inv["lines"]:
            groups.setdefault((inv["supplier_nit"], description_key(ln["description"])), []).append((inv, ln))
    group = max(groups.values(), key=len)
    assert len(group) >= 3, "the sample must repeat a supplier's line in review"
    (invoice, line), others = group[0], group[1:]
    # Hostile text in the supplier's name and the lines' descriptions: shown escaped, still look-alikes.
    ids = [ln["line_id"] for _, ln in group]
    db.query_text("UPDATE invoice_lines SET description = '<script>alert(1)</script> =HYPERLINK(' || description "
                  "WHERE id = ANY(%s)", (ids,))  # fmt: skip
    db.query_text("UPDATE invoices SET supplier_name = '<b>Taller</b> =HYPERLINK(\"x\")' WHERE id = %s",
                  (invoice["id"],))  # fmt: skip
    company = f"/review/ciclo/{CYCLE_1}/empresa/{nit}"
    token = _form_token(browser.get(company).text)
    fields = {"csrf_token": token, "accion": "guardar", f"cuenta_{line['line_id']}": "513520"}
    saved = browser.post(f"{company}/factura/{invoice['id']}", data=fields)
    assert saved.status_code == 200 and "1 línea(s) guardada(s)" in saved.text

    page = browser.get(company).text
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; =HYPERLINK(" in page
    assert "<b>Taller</b>" not in page and "&lt;b&gt;Taller&lt;/b&gt;" in page
    offer = re.search(
        r"<button class='repeat' name='igualar' value='(description:\d+)' formaction='([^']+)'>"
        r"Aplicar 513520 a (\d+) línea\(s\) con la misma descripción",
        page,
    )
    assert offer and offer.group(1) == f"description:{len(others)}" and offer.group(3) == str(len(others))
    box = page[page.index(f"id='factura-{invoice['id']}'") :]
    assert box.index("value='guardar'") < box.index("name='igualar'")  # Enter in a field still saves
    url = offer.group(2)
    assert url == f"{company}/linea/{line['line_id']}/igualar"
    fields = {"csrf_token": token, "igualar": offer.group(1)}
    before = db.query_text("SELECT count(*) AS n FROM classification_history")[0]["n"]

    assert browser.post(url, data={**fields, "csrf_token": "forged"}).status_code == 403
    assert browser.post(url, data={**fields, "igualar": "todo:1"}).status_code == 400
    stale = browser.post(url, data={**fields, "igualar": f"description:{len(others) + 1}"}, follow_redirects=True)
    assert "cambiaron desde que abrió la página" in stale.text
    foreign = browser.post(f"/review/ciclo/{CYCLE_1}/empresa/900000001/linea/{line['line_id']}/igualar", data=fields)
    assert foreign.status_code == 404
    assert db.query_text("SELECT count(*) AS n FROM classification_history")[0]["n"] == before

    done = browser.post(url, data=fields, headers={"Origin": "http://airflow.test"}, follow_redirects=True)
    assert done.status_code == 200
    assert f"Cuenta aplicada a {len(others)} línea(s) parecida(s)" in done.text
    assert "value='description:" not in done.text  # nothing left to offer
    audit = db.query_text("SELECT changed_by, new_account, applied_from_line_id FROM classification_history "
                          "WHERE invoice_line_id = ANY(%s)", ([ln["line_id"] for _, ln in others],))  # fmt: skip
    assert audit == [{"changed_by": "ana", "new_account": "513520", "applied_from_line_id": line["line_id"]}] * len(
        others
    )
    shown = browser.get(f"{company}/factura/{others[0][0]['id']}").text
    assert f"aplicado desde la línea {line['line_no']} de la factura {invoice['number']}" in shown

    # On approved books the action asks for the explicit "reopen", as every change does.
    assert decide(nit, CYCLE_1, "approved", "luis").status == "applied"
    refused = browser.post(url, data={**fields, "igualar": "description:0"}, follow_redirects=True)
    assert "marque «Confirmo reabrir»" in refused.text


def test_filters_pages_and_approving_every_complete_invoice_in_two_steps(browser, first_cycle, monkeypatch) -> None:
    from quincena.review import filters, web

    nit = first_cycle["company_nit"]
    company = f"/review/ciclo/{CYCLE_1}/empresa/{nit}"
    in_review = worklist.invoices(nit, CYCLE_1)
    hostile = in_review[0]
    db.query_text("UPDATE invoices SET supplier_name = '<script>x</script> =HYPERLINK(\"y\")' WHERE supplier_nit = %s",
                  (hostile["supplier_nit"],))  # fmt: skip
    page = browser.get(company).text
    assert "<select name='motivo'>" in page and "<select name='proveedor'>" in page and "<script>x" not in page
    assert "&lt;script&gt;x&lt;/script&gt; =HYPERLINK(" in page  # the supplier's option, escaped

    # By supplier: only its invoices; with a bad amount, a Spanish note and the rest of the filter applied.
    own = [i for i in in_review if i["supplier_nit"] == hostile["supplier_nit"]]
    narrowed = browser.get(company, params={"proveedor": hostile["supplier_nit"], "monto_max": "mucho"}).text
    assert f"Facturas por revisar ({len(own)} de {len(in_review)})" in narrowed
    assert narrowed.count("<div class='invoice'") == len(own) and "Monto hasta: el monto debe ser" in narrowed
    kind = filters.reason_kind(in_review[0]["reasons"][0])
    by_reason = browser.get(company, params={"motivo": kind}).text
    expected = [i for i in in_review if kind in {filters.reason_kind(r) for r in i["reasons"]}]
    assert by_reason.count("<div class='invoice'") == len(expected)
    top = max(i["tax_inclusive_amount"] for i in in_review)
    by_amount = browser.get(company, params={"monto_min": f"{top:.2f}".replace(".", ",")}).text
    assert by_amount.count("<div class='invoice'") == sum(i["tax_inclusive_amount"] == top for i in in_review)

    # A long list comes in pages.
    monkeypatch.setattr(web, "PAGE_SIZE", 2)
    first = browser.get(company).text
    assert first.count("<div class='invoice'") == 2 and "aria-current='page'>1</b>" in first
    assert f"href='{company}?pagina=2'" in first
    last = browser.get(company, params={"pagina": 99}).text  # past the end: the last page
    assert last.count("<div class='invoice'") == (len(in_review) - 1) % 2 + 1
    monkeypatch.undo()

    # Two invoices made complete by the accountant, so that the list has two to approve and the rounds show.
    from quincena.review import actions

    for filling in [i for i in in_review if i not in filters.ready(in_review)][:2]:
        missing = {ln["line_id"]: "513520" for ln in filling["lines"] if not ln["account"]}
        actions.save_accounts(nit, CYCLE_1, filling["id"], missing, "ana")
    in_review = worklist.invoices(nit, CYCLE_1)
    ready = filters.ready(in_review)
    assert len(ready) >= 2 and len(ready) < len(in_review)
    link = re.search(rf"<a class='bulk' href='([^']+)'>Aprobar las {len(ready)} facturas", browser.get(company).text)
    assert link, "the page offers the bulk approval with its count"
    monkeypatch.setattr(web, "MAX_BULK", 1)  # a huge list is approved in rounds, each confirmed
    capped = browser.get(link.group(1)).text
    assert len(re.findall(r"name='factura' value='", capped)) == 1 and f"Quedan {len(ready) - 1} más" in capped
    monkeypatch.undo()
    confirm = browser.get(link.group(1)).text
    assert f"Confirmo: aprobar estas {len(ready)} facturas" in confirm
    assert all(inv["number"] in confirm for inv in ready) and "<script>x" not in confirm
    ids = re.findall(r"name='factura' value='(\d+)'", confirm)
    assert sorted(map(int, ids)) == sorted(i["id"] for i in ready)
    fields = {"csrf_token": _form_token(confirm), "factura": ids, "accion": "aprobar-completas"}
    before = db.query_text("SELECT count(*) AS n FROM classification_history")[0]["n"]
    assert browser.post(f"{company}/aprobar-completas", data={**fields, "csrf_token": "x"}).status_code == 403
    assert browser.post(f"{company}/aprobar-completas", data={**fields, "factura": ["1e3"]}).status_code == 400
    incomplete = next(i for i in in_review if i not in ready)
    refused = browser.post(f"{company}/aprobar-completas", data={**fields, "factura": [*ids, str(incomplete["id"])]},
                           follow_redirects=True)  # fmt: skip
    assert "Ninguna factura se aprobó" in refused.text
    assert db.query_text("SELECT count(*) AS n FROM classification_history")[0]["n"] == before

    # After an action the accountant is back on the list they were on (its filters and page), nothing else.
    assert web.view_query({"proveedor": "900", "pagina": "3", "msg": "Todo aprobado", "firma": "00"}) == (
        "proveedor=900&pagina=3"
    )
    assert web.view_query({"pagina": "-1", "monto_min": "=HYPERLINK("}) == ""
    on_list = {"csrf_token": fields["csrf_token"], "accion": "guardar", "vista": "proveedor=" + hostile["supplier_nit"]}
    back = browser.post(f"{company}/factura/{hostile['id']}", data=on_list, follow_redirects=False)
    assert f"proveedor={hostile['supplier_nit']}&" in back.headers["location"]

    done = browser.post(f"{company}/aprobar-completas", data=fields, follow_redirects=True)
    assert f"{len(ready)} factura(s) aprobada(s)." in done.text
    assert f"Facturas por revisar ({len(in_review) - len(ready)})" in done.text
    assert "class='bulk'" not in done.text  # nothing complete is left


def test_the_company_page_shows_its_chart_its_map_and_what_its_program_would_refuse(
    browser, first_cycle, tmp_path
) -> None:
    from quincena.chart import store
    from quincena.devtools.sample import charts

    nit = first_cycle["company_nit"]
    company = f"/review/ciclo/{CYCLE_1}/empresa/{nit}"
    assert "Sin plan de cuentas propio" in browser.get(company).text
    # The first quincena was classified into the catalog; the company then imports its chart (one name
    # hostile) and maps one generic sub-account.
    path = charts.write_chart(tmp_path / "siigo.csv", site="<script>alert(1)</script>")
    store.import_chart(nit, path, "ana")
    used = sorted({r["code"] for r in worklist.chart_codes(nit, CYCLE_1) if len(r["code"]) == 6})
    purchase = next(code for code in used if code[:1] in "56")
    (tmp_path / "mapa.csv").write_text(f"puc_code,company_code\n{purchase},{purchase}02\n", encoding="utf-8")
    store.import_map(nit, tmp_path / "mapa.csv")

    page = browser.get(company).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert f"Plan de cuentas propio: {len(charts.chart_rows())} cuentas importadas de siigo.csv (siigo)" in page
    assert f"Equivalencias de la empresa (se aplican al exportar): {purchase} → {purchase}02" in page
    # Counter-accounts with one auxiliary go there on their own; a purchase sub-account with two and no map
    # is named, with its invoices, before the export refuses it.
    refused = store.unexportable(store.load(nit), set(used))
    assert purchase not in refused and "240810" not in refused and refused
    assert "Cuentas que el programa contable de la empresa rechazaría: " + f"{refused[0]} (" in page
    # The account field offers the company's accounts, not the catalog's.
    assert f"<option value='{purchase}02'>" in page and f"<option value='{purchase}'>" not in page
    shown = browser.get(f"{company}/factura/{_invoice_using(nit, purchase)}").text
    assert re.search(rf"{purchase} [^<→]+ → {purchase}02 \(equivalencia de la empresa\)", shown)


def _invoice_using(nit: str, account: str) -> int:
    rows = db.query_text(
        "SELECT c.invoice_id FROM classifications c WHERE c.company_nit = %s AND c.account_code = %s LIMIT 1",
        (nit, account),
    )
    return rows[0]["invoice_id"]
