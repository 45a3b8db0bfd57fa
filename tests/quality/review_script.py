"""A scripted review session: classified lines and the accountant actions the review page appends.

Every figure of test_agreement is counted by hand from this script:

Cycle 2026-10-Q2, company A (model deepseek-v4-flash, prompt p1): 20 model lines, 19 kept, 1 changed.
Cycle 2026-11-Q1 (model deepseek-v4.1-flash, prompt p1):
  company A, 20 model lines proposing 512010 unless said: 12 kept; 3 untouched on an approved invoice
  (kept); 1 'changed' to the same account (kept); 2 changed 519595 -> 519530; 1 changed 513535 -> 513520;
  1 changed 513530 -> 513525 and later re-changed by the accountant (the first action counts)
  => kept 16, changed 4 (agreement 0.80);
  company B: 2 model lines kept, 1 line filled (model proposed nothing; 511025 chosen), 1 supplier-memory
  line kept (not a model proposal: left out) => kept 2, filled 1.
  Firm: 23 reviewed, kept 18, changed 4, filled 1 (agreement 18/23 = 0.7826).
Versions: v4-flash/p1 19/20 = 0.95; v4.1-flash/p1 (A 16 of 20, B 2 of 2) 18/22 = 0.8182: a fall of 13.18 %.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from quincena.core import db

A, B = "900100001", "900100002"
OLD_CYCLE, NEW_CYCLE = "2026-10-Q2", "2026-11-Q1"
OLD_MODEL, NEW_MODEL = "deepseek-v4-flash", "deepseek-v4.1-flash"
REVIEWED_AT = datetime(2026, 11, 17, 15, 0, tzinfo=UTC)  # Tuesday of 2026-W47
_seq = itertools.count(1)


def _invoice(cur, company: str, cycle: str, lines: int) -> tuple[int, list[int]]:
    n = next(_seq)
    cur.execute(
        """INSERT INTO invoices (company_nit, cufe, doc_type, number, issue_date, currency, supplier_nit,
               supplier_name, customer_nit, line_extension_amount, tax_exclusive_amount, tax_inclusive_amount,
               payable_amount, cycle_id, status, status_reason, source_file)
           VALUES (%s, %s, 'invoice', %s, %s, 'COP', '800100200', 'Proveedor de Prueba S.A.S.', %s,
                   100, 100, 119, 119, %s, 'review', 'scripted review', %s) RETURNING id""",
        (company, f"cufe-{n}", f"FE-{n}", date(2026, 11, 3), company, cycle, f"FE-{n}.xml"),
    )
    invoice_id = cur.fetchone()["id"]
    line_ids = []
    for no in range(1, lines + 1):
        cur.execute(
            """INSERT INTO invoice_lines (invoice_id, line_no, description, quantity, unit_price, line_total)
               VALUES (%s, %s, 'Servicio de prueba', 1, 100, 100) RETURNING id""",
            (invoice_id, no),
        )
        line_ids.append(cur.fetchone()["id"])
    return invoice_id, line_ids


def _classify(cur, company, cycle, invoice_id, line_id, account, source="model", model=None, prompt=None) -> None:
    cur.execute(
        """INSERT INTO classifications (invoice_line_id, invoice_id, company_nit, account_code, confidence, source,
               model, prompt_version, cycle_id) VALUES (%s, %s, %s, %s, 0.9, %s, %s, %s, %s)""",
        (line_id, invoice_id, company, account, source, model, prompt, cycle),
    )


def _act(cur, company, cycle, invoice_id, line_id, action, old, old_source, new, minutes=0) -> None:
    cur.execute(
        """INSERT INTO classification_history (invoice_id, invoice_line_id, company_nit, cycle_id, action,
               old_account, old_source, new_account, changed_by, changed_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'contadora', %s)""",
        (invoice_id, line_id, company, cycle, action, old, old_source, new, REVIEWED_AT + timedelta(minutes=minutes)),
    )


def _model_line(cur, company, cycle, account, model, action, new=None, minutes=0) -> tuple[int, int]:
    invoice_id, (line_id,) = _invoice(cur, company, cycle, 1)
    _classify(cur, company, cycle, invoice_id, line_id, account, model=model, prompt="p1")
    if action:
        _act(cur, company, cycle, invoice_id, line_id, action, account, "model", new or account, minutes)
    return invoice_id, line_id


def seed() -> None:
    with db.transaction() as cur:
        for nit, name in ((A, "Comercializadora Andina S.A.S."), (B, "Servicios Boyacá Ltda")):
            cur.execute("INSERT INTO companies (nit, dv, name) VALUES (%s, 1, %s)", (nit, name))
        # the previous cycle, reviewed earlier
        for _ in range(19):
            _model_line(cur, A, OLD_CYCLE, "512010", OLD_MODEL, "kept", minutes=-20000)
        _model_line(cur, A, OLD_CYCLE, "519595", OLD_MODEL, "changed", "519530", minutes=-20000)
        # this cycle, company A
        for _ in range(12):
            _model_line(cur, A, NEW_CYCLE, "512010", NEW_MODEL, "kept")
        invoice_id, line_ids = _invoice(cur, A, NEW_CYCLE, 3)
        for line_id in line_ids:
            _classify(cur, A, NEW_CYCLE, invoice_id, line_id, "512010", model=NEW_MODEL, prompt="p1")
        _act(cur, A, NEW_CYCLE, invoice_id, line_ids[0], "approved_invoice", None, None, None, 5)
        _model_line(cur, A, NEW_CYCLE, "512010", NEW_MODEL, "changed", "512010")
        for _ in range(2):
            _model_line(cur, A, NEW_CYCLE, "519595", NEW_MODEL, "changed", "519530")
        _model_line(cur, A, NEW_CYCLE, "513535", NEW_MODEL, "changed", "513520")
        invoice_id, line_id = _model_line(cur, A, NEW_CYCLE, "513530", NEW_MODEL, "changed", "513525", minutes=1)
        _act(cur, A, NEW_CYCLE, invoice_id, line_id, "changed", "513525", "accountant", "513555", minutes=9)
        # this cycle, company B
        for _ in range(2):
            _model_line(cur, B, NEW_CYCLE, "511025", NEW_MODEL, "kept")
        invoice_id, (line_id,) = _invoice(cur, B, NEW_CYCLE, 1)
        _classify(cur, B, NEW_CYCLE, invoice_id, line_id, "511025", source="accountant")
        _act(cur, B, NEW_CYCLE, invoice_id, line_id, "filled", None, None, "511025")
        invoice_id, (line_id,) = _invoice(cur, B, NEW_CYCLE, 1)
        _classify(cur, B, NEW_CYCLE, invoice_id, line_id, "513530", source="memory")
        _act(cur, B, NEW_CYCLE, invoice_id, line_id, "kept", "513530", "memory", "513530")
