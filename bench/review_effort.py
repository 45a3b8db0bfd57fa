"""The accountant's effort: form submissions needed to take every company of the demo's sample to approvable
(nothing left in review), with the review page as it was and as it is.

The demo's sample (its seed and scale, the first company on its own chart of accounts) is classified on the
simulator, then the same scripted accountant reviews two copies of that database through the review app:

- ``line_by_line`` (the page before look-alikes and bulk approval): each invoice in review is one submission,
  its wrong or missing accounts filled in and «Aprobar factura»;
- ``look_alikes`` (the page now): the first wrong line of a supplier and description is corrected once
  («Guardar»), «Aplicar … a N línea(s) con la misma descripción» repeats it, and «Aprobar las N facturas …
  completas» approves the rest after its confirmation page.

The accountant knows the right account of every line: the sample's expected sub-account (on the company's
own chart, its first auxiliary). Both sessions must end with nothing in review and every reviewed line on its
right account. Prints one JSON line: submissions per session, their ratio, and what each session did.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import review_pages

SESSIONS = ("line_by_line", "look_alikes")
_TOKEN = re.compile(r"name='csrf_token' value='([^']+)'")
_BULK_ID = re.compile(r"name='factura' value='(\d+)'")


def classified_sample(companies: int, invoices: int, seed: int) -> dict[str, Any]:
    """The demo's sample classified on the simulator; the first company keeps its own chart."""
    from quincena.chart import store
    from quincena.core import config
    from quincena.devtools import sample
    from quincena.devtools.sample import charts
    from quincena.devtools.simulator import start_simulator
    from quincena.pipeline import cycle

    sim = start_simulator(latency_ms=5, latency_sd_ms=0, concurrency=16, seed=3)
    common.use_simulator(sim)
    made = sample.generate(companies=companies, invoices=invoices, inbox=config.inbox_dir(), seed=seed,
                           period=common.CYCLE)  # fmt: skip
    charted = sorted(c.nit for c in made)[0]  # as `make demo` does
    store.import_chart(charted, charts.write_chart(config.local_dir() / "chart.csv"), "bench")
    params = {"cycle": common.CYCLE, "companies": [], "invoices_per_request": 8}
    for target in cycle.company_targets(cycle.resolve_cycle(None, None, params)):
        cycle.ingest(target)
        cycle.classify(target, concurrency=4)
        cycle.store_entries(target)
    sim.stop()
    return {"charted": charted, "nits": sorted(c.nit for c in made)}


def right_account(nit: str, description: str, proposal: str | None) -> str:
    """What the accountant books a line to: the sample's expected sub-account (the company's first auxiliary
    under it when it has a chart); a line the sample does not know keeps its proposal, else Diversos."""
    from quincena.chart import store
    from quincena.devtools import sample

    expected = sample.expected_account_by_description().get(description) or proposal or "519595"
    targets = store.targets(nit)
    if expected in targets:
        return expected
    under = sorted(code for code in targets if code.startswith(expected[:6]))
    return under[0] if under else expected


@dataclasses.dataclass
class Session:
    """A logged-in accountant on the review app, counting the forms submitted."""

    http: Any
    submissions: int = 0
    kinds: dict[str, int] = dataclasses.field(default_factory=dict)

    def company_url(self, nit: str) -> str:
        return f"/ciclo/{common.CYCLE}/empresa/{nit}"

    def token(self, nit: str) -> str:
        return _TOKEN.search(self.http.get(self.company_url(nit)).text).group(1)

    def submit(self, kind: str, path: str, fields: dict[str, Any]) -> str:
        self.submissions += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        page = self.http.post(path, data=fields, follow_redirects=True)
        if page.status_code != 200 or "<p class='err'>" in page.text:
            raise RuntimeError(f"{kind} {path} was refused: {page.status_code} {page.text[:400]}")
        return page.text


def wrong_lines(nit: str, invoice: dict[str, Any]) -> dict[int, str]:
    """Line id -> the right account, for the invoice's lines whose account is missing or wrong."""
    fixes = {}
    for line in invoice["lines"]:
        right = right_account(nit, line["description"], line["account"])
        if line["account"] != right:
            fixes[line["line_id"]] = right
    return fixes


def line_by_line(session: Session, nit: str) -> None:
    """One submission per invoice in review: its accounts filled in, then «Aprobar factura»."""
    from quincena.review import worklist

    invoices = worklist.invoices(nit, common.CYCLE)
    token = session.token(nit) if invoices else ""
    for invoice in invoices:
        fields = {f"cuenta_{line}": code for line, code in wrong_lines(nit, invoice).items()}
        path = f"{session.company_url(nit)}/factura/{invoice['id']}"
        session.submit("aprobar factura", path, {"csrf_token": token, "accion": "aprobar", **fields})


def look_alikes(session: Session, nit: str) -> None:
    """Correct each kind of wrong line once and repeat it on its look-alikes, then approve every complete
    invoice in one confirmed action (and, should any be left, one by one)."""
    from quincena.review import lookalikes, worklist

    if not worklist.invoices(nit, common.CYCLE):
        return
    token = session.token(nit)
    url = session.company_url(nit)
    while True:
        pending = [(inv, wrong_lines(nit, inv)) for inv in worklist.invoices(nit, common.CYCLE)]
        invoice, fixes = next(((inv, f) for inv, f in pending if f), (None, None))
        if invoice is None:
            break
        fields = {f"cuenta_{line}": code for line, code in fixes.items()}
        session.submit("guardar", f"{url}/factura/{invoice['id']}", {"csrf_token": token, "accion": "guardar",
                                                                     **fields})  # fmt: skip
        saved = worklist.invoice(nit, common.CYCLE, invoice["id"])
        for line_id, offers in lookalikes.page_offers(nit, common.CYCLE, [saved]).items():
            for offer in (o for o in offers if o.reach == "description"):
                fields = {"csrf_token": token, "igualar": f"{offer.reach}:{offer.count}"}
                session.submit("aplicar a parecidas", f"{url}/linea/{line_id}/igualar", fields)
    while worklist.invoices(nit, common.CYCLE):
        ids = _BULK_ID.findall(session.http.get(f"{url}/aprobar-completas").text)
        if not ids:
            break
        fields = {"csrf_token": token, "accion": "aprobar-completas", "factura": ids}
        session.submit("aprobar completas", f"{url}/aprobar-completas", fields)
    for invoice in worklist.invoices(nit, common.CYCLE):
        path = f"{url}/factura/{invoice['id']}"
        session.submit("aprobar factura", path, {"csrf_token": token, "accion": "aprobar"})


def reviewed_lines(nits: list[str]) -> dict[int, tuple[str, str, str | None]]:
    """Every line of an invoice in review: id -> (company, description, proposal)."""
    from quincena.review import worklist

    return {
        line["line_id"]: (nit, line["description"], line["account"])
        for nit in nits
        for invoice in worklist.invoices(nit, common.CYCLE)
        for line in invoice["lines"]
    }


def outcome(reviewed: dict[int, tuple[str, str, str | None]]) -> dict[str, int]:
    """After a session: invoices left in review, reviewed lines off their right account, and lines of
    invoices that were classified before the session whose account it changed."""
    from quincena.core import db

    left = db.query_text("SELECT count(*) AS n FROM invoices WHERE status = 'review'")[0]["n"]
    booked = {r["line_id"]: r["account_code"] for r in db.query_text(
        "SELECT invoice_line_id AS line_id, account_code FROM classifications")}  # fmt: skip
    wrong = sum(booked.get(line) != right_account(nit, text, proposal)
                for line, (nit, text, proposal) in reviewed.items())  # fmt: skip
    others = db.query_text(
        "SELECT count(*) AS n FROM classification_history WHERE NOT (invoice_line_id = ANY(%s))", (list(reviewed),)
    )[0]["n"]
    return {"left_in_review": int(left), "reviewed_lines_wrong": int(wrong), "classified_lines_changed": int(others)}


def run_session(name: str, uri: str, nits: list[str], reviewed: dict) -> dict[str, Any]:
    from quincena.core import db

    os.environ[db.CONN_ENV] = uri
    session = Session(review_pages.client())
    began = time.monotonic()
    for nit in nits:
        (line_by_line if name == "line_by_line" else look_alikes)(session, nit)
    companies_with_work = sum(1 for nit in nits if any(r[0] == nit for r in reviewed.values()))
    return {"submissions": session.submissions, "by_kind": session.kinds, "seconds": time.monotonic() - began,
            "per_company_with_review": session.submissions / max(1, companies_with_work),
            **outcome(reviewed)}  # fmt: skip


def copy_database(uri: str, name: str) -> str:
    """A copy of the firm's database (PostgreSQL's template copy), for a second session on the same start."""
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE quincena')
    return re.sub(r"/quincena(\?|$)", rf"/{name}\1", uri)


def main() -> int:
    from quincena.devtools.demo.settings import DemoSettings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10 companies instead of the demo's 40")
    args = parser.parse_args()
    demo = DemoSettings()
    companies = 10 if args.quick else demo.companies
    common.private_local("effort")
    os.environ.setdefault("AIRFLOW__API__SECRET_KEY", "bench-review-effort-secret")
    uri = common.fresh_database()
    logging.getLogger().setLevel(logging.WARNING)
    began = time.monotonic()
    sample = classified_sample(companies, demo.invoices, demo.seed)
    reviewed = reviewed_lines(sample["nits"])
    copies = {name: copy_database(uri, f"effort_{name}") for name in SESSIONS}
    result: dict[str, Any] = {
        "scale": f"{companies} companies x {demo.invoices} invoices (seed {demo.seed}), the first on its own chart",
        "setup_s": time.monotonic() - began,
        "invoices_in_review": len({inv for inv in _review_invoices()}),
        "lines_in_review": len(reviewed),
        "lines_to_correct": sum(p != right_account(n, d, p) for n, d, p in reviewed.values()),
    }
    for name in SESSIONS:
        result[name] = run_session(name, copies[name], sample["nits"], reviewed)
    result["ratio"] = result["look_alikes"]["submissions"] / max(1, result["line_by_line"]["submissions"])
    print(json.dumps(result))
    return 0


def _review_invoices() -> list[int]:
    from quincena.core import db

    return [r["id"] for r in db.query_text("SELECT id FROM invoices WHERE status = 'review'")]


if __name__ == "__main__":
    raise SystemExit(main())
