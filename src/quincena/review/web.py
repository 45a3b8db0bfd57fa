"""The review pages, served inside Airflow's api-server by the plugin in plugins/quincena_review.py.

Server-rendered HTML in Spanish, no scripts and no build step: the account picker is an ``<input>``
with a ``<datalist>`` of the catalog's purchase sub-accounts (the browser filters it by code or name).

Security:
- every route depends on Airflow's own ``get_user`` (the UI's JWT cookie or a Bearer token): an
  anonymous request gets 401, a forged token 403;
- POSTs are protected against cross-site requests twice: a double-submit token (a random value in a
  ``SameSite=Strict`` cookie that must equal the form's hidden field, which another site can neither
  read nor set) and an ``Origin`` check (when the browser sends one, it must be this host);
- every input is validated by quincena.review.actions (account in the catalog's purchase sub-accounts,
  invoice of that company and cycle, line of that invoice).
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from airflow.api_fastapi.core_api.security import get_user
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from quincena.books import approvals
from quincena.core import db
from quincena.core.html import esc
from quincena.review import actions, airflow_answers, worklist

CSRF_COOKIE = "quincena_csrf"
CSRF_FIELD = "csrf_token"
REOPEN_FIELD = "confirmar_reapertura"  # a change to approved books reopens them: the accountant confirms it
_CYCLE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-Q[12]$")
_NIT = re.compile(r"^\d{5,15}$")
STATUS_ES = {"review": "en revisión", "classified": "clasificada", "pending": "pendiente", "quarantined": "cuarentena"}
SOURCE_ES = {"model": "modelo", "memory": "memoria", "accountant": "contador"}
ACTION_ES = {"kept": "confirmó", "changed": "cambió", "filled": "asignó", "approved_invoice": "aprobó la factura"}


def _database() -> None:
    """The firm's database (connection quincena_db); a mounted app gets no start-up event of its own."""
    db.ensure_configured()


app = FastAPI(
    title="Revisión de la quincena",
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
    dependencies=[Depends(_database)],
)
User = Annotated[Any, Depends(get_user)]


# --- helpers --------------------------------------------------------------------------------------


def _check(cycle_id: str, nit: str | None = None) -> None:
    if not _CYCLE.match(cycle_id) or (nit is not None and not _NIT.match(nit)):
        raise HTTPException(status_code=404, detail="ciclo o empresa no válidos")


def _user_name(user: Any) -> str:
    return str(user.get_name() if hasattr(user, "get_name") else user)


def _base(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem;color:#1f2933}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin-top:1.6rem;border-bottom:1px solid #d9e2ec}
table{border-collapse:collapse;font-size:.88rem;margin:.4rem 0}
th,td{padding:.3rem .55rem;border-bottom:1px solid #e4e7eb;vertical-align:top}th{background:#f0f4f8;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#52606d;font-size:.9rem}.err{background:#ffe3e3;border-left:4px solid #d64545;padding:.5rem 1rem}
.ok{background:#e3f9e5;border-left:4px solid #3f9142;padding:.5rem 1rem}.reason{color:#8d2b0b}
.invoice{border:1px solid #d9e2ec;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
input.account{width:19rem}button{margin-right:.5rem;padding:.3rem .8rem}nav a{margin-right:1rem}
"""


def _page(request: Request, title: str, body: str, user: str, status_code: int = 200) -> HTMLResponse:
    base = _base(request)
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    html = (
        "<!DOCTYPE html><html lang='es'><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<nav class='meta'><a href='{base}/'>Quincenas</a> Usuario: <b>{esc(user)}</b></nav>"
        f"<h1>{esc(title)}</h1>{body.replace('__CSRF__', esc(token))}</body></html>"
    )
    response = HTMLResponse(html, status_code=status_code)
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path=base or "/")
    return response


def _table(head: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    if not rows:
        return "<p class='meta'>(ninguna)</p>"
    numeric = numeric or set()
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(f"<td class='num'>{c}</td>" if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _money(value: Any) -> str:
    text = f"{float(value):,.2f}" if value is not None else ""
    return esc(text.replace(",", "X").replace(".", ",").replace("X", "."))


def _datalist() -> str:
    options = "".join(f"<option value='{esc(a.code)}'>{esc(a.name)}</option>" for a in worklist.purchase_accounts())
    return f"<datalist id='cuentas'>{options}</datalist>"


# --- pages ------------------------------------------------------------------------------------------


@app.get("/", response_class=HTMLResponse)
def cycles_page(request: Request, user: User) -> HTMLResponse:
    base = _base(request)
    rows = [
        [f"<a href='{base}/ciclo/{esc(c['cycle_id'])}'>{esc(c['cycle_id'])}</a>", esc(c["invoices"]), esc(c["review"])]
        for c in worklist.cycles()
    ]
    body = _table(["Quincena", "Facturas", "En revisión"], rows, {1, 2})
    return _page(request, "Revisión de quincenas", body, _user_name(user))


@app.get("/ciclo/{cycle_id}", response_class=HTMLResponse)
def cycle_page(request: Request, cycle_id: str, user: User) -> HTMLResponse:
    _check(cycle_id)
    base = _base(request)
    rows = []
    airflow_answers.record_overwritten(cycle_id)  # an answer Airflow kept over the applied one: on record, shown
    listed = worklist.companies(cycle_id)
    states = {s["company_nit"]: s for s in approvals.cycle_states(cycle_id, [c["nit"] for c in listed])}
    for c in listed:
        decision = approvals.state_text(states.get(c["nit"], {}))
        link = f"<a href='{base}/ciclo/{esc(cycle_id)}/empresa/{esc(c['nit'])}'>{esc(c['nit'])} {esc(c['name'])}</a>"
        sent = f"{c['batches_done']} / {c['batches']}" if c["batches"] else "—"
        rows.append([link, esc(c["invoices"]), esc(c["pending"]), esc(sent), esc(c["review"]), esc(c["classified"]),
                     esc(c["quarantined_files"]), esc(decision)])  # fmt: skip
    head = ["Empresa", "Facturas", "Pendientes", "Lotes enviados a DeepSeek", "Por revisar", "Clasificadas",
            "Archivos en cuarentena", "Aprobación"]  # fmt: skip
    return _page(request, f"Quincena {cycle_id}", _table(head, rows, {1, 2, 3, 4, 5, 6}), _user_name(user))


@app.get("/ciclo/{cycle_id}/empresa/{nit}", response_class=HTMLResponse)
def company_page(request: Request, cycle_id: str, nit: str, user: User, msg: str = "", err: str = "") -> HTMLResponse:
    _check(cycle_id, nit)
    company = worklist.company(cycle_id, nit)
    if company is None:
        raise HTTPException(status_code=404, detail="empresa desconocida")
    notice = (f"<p class='ok'>{esc(msg)}</p>" if msg else "") + (f"<p class='err'>{esc(err)}</p>" if err else "")
    summary = (
        f"<p class='meta'>{esc(company['invoices'])} facturas · {esc(company['review'])} por revisar · "
        f"{esc(company['classified'])} clasificadas · {esc(company['quarantined_files'])} archivos en cuarentena</p>"
    )
    invoices = worklist.invoices(nit, cycle_id, status="review")
    forms = "".join(_invoice_form(request, cycle_id, nit, inv) for inv in invoices) or "<p class='meta'>(ninguna)</p>"
    files = _table(
        ["Archivo", "Motivo"],
        [
            [esc(f["path"]), f"<span class='reason'>{esc(f['reason'])}</span>"]
            for f in worklist.quarantined(nit, cycle_id)
        ],
    )
    base = _base(request)
    classified = worklist.invoices(nit, cycle_id, status="classified")
    links = ", ".join(
        f"<a href='{base}/ciclo/{esc(cycle_id)}/empresa/{esc(nit)}/factura/{inv['id']}'>{esc(inv['number'])}</a>"
        for inv in classified
    )
    warning = approvals.page_notice(nit, cycle_id)
    body = (
        notice + (f"<p class='err' id='aprobacion'>{esc(warning)}</p>" if warning else "") + summary + _datalist()
        + f"<h2>Facturas por revisar ({len(invoices)})</h2>{forms}"
        + f"<h2>Archivos en cuarentena</h2>{files}"
        + f"<h2>Facturas clasificadas (reclasificar)</h2><p>{links or '(ninguna)'}</p>"
    )  # fmt: skip
    return _page(request, f"{company['name']} — NIT {nit} — {cycle_id}", body, _user_name(user))


@app.get("/ciclo/{cycle_id}/empresa/{nit}/factura/{invoice_id}", response_class=HTMLResponse)
def invoice_page(request: Request, cycle_id: str, nit: str, invoice_id: int, user: User) -> HTMLResponse:
    _check(cycle_id, nit)
    invoice = worklist.invoice(nit, cycle_id, invoice_id)
    if invoice is None:
        raise HTTPException(status_code=404, detail="la factura no es de esta empresa en este ciclo")
    body = _datalist() + _invoice_form(request, cycle_id, nit, invoice)
    return _page(request, f"Factura {invoice['number']}", body, _user_name(user))


def _invoice_form(request: Request, cycle_id: str, nit: str, invoice: dict[str, Any]) -> str:
    base = _base(request)
    action = f"{base}/ciclo/{esc(cycle_id)}/empresa/{esc(nit)}/factura/{invoice['id']}"
    rows = []
    for ln in invoice["lines"]:
        proposal = (
            f"{esc(ln['account'])} ({esc(SOURCE_ES.get(ln['source'], ln['source']))}, {esc(ln['confidence'])})"
            if ln["account"]
            else "<span class='reason'>sin propuesta</span>"
        )
        field = (
            f"<input class='account' name='cuenta_{ln['line_id']}' list='cuentas' value='{esc(ln['account'] or '')}'"
            f" aria-label='Cuenta de la línea {ln['line_no']}' placeholder='código o nombre'>"
        )
        rows.append([esc(ln["line_no"]), esc(ln["description"]), _money(ln["line_total"]), proposal, field])
    lines = _table(["#", "Descripción", "Valor", "Propuesta (origen, confianza)", "Cuenta"], rows, {2})
    reasons = "".join(f"<li class='reason'>{esc(r)}</li>" for r in invoice["reasons"])
    history = "".join(_history_item(h) for h in invoice["history"])
    buttons = (
        "<button name='accion' value='guardar'>Guardar</button>"
        "<button name='accion' value='aprobar'>Aprobar factura</button>"
        if invoice["status"] == "review"
        else "<button name='accion' value='reclasificar'>Reclasificar</button>"
    )
    return (
        f"<div class='invoice' id='factura-{invoice['id']}'><h3>Factura {esc(invoice['number'])} — "
        f"{esc(invoice['supplier_name'])} (NIT {esc(invoice['supplier_nit'])})</h3>"
        f"<p class='meta'>Fecha {esc(invoice['issue_date'])} · Subtotal {_money(invoice['line_extension_amount'])} · "
        f"Total {_money(invoice['tax_inclusive_amount'])} {esc(invoice['currency'])} · "
        f"Estado: {esc(STATUS_ES.get(invoice['status'], invoice['status']))}</p>"
        + (
            f"<p class='reason'>Documento de un periodo anterior: emitido en la quincena "
            f"{esc(invoice['issue_cycle_id'])}, llegó después de su cierre y se contabiliza en {esc(cycle_id)} "
            "con su propia fecha.</p>"
            if invoice["issue_cycle_id"] < cycle_id
            else ""
        )
        + (f"<p>Motivos de revisión:</p><ul>{reasons}</ul>" if reasons else "")
        + f"<form method='post' action='{action}'><input type='hidden' name='{CSRF_FIELD}' value='__CSRF__'>"
        + lines + _reopen_confirmation(nit, cycle_id) + buttons + "</form>"
        + (f"<details><summary>Historial de cambios</summary><ul>{history}</ul></details>" if history else "")
        + "</div>"
    )  # fmt: skip


def _reopen_confirmation(nit: str, cycle_id: str) -> str:
    """On approved books, a change needs the accountant's explicit "reopen" (the page's warning says why)."""
    if not approvals.needs_confirmation(nit, cycle_id):
        return ""
    return (
        f"<label class='reason'><input type='checkbox' name='{REOPEN_FIELD}' value='1'> Confirmo reabrir la "
        "quincena aprobada (habrá que aprobarla y exportarla de nuevo)</label> "
    )


def _history_item(h: dict[str, Any]) -> str:
    what = esc(ACTION_ES.get(h["action"], h["action"]))
    change = f" línea {esc(h['line_no'])}: {esc(h['old_account'] or '—')} → {esc(h['new_account'])}"
    when = esc(str(h["changed_at"])[:19])
    return f"<li>{when} {esc(h['changed_by'])} {what}{change if h['new_account'] else ''}</li>"


@app.get("/cuentas")
def accounts_search(q: str, user: User) -> JSONResponse:
    return JSONResponse([{"code": a.code, "name": a.name} for a in worklist.search_accounts(q)])


# --- actions ------------------------------------------------------------------------------------------


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


@app.post("/ciclo/{cycle_id}/empresa/{nit}/factura/{invoice_id}")
async def invoice_action(request: Request, cycle_id: str, nit: str, invoice_id: int, user: User) -> Response:
    _check(cycle_id, nit)
    form = await request.form()
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = str(form.get(CSRF_FIELD, ""))
    if not _same_origin(request) or not cookie or not hmac.compare_digest(cookie, sent):
        raise HTTPException(status_code=403, detail="solicitud rechazada: token CSRF u origen no válidos")
    accounts: dict[int, str] = {}
    for key, value in form.items():
        if key.startswith("cuenta_") and str(value).strip():
            if not key[7:].isdigit():
                raise HTTPException(status_code=400, detail=f"campo no válido: {key}")
            accounts[int(key[7:])] = str(value)
    who = _user_name(user)
    action = str(form.get("accion", ""))
    base = f"{_base(request)}/ciclo/{cycle_id}/empresa/{nit}"
    if approvals.needs_confirmation(nit, cycle_id) and form.get(REOPEN_FIELD) != "1":
        refusal = (
            "La quincena ya fue aprobada (ver el aviso arriba): para cambiarla marque «Confirmo reabrir» "
            "y envíe de nuevo. Nada se cambió."
        )
        return RedirectResponse(f"{base}?err={quote(refusal)}#factura-{invoice_id}", status_code=303)
    try:
        if action == "guardar":
            outcome = actions.save_accounts(nit, cycle_id, invoice_id, accounts, who)
            message = f"Factura {invoice_id}: {outcome.changed_lines} línea(s) guardada(s)."
        elif action == "aprobar":
            outcome = actions.approve_invoice(nit, cycle_id, invoice_id, who, accounts)
            message = f"Factura {invoice_id} aprobada; asiento de {outcome.entry_lines} líneas."
        elif action == "reclasificar":
            outcome = actions.reclassify(nit, cycle_id, invoice_id, accounts, who)
            message = f"Factura {invoice_id} reclasificada; asiento de {outcome.entry_lines} líneas."
        else:
            raise HTTPException(status_code=400, detail="acción desconocida")
    except actions.ReviewError as exc:
        return RedirectResponse(f"{base}?err={quote(str(exc))}#factura-{invoice_id}", status_code=303)
    return RedirectResponse(f"{base}?msg={quote(message)}", status_code=303)
