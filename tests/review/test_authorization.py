"""Who may do what on /review, asked of Airflow's own auth manager inside Airflow's create_app(): every
role (admin, op, user, viewer) against every route; per-company grants narrow what a user sees."""

from __future__ import annotations

import re
from typing import Any

import pytest

from quincena.core import companies, db
from quincena.core.companies import Company
from quincena.review import access, web, worklist
from quincena.review.access import Grant
from tests.review.conftest import CYCLE_1, token

ROLES = ("admin", "op", "user", "viewer")
WRITERS = ("admin", "op", "user")  # the roles that may answer the cycle's approval requests (HITL details)
OTHER_NIT, OTHER_NAME = "900373115", "Ferretería El Tornillo S.A.S."
ACCOUNT = "513520"


def _login(client, name: str, role: str):
    client.cookies.clear()
    client.cookies.set("_token", token(name, role))
    return client


def _state() -> list[dict[str, Any]]:
    """What a refused request must leave untouched: the audit, the classifications, the invoices, the books."""
    return db.query_text(
        "SELECT (SELECT count(*) FROM classification_history) AS history,"
        " (SELECT count(*) FROM classifications) AS classifications,"
        " (SELECT count(*) FROM journal_lines) AS journal,"
        " (SELECT string_agg(id || status, ',' ORDER BY id) FROM invoices) AS statuses"
    )


def _csrf(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.text
    return re.search(r"name='csrf_token' value='([^']+)'", page.text).group(1)


def _post(client, nit: str, invoice: dict[str, Any], action: str) -> Any:
    company = f"/review/ciclo/{CYCLE_1}/empresa/{nit}"
    fields = {"csrf_token": _csrf(client, company), "accion": action}
    fields.update({f"cuenta_{ln['line_id']}": ln["account"] or ACCOUNT for ln in invoice["lines"]})
    return client.post(f"{company}/factura/{invoice['id']}", data=fields, follow_redirects=False)


@pytest.fixture
def every_role_granted(first_cycle) -> dict:
    """Non-admin roles see nothing until granted: here every role is granted every company."""
    access.replace([Grant("role", role, None) for role in ROLES if role != "admin"])
    return first_cycle


def test_every_role_reads_every_page(airflow_app, every_role_granted) -> None:
    nit = every_role_granted["company_nit"]
    invoice = worklist.invoices(nit, CYCLE_1)[0]
    pages = ["/review/", f"/review/ciclo/{CYCLE_1}", f"/review/ciclo/{CYCLE_1}/empresa/{nit}",
             f"/review/ciclo/{CYCLE_1}/empresa/{nit}/factura/{invoice['id']}", "/review/cuentas?q=5135",
             "/review/estilo.css"]  # fmt: skip
    for role in ROLES:
        client = _login(airflow_app, f"ana-{role}", role)
        for path in pages:
            response = client.get(path)
            assert response.status_code == 200, (role, path, response.text[:300])
        company = client.get(pages[2]).text
        can_write = role in WRITERS
        assert ("value='aprobar'" in company) is can_write, role  # a viewer gets no buttons…
        assert ("solo lectura" in company) is not can_write, role  # …and is told why


def test_a_viewer_changes_nothing_and_is_told_why_in_spanish(airflow_app, every_role_granted) -> None:
    nit = every_role_granted["company_nit"]
    in_review = worklist.invoices(nit, CYCLE_1)[0]
    classified = worklist.invoices(nit, CYCLE_1, status="classified")[0]
    client = _login(airflow_app, "vera", "viewer")
    before = _state()
    for invoice, action in ((in_review, "guardar"), (in_review, "aprobar"), (classified, "reclasificar")):
        refused = _post(client, nit, invoice, action)
        assert refused.status_code == 403, action
        assert "solo lectura" in refused.text and "text/html" in refused.headers["content-type"]
    line = in_review["lines"][0]["line_id"]
    repeat = client.post(f"/review/ciclo/{CYCLE_1}/empresa/{nit}/linea/{line}/igualar",
                         data={"csrf_token": "x", "igualar": "description:1"})  # fmt: skip
    assert repeat.status_code == 403 and "solo lectura" in repeat.text
    assert "name='igualar'" not in client.get(f"/review/ciclo/{CYCLE_1}/empresa/{nit}").text
    assert _state() == before


@pytest.mark.parametrize("role", WRITERS)
def test_a_role_that_answers_approvals_saves_approves_and_reclassifies(airflow_app, every_role_granted, role) -> None:
    nit = every_role_granted["company_nit"]
    invoice = worklist.invoices(nit, CYCLE_1)[0]
    client = _login(airflow_app, f"ana-{role}", role)
    for action in ("guardar", "aprobar", "reclasificar"):
        done = _post(client, nit, invoice, action)
        assert done.status_code == 303 and "msg=" in done.headers["location"], (action, done.headers)
    assert worklist.invoice(nit, CYCLE_1, invoice["id"])["status"] == "classified"
    who = db.query_text("SELECT DISTINCT changed_by FROM classification_history WHERE invoice_id = %s",
                        (invoice["id"],))  # fmt: skip
    assert who == [{"changed_by": f"ana-{role}"}]  # the person's user name, always


def test_an_accountant_sees_only_the_companies_assigned(airflow_app, first_cycle) -> None:
    nit = first_cycle["company_nit"]
    companies.upsert([Company(OTHER_NIT, 3, OTHER_NAME)])  # company B: active, in the cycle's overview
    access.replace([Grant("user", "carla", nit)])
    invoice = worklist.invoices(nit, CYCLE_1)[0]
    other_page = f"/review/ciclo/{CYCLE_1}/empresa/{OTHER_NIT}"

    admin = _login(airflow_app, "ana", "admin")  # admins see every company without a grant
    overview = admin.get(f"/review/ciclo/{CYCLE_1}").text
    assert nit in overview and OTHER_NIT in overview
    assert admin.get(other_page).status_code == 200

    carla = _login(airflow_app, "carla", "user")
    assert CYCLE_1 in carla.get("/review/").text
    overview = carla.get(f"/review/ciclo/{CYCLE_1}").text
    assert nit in overview and OTHER_NIT not in overview and OTHER_NAME not in overview
    assert carla.get(f"/review/ciclo/{CYCLE_1}/empresa/{nit}").status_code == 200
    hidden = carla.get(other_page)
    assert hidden.status_code == 404 and OTHER_NAME not in hidden.text  # as an unknown company: no name
    before = _state()
    # Her company's invoice, sent through B's URL (a valid token, a valid account): not found.
    foreign = carla.post(f"{other_page}/factura/{invoice['id']}", data={"csrf_token": carla.cookies.get(
        "quincena_csrf"), "accion": "guardar", f"cuenta_{invoice['lines'][0]['line_id']}": ACCOUNT})  # fmt: skip
    assert foreign.status_code == 404
    assert _state() == before

    # A user no grant names sees no cycle and no company; a grant to their role opens them all.
    dora = _login(airflow_app, "dora", "op")
    assert CYCLE_1 not in dora.get("/review/").text
    assert nit not in dora.get(f"/review/ciclo/{CYCLE_1}").text
    assert dora.get(f"/review/ciclo/{CYCLE_1}/empresa/{nit}").status_code == 404
    access.replace([Grant("user", "carla", nit), Grant("role", "op", None)])
    assert dora.get(other_page).status_code == 200


def test_may_act_answers_for_the_approval_step(first_cycle, monkeypatch) -> None:
    nit = first_cycle["company_nit"]
    companies.upsert([Company(OTHER_NIT, 3, OTHER_NAME)])
    access.replace([Grant("user", "carla", nit), Grant("role", "auditor", OTHER_NIT)])
    assert access.may_act("carla", ["user"], nit) and not access.may_act("carla", ["user"], OTHER_NIT)
    assert access.may_act("ana", ["Admin"], OTHER_NIT)  # FAB spells it "Admin"
    assert access.may_act("eva", ["Auditor"], OTHER_NIT) and not access.may_act("eva", ["auditor"], nit)
    assert not access.may_act("dora", ["op"], nit) and not access.may_act("", ["admin"], nit)
    # Without roles (a HITL answer carries only the user's name): the simple auth manager's configuration.
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,carla:user")
    assert access.may_act("admin", None, OTHER_NIT) and access.may_act("carla", None, nit)
    assert not access.may_act("carla", None, OTHER_NIT) and not access.may_act("nadie", None, nit)


def test_security_headers_on_every_response(airflow_app, every_role_granted) -> None:
    nit = every_role_granted["company_nit"]
    client = _login(airflow_app, "ana", "admin")
    for path in ("/review/", f"/review/ciclo/{CYCLE_1}/empresa/{nit}", "/review/ciclo/x", "/review/estilo.css"):
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "SAMEORIGIN" and headers["cache-control"] == "no-store"
        assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "same-origin"
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'self'" in csp and "script-src" not in csp and "default-src 'none'" in csp
    page = client.get(f"/review/ciclo/{CYCLE_1}/empresa/{nit}").text
    assert "<script" not in page and "<style" not in page and " style=" not in page  # nothing inline
    assert "Secure" not in client.get("/review/").headers["set-cookie"]  # plain http here
    with_tls = client.get("https://airflow.test/review/", headers={"Origin": "https://airflow.test"})
    assert re.search(r"quincena_csrf=[^;]+;.*[Ss]ecure", with_tls.headers["set-cookie"])


def test_bad_ids_are_a_spanish_4xx(airflow_app, every_role_granted) -> None:
    nit = every_role_granted["company_nit"]
    client = _login(airflow_app, "ana", "admin")
    base = f"/review/ciclo/{CYCLE_1}/empresa/{nit}/factura"
    for invoice_id in (str(2**63), "0", "abc", "١٢"):
        response = client.get(f"{base}/{invoice_id}")
        assert 400 <= response.status_code < 500 and "solicitud no válida" in response.text, invoice_id


def test_forms_tokens_notices_and_odd_inputs_cannot_be_forged(airflow_app, every_role_granted) -> None:
    nit = every_role_granted["company_nit"]
    invoice = worklist.invoices(nit, CYCLE_1)[0]
    company = f"/review/ciclo/{CYCLE_1}/empresa/{nit}"
    url = f"{company}/factura/{invoice['id']}"
    line = f"cuenta_{invoice['lines'][0]['line_id']}"
    luis = _login(airflow_app, "luis", "user")
    luis_token = _csrf(luis, company)
    ana = _login(airflow_app, "ana", "admin")
    ana_token = _csrf(ana, company)
    before = _state()
    # Another user's token, or the cookie's own value as the token (a double submit an attacker set): refused.
    for sent in (luis_token, ana.cookies.get("quincena_csrf")):
        refused = ana.post(url, data={"csrf_token": sent, "accion": "guardar", line: ACCOUNT}, follow_redirects=False)
        assert refused.status_code == 403 and "token CSRF" in refused.text
    # Odd field names and a 100 KB value: a Spanish 4xx or a short redirect, nothing written.
    for field in ("cuenta_١٢", "cuenta_1e3", f"cuenta_{'9' * 30}"):
        odd = ana.post(url, data={"csrf_token": ana_token, "accion": "guardar", field: ACCOUNT}, follow_redirects=False)
        assert odd.status_code == 400 and "campo no válido" in odd.text, field
    huge = ana.post(url, data={"csrf_token": ana_token, "accion": "aprobar", line: "x" * 100_000},
                    follow_redirects=False)  # fmt: skip
    assert huge.status_code == 303 and len(huge.headers["location"]) < 2_000
    assert _state() == before
    # The error is shown in the invoice's own box, where the accountant clicked "Aprobar factura".
    shown = ana.get(huge.headers["location"]).text
    box = shown[shown.index(f"id='factura-{invoice['id']}'") :]
    assert box.index("class='err'") < box.index("</div>") and "no es una subcuenta de compras" in box
    # A crafted notice link shows nothing; supplier text holding the old placeholder shows no token.
    crafted = ana.get(f"{company}?msg=Todo+aprobado%2C+llame+al+300&err=&factura=1&firma=00").text
    assert "Todo aprobado" not in crafted
    db.query_text("UPDATE invoices SET supplier_name = '__CSRF__' WHERE id = %s", (invoice["id"],))
    page = ana.get(company).text
    assert "__CSRF__" in page and ana.cookies.get("quincena_csrf") not in page


def test_the_origin_must_be_the_configured_base_url(airflow_app, every_role_granted, monkeypatch) -> None:
    assert web.origin_allowed(None, "https://libros.firma.co", "evil.example")  # no Origin: the token decides
    assert web.origin_allowed("https://libros.firma.co", "https://libros.firma.co/", "x")
    assert web.origin_allowed("https://LIBROS.firma.co:443", "https://libros.firma.co", "x")
    for origin in ("http://libros.firma.co", "https://libros.firma.co:8443", "https://evil.example", "null"):
        assert not web.origin_allowed(origin, "https://libros.firma.co", "libros.firma.co"), origin
    assert web.origin_allowed("http://airflow.test", "", "airflow.test")  # none configured: this host
    assert not web.origin_allowed("http://airflow.test:8081", "", "airflow.test")  # another port: another site

    nit = every_role_granted["company_nit"]
    invoice = worklist.invoices(nit, CYCLE_1)[0]
    client = _login(airflow_app, "ana", "admin")
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://libros.firma.co")
    company = f"/review/ciclo/{CYCLE_1}/empresa/{nit}"
    fields = {
        "csrf_token": _csrf(client, company),
        "accion": "guardar",
        f"cuenta_{invoice['lines'][0]['line_id']}": ACCOUNT,
    }
    url = f"{company}/factura/{invoice['id']}"
    # The request's own Host is this app's, but the Origin is not the configured site: refused.
    spoofed = client.post(url, data=fields, headers={"Origin": "http://airflow.test"}, follow_redirects=False)
    assert spoofed.status_code == 403
    ok = client.post(url, data=fields, headers={"Origin": "https://libros.firma.co"}, follow_redirects=False)
    assert ok.status_code == 303
