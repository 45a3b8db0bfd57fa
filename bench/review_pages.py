"""The review pages at the scale of a firm: 100 companies x 150 invoices, 10 % in review, and one company
with 300 invoices in review; the cycle overview and that company's page timed through the review app.

Seeds a private embedded PostgreSQL with SQL (no classification run: the pages read what is stored),
then requests each page N times through FastAPI's TestClient on the review app as Airflow mounts it
(the Airflow authorization dependency answered as an admin: its cost is one JWT check, not the page's).
Prints one JSON line: p50 / p95 / max in ms per page, and what the page held.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

COMPANIES, INVOICES, REVIEW_SHARE, BIG_REVIEW = 100, 150, 0.10, 300
SUPPLIERS, LINES, CORRECTED = 20, 2, 20
DESCRIPTIONS = [
    "Alineación y balanceo de vehículo noviembre", "Servicio de vigilancia privada 240 horas",
    "Licencia mensual software contable en la nube", "Papelería sobres de manila tamaño oficio x 100",
    "Arriendo de bodega de almacenamiento", "Servicio de aseo y limpieza de oficinas",
    "Envío de correo certificado nacional", "Mercancía para la venta cemento gris bulto 50 kg",
    "Tiquete aéreo Bogotá Cali", "Servicio de restaurante atención a clientes",
]  # fmt: skip
FIRST_NIT = 900_100_000


def seed(companies: int, invoices: int, big_review: int) -> dict[str, int]:
    """Companies, invoices (every tenth in review, the first company topped up to ``big_review`` in review),
    two lines each with the model's proposal (one line of every other invoice in review without one), and the
    accountant's account on some lines of the big company."""
    from quincena.core import db

    every_tenth = round(1 / REVIEW_SHARE)
    extra = max(0, big_review - -(-invoices // every_tenth))
    with db.transaction() as cur:
        cur.execute(
            "INSERT INTO companies (nit, dv, name) SELECT (%(first)s + c)::text, c %% 10, 'Empresa ' || c "
            "FROM generate_series(0, %(n)s - 1) c",
            {"first": FIRST_NIT, "n": companies},
        )
        cur.execute(
            """
            INSERT INTO invoices (company_nit, cufe, doc_type, number, issue_date, currency, supplier_nit,
                                  supplier_name, customer_nit, line_extension_amount, tax_exclusive_amount,
                                  tax_inclusive_amount, payable_amount, cycle_id, issue_cycle_id, status,
                                  status_reason, source_file)
            SELECT (%(first)s + c)::text, md5(c || '-' || i), 'invoice', 'FE-' || i,
                   DATE '2026-11-01' + (i %% 15), 'COP', (800000000 + i %% %(suppliers)s)::text,
                   'Proveedor ' || (i %% %(suppliers)s) || ' S.A.S.', (%(first)s + c)::text,
                   100000 + i * 1000, 100000 + i * 1000, 119000 + i * 1190, 119000 + i * 1190,
                   %(cycle)s, %(cycle)s, s.status,
                   CASE WHEN s.status = 'review' THEN 'item 1: confidence 0.41 below 0.70 for 513520' END,
                   'bench/' || c || '/' || i || '.xml'
            FROM generate_series(0, %(n)s - 1) c
            CROSS JOIN LATERAL generate_series(0, %(invoices)s - 1 + CASE WHEN c = 0 THEN %(extra)s ELSE 0 END) i
            CROSS JOIN LATERAL (SELECT CASE WHEN i %% %(tenth)s = 0 OR i >= %(invoices)s THEN 'review'
                                            ELSE 'classified' END AS status) s
            """,
            {"first": FIRST_NIT, "n": companies, "invoices": invoices, "extra": extra, "tenth": every_tenth,
             "suppliers": SUPPLIERS, "cycle": common.CYCLE},
        )  # fmt: skip
        cur.execute(
            "INSERT INTO invoice_lines (invoice_id, line_no, description, quantity, unit_price, line_total) "
            "SELECT v.id, n, (%(descriptions)s::text[])[1 + (v.id + n) %% %(kinds)s], 1, 50000, 50000 "
            "FROM invoices v CROSS JOIN generate_series(1, %(lines)s) n",
            {"descriptions": DESCRIPTIONS, "kinds": len(DESCRIPTIONS), "lines": LINES},
        )
        cur.execute(
            "INSERT INTO classifications (invoice_line_id, invoice_id, company_nit, account_code, confidence, "
            "source, cycle_id) SELECT l.id, v.id, v.company_nit, '513520', 0.9, 'model', v.cycle_id "
            "FROM invoice_lines l JOIN invoices v ON v.id = l.invoice_id "
            "WHERE v.status = 'classified' OR l.line_no = 1 OR v.id % 2 = 0"
        )
        # Corrections already saved on the big company's first invoices: their look-alike offers are computed.
        cur.execute(
            "UPDATE classifications SET source = 'accountant', account_code = '519595', confidence = 1 "
            "WHERE id IN (SELECT c.id FROM classifications c JOIN invoices v ON v.id = c.invoice_id "
            "WHERE v.company_nit = %s AND v.status = 'review' ORDER BY v.issue_date, v.number, v.id LIMIT %s)",
            (str(FIRST_NIT), CORRECTED),
        )
        cur.execute("ANALYZE")
    counts = db.query_text(
        "SELECT count(*) AS invoices, count(*) FILTER (WHERE status = 'review') AS review, "
        "count(*) FILTER (WHERE status = 'review' AND company_nit = %s) AS big_review FROM invoices",
        (str(FIRST_NIT),),
    )[0]
    return {k: int(v) for k, v in counts.items()}


def client():
    """The review app (as plugins/quincena_review.py mounts it) with an admin as the logged-in user."""
    from fastapi.testclient import TestClient

    from quincena.review import web

    admin = web.Person("bench", ("admin",), True, None)
    web.app.dependency_overrides[web.reader] = lambda: admin
    return TestClient(web.app, base_url="http://airflow.test")


def timed(http, path: str, requests: int, warmup: int = 3) -> dict[str, float] | None:
    """Latency of ``path`` over ``requests`` GETs; None when the app has no such page (an older version)."""
    if http.get(path).status_code == 404:
        return None
    for _ in range(warmup):
        assert http.get(path).status_code == 200, path
    times, size = [], 0
    for _ in range(requests):
        began = time.perf_counter()
        response = http.get(path)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (path, response.text[:300])
        size = len(response.content)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {"p50_ms": statistics.median(times), "p95_ms": p95, "max_ms": times[-1], "kb": size / 1024,
            "invoices_shown": response.text.count("<div class='invoice'")}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 companies and 20 requests a page")
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    companies = 20 if args.quick else COMPANIES
    requests = 20 if args.quick else args.requests
    common.private_local("review")
    os.environ.setdefault("AIRFLOW__API__SECRET_KEY", "bench-review-pages-secret")
    common.fresh_database()
    began = time.monotonic()
    seeded = seed(companies, INVOICES, BIG_REVIEW)
    seed_s = time.monotonic() - began
    http = client()
    pages = {
        "cycles": "/",
        "overview": f"/ciclo/{common.CYCLE}",
        "company": f"/ciclo/{common.CYCLE}/empresa/{FIRST_NIT}",
        "company_last_page": f"/ciclo/{common.CYCLE}/empresa/{FIRST_NIT}?pagina=6",
        "company_filtered": f"/ciclo/{common.CYCLE}/empresa/{FIRST_NIT}?proveedor=800000003&monto_min=150.000",
        "bulk_confirmation": f"/ciclo/{common.CYCLE}/empresa/{FIRST_NIT}/aprobar-completas",
    }
    result = {name: timed(http, path, requests) for name, path in pages.items()}
    scale = (
        f"{companies} companies x {INVOICES} invoices, {seeded['review']} in review, one company {seeded['big_review']}"
    )
    print(json.dumps({"scale": scale, "requests": requests, "seed_s": seed_s, **seeded, **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
