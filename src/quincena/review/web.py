"""The review pages, served inside Airflow's api-server by the plugin in plugins/quincena_review.py.

Server-rendered HTML in Spanish, no scripts and no build step: the account picker is an ``<input>``
with a ``<datalist>`` of the catalog's purchase sub-accounts (the browser filters it by code or name).

Security:
- every route asks Airflow's auth manager through Airflow's own ``requires_access_dag`` (the UI's JWT
  cookie or a Bearer token; anonymous 401): reading needs read access to the cycle DAG's runs, every
  POST the permission that answering the DAG's approval requests (HITL details) needs, so a viewer
  reads and gets 403 on every change, the same as on Airflow's own HITL endpoint;
- per company (quincena.review.access): another company's URL is 404, as an unknown one, leaking no name;
- every response carries headers for pages holding financial data (``SECURITY_HEADERS``): framed only
  by this origin (Airflow's UI shows the pages in an iframe), never cached, no script at all;
- POSTs are protected against cross-site requests twice: a form token bound to the user and to a random
  value in a ``SameSite=Strict`` cookie (an HMAC under the api-server's secret, quincena.review.signing:
  a planted cookie or another user's token does not verify) and an ``Origin`` check (when the browser
  sends one, it must be the configured ``[api] base_url``'s scheme, host and port, not whatever the
  request's own ``Host`` header says);
- the notice after an action comes back in the URL signed for the user: a crafted link shows nothing;
- every input is validated by quincena.review.actions (account in the catalog's purchase sub-accounts,
  invoice of that company and cycle, line of that invoice).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from quincena.books import approvals
from quincena.chart import store as chart_store
from quincena.core import config, db, es
from quincena.core.html import esc
from quincena.ingest.rejections import rejection_es
from quincena.review import (
    access,
    actions,
    airflow_answers,
    books_request,
    filters,
    lookalikes,
    signing,
    worklist,
)

DAG_ID = "quincena_cycle"

CSRF_COOKIE = "quincena_csrf"
CSRF_FIELD = "csrf_token"
REOPEN_FIELD = "confirmar_reapertura"  # a change to approved books reopens them: the accountant confirms it
_CYCLE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-Q[12]$")
_NIT = re.compile(r"^\d{5,15}$")
STATUS_ES = {"review": "en revisión", "classified": "clasificada", "pending": "pendiente", "quarantined": "cuarentena"}
SOURCE_ES = {"model": "modelo", "memory": "memoria", "accountant": "contador"}
ACTION_ES = {"kept": "confirmó", "changed": "cambió", "filled": "asignó", "approved_invoice": "aprobó la factura"}
PAGE_SIZE = 50  # invoices per page of a company's review list
VIEW_FIELD = "vista"  # the list (filters, page) a form was sent from, to come back to
BULK_FIELD = "factura"  # the confirmation page's invoice ids
MAX_BULK = 500  # invoices one confirmation approves (a form of this many ids stays under the form parser's limits)
REPEAT_FIELD = "igualar"  # the look-alike button's value: "<reach>:<count shown>"
REACH_ES = {
    "description": "línea(s) con la misma descripción de este proveedor en la quincena",
    "supplier": "línea(s) de este proveedor en revisión",
}


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

# Airflow's own checks, as its DAG-run and HITL-detail routes use them, for the cycle DAG.
_READ_RUNS = requires_access_dag("GET", DagAccessEntity.RUN, param_dag_id=DAG_ID)
_ANSWER_HITL = requires_access_dag(
    "PUT", DagAccessEntity.HITL_DETAIL, param_dag_id=config.BOOKS_DAG_ID
)  # changing the books needs what answering needs
NO_READ = "Su usuario no tiene permiso para ver las ejecuciones del DAG quincena_cycle."
READ_ONLY = (
    "Su rol en Airflow es de solo lectura: no puede guardar cuentas, aprobar ni reclasificar facturas. "
    "Pida a un administrador un rol que pueda responder las aprobaciones de la quincena."
)
UNKNOWN_COMPANY = "empresa desconocida"


@dataclass(frozen=True)
class Person:
    """The logged-in user as these pages need them: name, roles, whether they may change anything and
    which companies they see (None: every company)."""

    name: str
    roles: tuple[str, ...]
    can_write: bool
    companies: frozenset[str] | None

    def sees(self, nit: str) -> bool:
        return self.companies is None or nit in self.companies


def _passes(check: Callable[[Request, Any], None], request: Request, user: Any) -> bool:
    try:
        check(request, user)
    except HTTPException as exc:
        if exc.status_code != 403:
            raise
        return False
    return True


def reader(request: Request, user: GetUserDep) -> Person:
    if not _passes(_READ_RUNS, request, user):
        raise HTTPException(status_code=403, detail=NO_READ)
    name, roles = _user_name(user), access.user_roles(user)
    return Person(name, roles, _passes(_ANSWER_HITL, request, user), access.allowed_companies(name, roles))


def writer(person: Annotated[Person, Depends(reader)]) -> Person:
    if not person.can_write:
        raise HTTPException(status_code=403, detail=READ_ONLY)
    return person


InvoiceId = Annotated[int, Path(ge=1, le=2**63 - 1)]  # a bigint: larger ids are a 4xx, not a database error
LineId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Reader = Annotated[Person, Depends(reader)]
Writer = Annotated[Person, Depends(writer)]

# Pages holding a firm's books: framed by this origin only (Airflow's UI embeds them in an iframe; a
# page on another origin framing them could trick a click), never cached, no script, no referrer abroad.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@app.middleware("http")
async def _security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    return response


@app.exception_handler(StarletteHTTPException)
async def _error_page(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
    """Errors as a Spanish page (the accountant reads it, often inside Airflow's iframe)."""
    detail = exc.detail if isinstance(exc.detail, str) else ""
    text = {401: "Inicie sesión en Airflow para ver esta página."}.get(exc.status_code, detail)
    return _error_html(request, text or "solicitud no válida", exc.status_code, getattr(exc, "headers", None))


@app.exception_handler(RequestValidationError)
async def _invalid_request(request: Request, exc: RequestValidationError) -> HTMLResponse:
    return _error_html(request, "solicitud no válida: un parámetro no tiene la forma esperada", 400)


def _error_html(request: Request, text: str, status_code: int, headers: dict[str, str] | None = None) -> HTMLResponse:
    base = _base(request)
    html = (
        "<!DOCTYPE html><html lang='es'><head><meta charset='utf-8'><title>Revisión de la quincena</title>"
        f"<link rel='stylesheet' href='{base}/estilo.css'></head><body>"
        f"<nav class='meta'><a href='{base}/'>Quincenas</a></nav><p class='err'>{esc(text)}</p></body></html>"
    )
    return HTMLResponse(html, status_code=status_code, headers=headers)


# --- helpers --------------------------------------------------------------------------------------


def _check(cycle_id: str, nit: str | None = None, person: Person | None = None) -> None:
    if not _CYCLE.match(cycle_id) or (nit is not None and not _NIT.match(nit)):
        raise HTTPException(status_code=404, detail="ciclo o empresa no válidos")
    if nit is not None and person is not None and not person.sees(nit):
        raise HTTPException(status_code=404, detail=UNKNOWN_COMPANY)  # as an unknown company: no name leaks


def _user_name(user: Any) -> str:
    return str(user.get_name() if hasattr(user, "get_name") else user)


def _base(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


def _request_link(request: Request, state: dict[str, Any]) -> str:
    """A waiting approval request: a link to its run in Airflow's UI, where it is answered."""
    if not state.get("request_id") or state.get("closed_at") is not None:
        return ""
    ui = _base(request).removesuffix("/review")
    run = quote(state["request_id"], safe="")
    return f" <a href='{ui}/dags/{config.BOOKS_DAG_ID}/runs/{run}'>responder en Airflow</a>"


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
form.filters{background:#f0f4f8;padding:.5rem .8rem;border-radius:6px}form.filters label{margin-right:.6rem}
nav.pager{margin:1rem 0}nav.pager a,nav.pager b{margin-right:.4rem}
ul.repeat button{margin:.15rem .5rem .15rem 0;font-size:.85rem}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible{
outline:3px solid #1f6feb;outline-offset:2px}
"""


def _csrf_token(request: Request) -> str:
    """The form token of this browser (its cookie's value, or a new one the page's response sets)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_token", None)
    if not token:
        token = request.state.csrf_token = secrets.token_urlsafe(32)
    return token


def _page(request: Request, title: str, body: str, person: Person, status_code: int = 200) -> HTMLResponse:
    base = _base(request)
    read_only = "" if person.can_write else f"<p class='meta'>{esc(READ_ONLY)}</p>"
    html = (
        "<!DOCTYPE html><html lang='es'><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title><link rel='stylesheet' href='{base}/estilo.css'></head><body>"
        f"<nav class='meta'><a href='{base}/'>Quincenas</a> Usuario: <b>{esc(person.name)}</b></nav>"
        f"<h1>{esc(title)}</h1>{read_only}{body}</body></html>"
    )
    response = HTMLResponse(html, status_code=status_code)
    secure = request.url.scheme == "https"  # a cookie that never travels in clear text where TLS is used
    token = _csrf_token(request)
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, path=base or "/")
    return response


@app.get("/estilo.css")
def stylesheet(person: Reader) -> Response:
    return Response(_CSS, media_type="text/css")


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


def _quarantine_reason(file: dict[str, Any]) -> str:
    """Why a file is in quarantine: the accountant's label, then the technical detail."""
    label, detail = esc(rejection_es(file["reason_code"])), esc(file["reason"])
    return f"<span class='reason'>{label}</span><br><span class='meta'>{detail}</span>"


def _datalist(nit: str) -> str:
    options = "".join(f"<option value='{esc(a.code)}'>{esc(a.name)}</option>" for a in worklist.purchase_accounts(nit))
    return f"<datalist id='cuentas'>{options}</datalist>"


def _chart_section(nit: str, cycle_id: str, chart: chart_store.CompanyChart) -> str:
    """Which accounts the company's export uses: its own chart (when imported), its map, and any account
    of this quincena's entries its program would refuse (the export stops on those)."""
    parts = []
    last = chart_store.last_import(nit) if chart.has_chart else None
    if last:
        postable = len(chart.targets())
        parts.append(
            f"Plan de cuentas propio: {esc(last['accounts'])} cuentas importadas de {esc(last['file_name'])} "
            f"({esc(last['program'])}) el {esc(es.local_time(last['imported_at']))}; "
            f"{postable} reciben compras."
        )
    else:
        parts.append("Sin plan de cuentas propio: se clasifica en el catálogo PUC del producto.")
    if chart.mapping:
        pairs = ", ".join(
            f"{esc(generic)} → {esc(own)}" + (f" ({esc(chart.name_of(own))})" if chart.name_of(own) else "")
            for generic, own in sorted(chart.mapping.items())
        )
        parts.append(f"Equivalencias de la empresa (se aplican al exportar): {pairs}.")
    body = "".join(f"<p class='meta'>{p}</p>" for p in parts)
    codes = {row["code"]: row["invoices"] for row in worklist.chart_codes(nit, cycle_id)}
    refused = chart_store.unexportable(chart, set(codes))
    if refused:
        listed = ", ".join(f"{esc(code)} ({esc(codes[code])} factura(s))" for code in refused)
        body += (
            f"<p class='err'>Cuentas que el programa contable de la empresa rechazaría: {listed}. Agregue la "
            "equivalencia (quincena chart map) o reclasifique esas facturas: la exportación no se hará con ellas.</p>"
        )
    return f"<div class='chart' id='plan-de-cuentas'>{body}</div>"


def _account_shown(account: str, chart: chart_store.CompanyChart) -> str:
    """A line's account as the accountant knows it: its name in the company's chart, and where the map
    books a generic sub-account."""
    name = chart.name_of(account)
    shown = esc(account) + (f" {esc(name)}" if name and chart.has_chart else "")
    exported = chart.export_code(account)
    if exported and exported != account:
        shown += f" → {esc(exported)} (equivalencia de la empresa)"
    return shown


# --- pages ------------------------------------------------------------------------------------------


@app.get("/", response_class=HTMLResponse)
def cycles_page(request: Request, person: Reader) -> HTMLResponse:
    base = _base(request)
    rows = [
        [f"<a href='{base}/ciclo/{esc(c['cycle_id'])}'>{esc(c['cycle_id'])}</a>", esc(c["invoices"]), esc(c["review"])]
        for c in worklist.cycles(person.companies)
    ]
    body = _table(["Quincena", "Facturas", "En revisión"], rows, {1, 2})
    return _page(request, "Revisión de quincenas", body, person)


@app.get("/ciclo/{cycle_id}", response_class=HTMLResponse)
def cycle_page(request: Request, cycle_id: str, person: Reader) -> HTMLResponse:
    _check(cycle_id)
    base = _base(request)
    rows = []
    airflow_answers.record_overwritten(cycle_id)  # an answer Airflow kept over the applied one: on record, shown
    listed = [c for c in worklist.companies(cycle_id) if person.sees(c["nit"])]
    states = {s["company_nit"]: s for s in approvals.cycle_states(cycle_id, [c["nit"] for c in listed])}
    for c in listed:
        state = states.get(c["nit"], {})
        decision = esc(approvals.state_text(state)) + _request_link(request, state)
        link = f"<a href='{base}/ciclo/{esc(cycle_id)}/empresa/{esc(c['nit'])}'>{esc(c['nit'])} {esc(c['name'])}</a>"
        sent = f"{c['batches_done']} / {c['batches']}" if c["batches"] else "—"
        rows.append([link, esc(c["invoices"]), esc(c["pending"]), esc(sent), esc(c["review"]), esc(c["classified"]),
                     esc(c["quarantined_files"]), decision])  # fmt: skip
    head = ["Empresa", "Facturas", "Pendientes", "Lotes enviados a DeepSeek", "Por revisar", "Clasificadas",
            "Archivos en cuarentena", "Aprobación"]  # fmt: skip
    return _page(request, f"Quincena {cycle_id}", _table(head, rows, {1, 2, 3, 4, 5, 6}), person)


@app.get("/ciclo/{cycle_id}/empresa/{nit}", response_class=HTMLResponse)
def company_page(
    request: Request,
    cycle_id: str,
    nit: str,
    person: Reader,
    msg: str = "",
    err: str = "",
    factura: str = "",
    firma: str = "",
    pagina: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    _check(cycle_id, nit, person)
    company = worklist.company(cycle_id, nit)
    if company is None:
        raise HTTPException(status_code=404, detail=UNKNOWN_COMPANY)
    every = worklist.invoices(nit, cycle_id, status="review")
    chosen, filter_errors = filters.from_query(request.query_params)
    invoices = filters.apply(every, chosen)
    pages = max(1, -(-len(invoices) // PAGE_SIZE))
    pagina = min(pagina, pages)
    shown = invoices[(pagina - 1) * PAGE_SIZE : pagina * PAGE_SIZE]
    ok, error = _notice(person, msg, err, factura, firma)
    # A failed action's error sits in its invoice's box, where the accountant clicked (the URL's anchor).
    near = {inv["id"] for inv in shown if error and str(inv["id"]) == factura}
    notice = (f"<p class='ok'>{esc(ok)}</p>" if ok else "") + (
        f"<p class='err'>{esc(error)}</p>" if error and not near else ""
    )
    notice += "".join(f"<p class='err'>{esc(e)}</p>" for e in filter_errors)
    summary = (
        f"<p class='meta'>{esc(company['invoices'])} facturas · {esc(company['review'])} por revisar · "
        f"{esc(company['classified'])} clasificadas · {esc(company['quarantined_files'])} archivos en cuarentena</p>"
    )
    offers = lookalikes.page_offers(nit, cycle_id, shown) if person.can_write else {}
    reopen = _reopen_confirmation(nit, cycle_id)
    view = view_query(request.query_params)
    chart = chart_store.load(nit)
    summary += _chart_section(nit, cycle_id, chart)
    forms = "".join(
        _invoice_form(
            request, cycle_id, nit, inv, person, error if inv["id"] in near else "", offers, reopen, view, chart
        )
        for inv in shown
    )
    forms = forms or "<p class='meta'>(ninguna)</p>"
    files = _table(
        ["Archivo", "Motivo"],
        [[esc(f["path"]), _quarantine_reason(f)] for f in worklist.quarantined(nit, cycle_id)],
    )
    base = _base(request)
    company_url = f"{base}/ciclo/{esc(cycle_id)}/empresa/{esc(nit)}"
    links = ", ".join(
        f"<a href='{company_url}/factura/{inv['id']}'>{esc(inv['number'])}</a>"
        for inv in worklist.invoice_links(nit, cycle_id, "classified")
    )
    warning = approvals.page_notice(nit, cycle_id)
    counted = f"{len(invoices)} de {len(every)}" if chosen.active else f"{len(every)}"
    body = (
        notice + (f"<p class='err' id='aprobacion'>{esc(warning)}</p>" if warning else "")
        + _ask_again_form(request, cycle_id, nit, person) + summary + _datalist(nit)
        + f"<h2>Facturas por revisar ({counted})</h2>"
        + _filter_form(company_url, every, chosen)
        + (_bulk_link(company_url, invoices, chosen) if person.can_write else "")
        + forms + _pager(company_url, chosen, pagina, pages)
        + f"<h2>Archivos en cuarentena</h2>{files}"
        + f"<h2>Facturas clasificadas (reclasificar)</h2><p>{links or '(ninguna)'}</p>"
    )  # fmt: skip
    return _page(request, f"{company['name']} — NIT {nit} — {cycle_id}", body, person)


def _filter_form(company_url: str, invoices: list[dict[str, Any]], chosen: filters.Filters) -> str:
    """A GET form (no script): review reason, supplier, amount range; Enter in any field filters."""
    kinds, suppliers = filters.choices(invoices)

    def options(pairs: list[tuple[str, str]], selected: str) -> str:
        return "<option value=''>(todos)</option>" + "".join(
            f"<option value='{esc(v)}'{' selected' if v == selected else ''}>{esc(label)}</option>"
            for v, label in pairs
        )

    low = "" if chosen.low is None else esc(chosen.low)
    high = "" if chosen.high is None else esc(chosen.high)
    return (
        f"<form method='get' action='{company_url}' class='filters'>"
        f"<label>Motivo <select name='motivo'>{options([(k, k) for k in kinds], chosen.reason)}</select></label> "
        f"<label>Proveedor <select name='proveedor'>"
        f"{options([(n, f'{name} ({n})') for n, name in suppliers], chosen.supplier)}</select></label> "
        f"<label>Total desde <input name='monto_min' inputmode='decimal' size='12' value='{low}'></label> "
        f"<label>hasta <input name='monto_max' inputmode='decimal' size='12' value='{high}'></label> "
        "<button>Filtrar</button>"
        + (f" <a href='{company_url}'>Quitar filtros</a>" if chosen.active else "")
        + "</form>"
    )


def _bulk_link(company_url: str, invoices: list[dict[str, Any]], chosen: filters.Filters) -> str:
    ready = filters.ready(invoices)
    if not ready:
        return "<p class='meta'>Ninguna factura de esta lista tiene todas sus líneas con cuenta.</p>"
    query = urlencode(chosen.query())
    href = f"{company_url}/aprobar-completas" + (f"?{esc(query)}" if query else "")
    return (
        f"<p><a class='bulk' href='{href}'>Aprobar las {len(ready)} facturas de esta lista que tienen todas sus "
        "líneas con cuenta…</a> (pide confirmación)</p>"
    )


def _pager(company_url: str, chosen: filters.Filters, current: int, pages: int) -> str:
    """Page links when the list is long: a page of PAGE_SIZE invoices renders fast at any company size."""
    if pages == 1:
        return ""
    links = []
    for number in range(1, pages + 1):
        if number == current:
            links.append(f"<b aria-current='page'>{number}</b>")
            continue
        query = esc(urlencode({**chosen.query(), "pagina": number}))
        links.append(f"<a href='{company_url}?{query}'>{number}</a>")
    return f"<nav class='pager' aria-label='Páginas'>Página: {' '.join(links)}</nav>"


@app.get("/ciclo/{cycle_id}/empresa/{nit}/aprobar-completas", response_class=HTMLResponse)
def bulk_approval_page(request: Request, cycle_id: str, nit: str, person: Writer) -> HTMLResponse:
    """The confirmation step: the invoices that would be approved, listed, and one button."""
    _check(cycle_id, nit, person)
    company = worklist.company(cycle_id, nit)
    if company is None:
        raise HTTPException(status_code=404, detail=UNKNOWN_COMPANY)
    chosen, _ = filters.from_query(request.query_params)
    ready = filters.ready(filters.apply(worklist.invoices(nit, cycle_id, status="review"), chosen))
    more = len(ready) - MAX_BULK
    ready = ready[:MAX_BULK]
    company_url = f"{_base(request)}/ciclo/{esc(cycle_id)}/empresa/{esc(nit)}"
    rows = [
        [esc(inv["number"]), f"{esc(inv['supplier_name'])} ({esc(inv['supplier_nit'])})",
         _money(inv["tax_inclusive_amount"]), esc(len(inv["lines"])),
         "<br>".join(f"<span class='reason'>{esc(r)}</span>" for r in inv["reasons"])]
        for inv in ready
    ]  # fmt: skip
    ids = "".join(f"<input type='hidden' name='{BULK_FIELD}' value='{inv['id']}'>" for inv in ready)
    token = signing.form_token(person.name, _csrf_token(request))
    form = (
        f"<form method='post' action='{company_url}/aprobar-completas'>"
        f"<input type='hidden' name='{CSRF_FIELD}' value='{token}'>{ids}"
        f"<input type='hidden' name='{VIEW_FIELD}' value='{esc(view_query(request.query_params))}'>"
        + _reopen_confirmation(nit, cycle_id)
        + f"<button name='accion' value='aprobar-completas'>Confirmo: aprobar estas {len(ready)} facturas</button>"
        f" <a href='{company_url}'>Volver sin aprobar</a></form>"
    )
    body = (
        f"<p>Se aprobarán {len(ready)} facturas en revisión cuyas líneas tienen todas cuenta (las propuestas se "
        "registran como confirmadas por usted y se construye el asiento de cada una).</p>"
        + (f"<p class='meta'>Quedan {more} más: repita después para aprobarlas.</p>" if more > 0 else "")
        + _table(["Factura", "Proveedor", "Total", "Líneas", "Motivos de revisión"], rows, {2, 3})
        + (form if ready else f"<p><a href='{company_url}'>Volver</a></p>")
    )
    return _page(request, f"Aprobar facturas completas — {company['name']} — {cycle_id}", body, person)


@app.get("/ciclo/{cycle_id}/empresa/{nit}/factura/{invoice_id}", response_class=HTMLResponse)
def invoice_page(request: Request, cycle_id: str, nit: str, invoice_id: InvoiceId, person: Reader) -> HTMLResponse:
    _check(cycle_id, nit, person)
    invoice = worklist.invoice(nit, cycle_id, invoice_id)
    if invoice is None:
        raise HTTPException(status_code=404, detail="la factura no es de esta empresa en este ciclo")
    offers = lookalikes.page_offers(nit, cycle_id, [invoice]) if person.can_write else {}
    form = _invoice_form(request, cycle_id, nit, invoice, person, "", offers, _reopen_confirmation(nit, cycle_id))
    body = _datalist(nit) + form
    return _page(request, f"Factura {invoice['number']}", body, person)


def _notice(person: Person, msg: str, err: str, invoice: str, signature: str) -> tuple[str, str]:
    """The (success, error) texts of the redirect after an action, shown only when signed for this user."""
    kind, text = ("err", err) if err else ("msg", msg)
    if not text or not signing.verify(signature, "notice", person.name, kind, invoice, text):
        return "", ""
    return ("", text) if kind == "err" else (text, "")


def _notice_url(base: str, person: Person, kind: str, invoice_id: int, text: str, view: str = "") -> str:
    text = signing.clip(text)
    signature = signing.notice_signature(person.name, kind, str(invoice_id), text)
    query = urlencode({**parse_qs(view), kind: text, "factura": invoice_id, "firma": signature}, doseq=True)
    return f"{base}?{query}#factura-{invoice_id}"


def view_query(params: Mapping[str, str]) -> str:
    """The list the accountant was looking at (filters and page), rebuilt from known fields only: after
    an action they come back to it, and nothing else travels through the form into the redirect."""
    chosen, _ = filters.from_query(params)
    page = str(params.get("pagina", ""))
    paged = {"pagina": page} if page.isascii() and page.isdigit() and len(page) <= 6 and int(page) > 1 else {}
    return urlencode({**chosen.query(), **paged})


def _back(base: str, person: Person, kind: str, invoice_id: int, text: str, form: Any) -> RedirectResponse:
    """The redirect after an action: the notice, signed, on the list the form was sent from."""
    view = view_query({k: v[-1] for k, v in parse_qs(str(form.get(VIEW_FIELD, ""))[:500]).items()})
    return RedirectResponse(_notice_url(base, person, kind, invoice_id, text, view), status_code=303)


def _invoice_form(
    request: Request,
    cycle_id: str,
    nit: str,
    invoice: dict[str, Any],
    person: Person,
    error: str,
    offers: dict[int, list[lookalikes.Offer]],
    reopen: str,
    view: str = "",
    chart: chart_store.CompanyChart | None = None,
) -> str:
    base = _base(request)
    chart = chart or chart_store.load(nit)
    company = f"{base}/ciclo/{esc(cycle_id)}/empresa/{esc(nit)}"
    action = f"{company}/factura/{invoice['id']}"
    rows = []
    for ln in invoice["lines"]:
        proposal = (
            f"{_account_shown(ln['account'], chart)} "
            f"({esc(SOURCE_ES.get(ln['source'], ln['source']))}, {esc(ln['confidence'])})"
            if ln["account"]
            else "<span class='reason'>sin propuesta</span>"
        )
        field = (
            f"<input class='account' name='cuenta_{ln['line_id']}' list='cuentas' value='{esc(ln['account'] or '')}'"
            f" aria-label='Cuenta de la línea {ln['line_no']}' placeholder='código o nombre'>"
        )
        rows.append([esc(ln["line_no"]), esc(ln["description"]), _money(ln["line_total"]), proposal, field])
    lines = _table(["#", "Descripción", "Valor", "Propuesta (origen, confianza)", "Cuenta"], rows, {2})
    repeats = _offers_list(company, invoice["lines"], offers)
    reasons = "".join(f"<li class='reason'>{esc(r)}</li>" for r in invoice["reasons"])
    history = "".join(_history_item(h) for h in invoice["history"])
    buttons = (
        "<button name='accion' value='guardar'>Guardar</button>"
        "<button name='accion' value='aprobar'>Aprobar factura</button>"
        if invoice["status"] == "review"
        else "<button name='accion' value='reclasificar'>Reclasificar</button>"
    )
    buttons = buttons if person.can_write else ""  # a read-only role is told why once, at the top
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
        + (f"<p class='err'>{esc(error)}</p>" if error else "")
        + f"<form method='post' action='{action}'>"
        + f"<input type='hidden' name='{CSRF_FIELD}' value='{signing.form_token(person.name, _csrf_token(request))}'>"
        + (f"<input type='hidden' name='{VIEW_FIELD}' value='{esc(view)}'>" if view else "")
        + lines + reopen + buttons + (repeats if person.can_write else "") + "</form>"
        + (f"<details><summary>Historial de cambios</summary><ul>{history}</ul></details>" if history else "")
        + "</div>"
    )  # fmt: skip


def _ask_again_form(request: Request, cycle_id: str, nit: str, person: Person) -> str:
    """Reopened or rejected books that no request asks about: one button asks the accountant now."""
    if not person.can_write or not books_request.askable(nit, cycle_id):
        return ""
    action = f"{_base(request)}/ciclo/{esc(cycle_id)}/empresa/{esc(nit)}/solicitar"
    token = signing.form_token(person.name, _csrf_token(request))
    return (
        f"<form method='post' action='{action}'><input type='hidden' name='{CSRF_FIELD}' value='{token}'>"
        "<button>Solicitar la aprobación ahora</button> <span class='meta'>(si no, la pide la próxima quincena)"
        "</span></form>"
    )


def _offers_list(company_url: str, lines: list[dict[str, Any]], offers: dict[int, list[lookalikes.Offer]]) -> str:
    """The look-alike buttons, after the form's own buttons: Enter in an account field submits the
    form's first button, which must stay «Guardar»."""
    items = "".join(
        f"<li>Línea {esc(ln['line_no'])}: " + "".join(_offer_button(company_url, o) for o in offers[ln["line_id"]])
        + "</li>"
        for ln in lines
        if ln["line_id"] in offers
    )  # fmt: skip
    return f"<p>Líneas parecidas:</p><ul class='repeat'>{items}</ul>" if items else ""


def _offer_button(company_url: str, offer: lookalikes.Offer) -> str:
    """A submit button of the invoice's form posting to the look-alike action (forms cannot nest)."""
    target = f"{company_url}/linea/{offer.line_id}/igualar"
    label = f"Aplicar {offer.account} a {offer.count} {REACH_ES[offer.reach]}"
    value = f"{offer.reach}:{offer.count}"
    return (
        f"<button class='repeat' name='{REPEAT_FIELD}' value='{esc(value)}' formaction='{target}'>{esc(label)}</button>"
    )


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
    if h.get("from_line_no") is not None:
        change += f" (aplicado desde la línea {esc(h['from_line_no'])} de la factura {esc(h['from_invoice'])})"
    when = esc(str(h["changed_at"])[:19])
    return f"<li>{when} {esc(h['changed_by'])} {what}{change if h['new_account'] else ''}</li>"


@app.get("/cuentas")
def accounts_search(q: str, person: Reader) -> JSONResponse:
    return JSONResponse([{"code": a.code, "name": a.name} for a in worklist.search_accounts(q)])


@app.get("/ciclo/{cycle_id}/empresa/{nit}/cuentas")
def company_accounts_search(cycle_id: str, nit: str, q: str, person: Reader) -> JSONResponse:
    _check(cycle_id, nit, person)
    return JSONResponse([{"code": a.code, "name": a.name} for a in worklist.search_accounts(q, company_nit=nit)])


# --- actions ------------------------------------------------------------------------------------------


def _same_origin(request: Request) -> bool:
    from airflow.configuration import conf

    base_url = conf.get("api", "base_url", fallback="") or ""
    return origin_allowed(request.headers.get("origin"), base_url, request.headers.get("host", ""))


def _site(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of a URL, default ports filled in; None when it is not an http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port


def origin_allowed(origin: str | None, base_url: str, host: str) -> bool:
    """A POST's ``Origin`` (when the browser sends one) must be the site Airflow is configured to be
    served at (``[api] base_url``), scheme, host and port; without one configured, this request's host."""
    if origin is None:
        return True
    sent = _site(origin)
    if sent is None:  # "null" (a sandboxed frame, a file:// page) or garbage
        return False
    if base_url:
        return sent == _site(base_url)
    return sent == _site(f"{sent[0]}://{host}")


REOPEN_REFUSAL = (
    "La quincena ya fue aprobada (ver el aviso arriba): para cambiarla marque «Confirmo reabrir» "
    "y envíe de nuevo. Nada se cambió."
)


async def _verified_form(request: Request, person: Person) -> Any:
    """The POST's form, once its origin and its form token (bound to this user and cookie) verify."""
    form = await request.form()
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = str(form.get(CSRF_FIELD, ""))
    if not _same_origin(request) or not cookie or not signing.verify(sent, *signing.form_parts(person.name, cookie)):
        raise HTTPException(status_code=403, detail="solicitud rechazada: token CSRF u origen no válidos")
    return form


@app.post("/ciclo/{cycle_id}/empresa/{nit}/solicitar")
async def ask_again(request: Request, cycle_id: str, nit: str, person: Writer) -> Response:
    """Start the approval request for reopened or rejected books now, instead of at the next cycle run."""
    _check(cycle_id, nit, person)
    await _verified_form(request, person)
    base = f"{_base(request)}/ciclo/{cycle_id}/empresa/{nit}"
    run = books_request.ask_now(nit, cycle_id, person.name)
    text = (
        f"Aprobación solicitada: {run}"
        if run
        else "Nada que solicitar: una solicitud ya espera por estos libros, o la aprobación vigente los cubre."
    )
    return RedirectResponse(_notice_url(base, person, "msg", 0, text), status_code=303)


def _unconfirmed_reopen(nit: str, cycle_id: str, form: Any) -> bool:
    return approvals.needs_confirmation(nit, cycle_id) and form.get(REOPEN_FIELD) != "1"


def parse_repeat(value: str) -> tuple[lookalikes.Reach, int]:
    """The look-alike button's "<reach>:<count shown>"; a 400 for anything else."""
    reach, _, count = value.partition(":")
    if reach not in lookalikes.REACHES or not (count.isascii() and count.isdigit() and len(count) <= 9):
        raise HTTPException(status_code=400, detail="solicitud no válida: alcance desconocido")
    return reach, int(count)  # type: ignore[return-value]


@app.post("/ciclo/{cycle_id}/empresa/{nit}/linea/{line_id}/igualar")
async def look_alike_action(request: Request, cycle_id: str, nit: str, line_id: LineId, person: Writer) -> Response:
    """Repeat a line's account on its look-alike lines (the count the page showed), all or nothing."""
    _check(cycle_id, nit, person)
    form = await _verified_form(request, person)
    reach, expected = parse_repeat(str(form.get(REPEAT_FIELD, "")))
    base = f"{_base(request)}/ciclo/{cycle_id}/empresa/{nit}"
    owner = lookalikes.source_invoice(nit, cycle_id, line_id)
    if owner is None:
        raise HTTPException(status_code=404, detail="la línea no es de esta empresa en este ciclo")
    if _unconfirmed_reopen(nit, cycle_id, form):
        return _back(base, person, "err", owner, REOPEN_REFUSAL, form)
    try:
        done = lookalikes.apply(nit, cycle_id, line_id, reach, person.name, expected)
    except actions.ReviewError as exc:
        return _back(base, person, "err", owner, str(exc), form)
    message = f"Cuenta aplicada a {done.lines} línea(s) parecida(s) en {done.invoices} factura(s)."
    return _back(base, person, "msg", owner, message, form)


@app.post("/ciclo/{cycle_id}/empresa/{nit}/aprobar-completas")
async def bulk_approval(request: Request, cycle_id: str, nit: str, person: Writer) -> Response:
    """Approve exactly the invoices the confirmation page listed, all or none."""
    _check(cycle_id, nit, person)
    form = await _verified_form(request, person)
    ids = [str(v) for v in form.getlist(BULK_FIELD)]
    if not ids or len(ids) > MAX_BULK or not all(v.isascii() and v.isdigit() and len(v) <= 18 for v in ids):
        raise HTTPException(status_code=400, detail="solicitud no válida: facturas a aprobar")
    base = f"{_base(request)}/ciclo/{cycle_id}/empresa/{nit}"
    if _unconfirmed_reopen(nit, cycle_id, form):
        return _back(base, person, "err", 0, REOPEN_REFUSAL, form)
    try:
        approved = actions.approve_many(nit, cycle_id, [int(v) for v in ids], person.name)
    except actions.ReviewError as exc:
        text = f"Ninguna factura se aprobó: {exc}"
        return _back(base, person, "err", 0, text, form)
    return _back(base, person, "msg", 0, f"{approved} factura(s) aprobada(s).", form)


@app.post("/ciclo/{cycle_id}/empresa/{nit}/factura/{invoice_id}")
async def invoice_action(request: Request, cycle_id: str, nit: str, invoice_id: InvoiceId, person: Writer) -> Response:
    _check(cycle_id, nit, person)
    form = await _verified_form(request, person)
    accounts: dict[int, str] = {}
    for key, value in form.items():
        if key.startswith("cuenta_") and str(value).strip():
            line = key[7:]
            if not (line.isascii() and line.isdigit() and len(line) <= 18):  # a bigint id in ASCII digits
                raise HTTPException(status_code=400, detail=f"campo no válido: {signing.clip(key[:40])}")
            accounts[int(line)] = str(value)
    who = person.name
    action = str(form.get("accion", ""))
    base = f"{_base(request)}/ciclo/{cycle_id}/empresa/{nit}"
    if _unconfirmed_reopen(nit, cycle_id, form):
        return _back(base, person, "err", invoice_id, REOPEN_REFUSAL, form)
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
        return _back(base, person, "err", invoice_id, str(exc), form)
    return _back(base, person, "msg", invoice_id, message, form)
