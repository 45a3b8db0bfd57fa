"""The entry point: generate an inbox of N companies x M documents and its manifest."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from quincena.core import periods
from quincena.core.companies import Company
from quincena.devtools.sample.concepts import concept_file, expected_account, load_concepts
from quincena.devtools.sample.documents import company_suppliers, make_companies, make_documents, supplier_pool
from quincena.devtools.sample.files import Writer, bad_kinds, write_bad, write_document
from quincena.devtools.sample.model import GRAN_CONTRIBUYENTE, NOT_APPLICABLE, Buyer, Context, Party

MANIFEST = "manifest.json"

BOGOTA_DIVIPOLA = "11001"  # where the sample suppliers and buyers are


def resolve_period(period: tuple[date, date] | str | None, today: date | None = None) -> tuple[date, date]:
    """``(start, end_exclusive)`` from a cycle id, a pair of dates, or the last closed quincena."""
    if period is None:
        return periods.cycle_bounds(periods.previous_closed_cycle(today or date.today()))
    if isinstance(period, str):
        return periods.cycle_bounds(period)
    start, end = period
    if end <= start:
        raise ValueError(f"period end {end} must be after its start {start}")
    return start, end


def generate(
    companies: int,
    invoices: int,
    inbox: Path,
    seed: int = 7,
    period: tuple[date, date] | str | None = None,
    register: bool = True,
    companies_csv: Path | None = None,
) -> list[Company]:
    """Write ``companies`` × ``invoices`` good DIAN documents (plus a few bad files) into ``inbox``.

    Also writes the companies CSV (default ``<inbox>-sample/companies.csv``) and the manifest
    (``<inbox>-sample/manifest.json``), and registers the companies unless ``register`` is False.
    """
    if companies < 1 or invoices < 1:
        raise ValueError("need at least one company and one invoice per company")
    start, end = resolve_period(period)
    rng = random.Random(seed)
    used: set[str] = set()
    company_list = make_companies(rng, companies, used)
    pool = supplier_pool(rng, load_concepts(), used)
    inbox = Path(inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    generated = [
        _generate_company(random.Random(f"{seed}:{c.nit}"), index, c, pool, invoices, inbox, used, (start, end))
        for index, c in enumerate(company_list)
    ]
    entries = [entry for entry, _ in generated]
    company_list = [_with_profile(c, buyer) for c, (_, buyer) in zip(company_list, generated, strict=True)]
    manifest = {
        "seed": seed,
        "period": [start.isoformat(), end.isoformat()],
        "invoices_per_company": invoices,
        "companies": entries,
    }
    side = sample_dir(inbox)
    side.mkdir(parents=True, exist_ok=True)
    (side / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    from quincena.core import companies as registry

    registry.write_csv(company_list, companies_csv or side / "companies.csv")
    if register:
        registry.upsert(company_list)
    return company_list


def _generate_company(rng, index: int, company: Company, pool, invoices: int, inbox: Path, used, period):
    data = concept_file()
    ctx = Context(rng, data["withholding"], Decimal(data["uvt_cop"]), *period)
    reteiva_agent, reteica_agent = rng.random() < 0.35, rng.random() < 0.6
    levels = (GRAN_CONTRIBUYENTE,) if reteiva_agent else (NOT_APPLICABLE,)  # the registry's profile, see _with_profile
    buyer = Buyer(Party(company.nit, company.dv, company.name, tax_levels=levels), reteiva_agent, reteica_agent)
    suppliers, weights = company_suppliers(rng, pool)
    invoice_docs, notes = make_documents(ctx, buyer, suppliers, weights, invoices, used)
    writer = Writer(inbox, company.nit)
    good = []
    for doc in invoice_docs + notes:
        path, data_bytes, attached = write_document(writer, rng, doc)
        good.append((doc, path, data_bytes, attached))
    for kind in bad_kinds(index, invoices):
        write_bad(kind, ctx, writer, buyer, suppliers, good, used)
    return _manifest_entry(company, buyer, good, writer.files), buyer


def _with_profile(company: Company, buyer: Buyer) -> Company:
    """The registry says what the sample's documents assume: a ReteIVA agent is a gran contribuyente,
    a ReteICA agent withholds ICA in Bogotá."""
    return dataclasses.replace(
        company,
        gran_contribuyente=buyer.reteiva_agent,
        reteiva_agent=buyer.reteiva_agent,
        ica_city=BOGOTA_DIVIPOLA if buyer.reteica_agent else None,
    )


def _manifest_entry(company: Company, buyer: Buyer, good, files: list[dict[str, Any]]) -> dict[str, Any]:
    outcomes = [f["expected_outcome"] for f in files]
    reasons: dict[str, int] = {}
    for f in files:
        if f["expected_outcome"] == "quarantined":
            reasons[f["reason_code"]] = reasons.get(f["reason_code"], 0) + 1
    documents = [
        {
            "cufe": doc.cufe,
            "doc_type": doc.kind,
            "number": doc.number,
            "supplier_nit": doc.supplier.party.nit,
            "file": path,
            "lines": [
                {"line_no": n, "concept": ln.concept_id, "expected_account": expected_account(ln.concept_id)}
                for n, ln in enumerate(doc.lines, start=1)
            ],
        }
        for doc, path, _, _ in good
    ]
    return {
        "nit": company.nit,
        "dv": company.dv,
        "name": company.name,
        "reteiva_agent": buyer.reteiva_agent,
        "reteica_agent": buyer.reteica_agent,
        "expected": {
            "files_seen": len(files),
            "ingested": outcomes.count("ingested"),
            "duplicates": outcomes.count("duplicate"),
            "skipped": outcomes.count("skipped"),
            "quarantined": outcomes.count("quarantined"),
            "quarantine_reasons": dict(sorted(reasons.items())),
            "invoices_added": len(documents),
            "lines_added": sum(len(d["lines"]) for d in documents),
        },
        "files": files,
        "documents": documents,
    }


def sample_dir(inbox: Path) -> Path:
    """Where the companies CSV and the manifest of a generated inbox live: beside it, not in it."""
    inbox = Path(inbox).resolve()
    return inbox.parent / f"{inbox.name}-sample"


def read_manifest(inbox: Path) -> dict[str, Any]:
    """What ``generate`` wrote into ``inbox``: expected outcomes per file, expected account per line."""
    return json.loads((sample_dir(inbox) / MANIFEST).read_text(encoding="utf-8"))
