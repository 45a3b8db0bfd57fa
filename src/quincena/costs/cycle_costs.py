"""What a cycle cost, per company and per key, exactly (from api_calls) — and the two rough views
the firm used before (proportional share of invoices, average per invoice) for comparison."""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from quincena.books import approvals
from quincena.core import config, db
from quincena.core import html as report_html
from quincena.core.cells import safe_row
from quincena.core.numbers import decimal_text, plain
from quincena.ingest.rejections import rejection_es
from quincena.quality import agreement

log = logging.getLogger(__name__)

_EIGHT = Decimal("0.00000001")
_INVOICE_COUNTERS = (
    "invoices", "classified", "review", "pending", "quarantined_files", "memory_lines", "model_lines",
)  # fmt: skip
_CALL_COUNTERS = (
    "calls", "ok_calls", "rate_limited", "failed_calls", "in_flight_calls",
    "prompt_cache_hit_tokens", "prompt_cache_miss_tokens", "completion_tokens",
)  # fmt: skip
_COUNTERS = _INVOICE_COUNTERS + _CALL_COUNTERS
CSV_COLUMNS = ("dimension", "member", "name", *_COUNTERS, "cost_usd", "peak_cost_usd", "off_peak_cost_usd",
               "proportional_cost_usd",
               "avg_cost_per_invoice_usd", "cache_hit_ratio")  # fmt: skip
EXPORT_COLUMNS = ("company_nit", "format", "version", "part", "status", "vouchers", "lines", "path")


@dataclass
class CycleCosts:
    cycle_id: str
    companies: list[dict[str, Any]]
    keys: list[dict[str, Any]]
    total: dict[str, Any]
    csv_path: Path | None = None
    html_path: Path | None = None
    dry_run: bool = False  # ingest and plan only: no DeepSeek call was made on purpose
    exports: list[dict[str, Any]] = field(default_factory=list)  # files the export step wrote (exports table)
    agreement: dict[str, Any] | None = None  # quality.agreement figures (accountants vs the model)
    worklist: list[dict[str, Any]] = field(default_factory=list)  # invoices still in review, with reasons
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # quarantined inbox files, with reasons
    approvals: list[dict[str, Any]] = field(default_factory=list)  # each company's approval state (books.approvals)

    def failed_approvals(self) -> list[str]:
        return [a["company_nit"] for a in self.approvals if a.get("failed_step")]

    def incomplete(self) -> list[str]:
        """Companies with invoices still pending (a failed or halted group leaves them so)."""
        return [c["member"] for c in self.companies if c["pending"]]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able summary for XCom (no Decimals, no paths objects)."""
        return {
            "cycle_id": self.cycle_id,
            "total_cost_usd": decimal_text(self.total["cost_usd"]),
            "peak_cost_usd": decimal_text(self.total["peak_cost_usd"]),
            "off_peak_cost_usd": decimal_text(self.total["off_peak_cost_usd"]),
            "calls": self.total["calls"],
            "invoices": self.total["invoices"],
            "classified": self.total["classified"],
            "review": self.total["review"],
            "pending": self.total["pending"],
            "rate_limited": self.total["rate_limited"],
            "in_flight_calls": self.total["in_flight_calls"],
            "cache_hit_ratio": self.total["cache_hit_ratio"],
            "memory_share_of_lines": self.total["memory_share_of_lines"],
            "incomplete_companies": self.incomplete(),
            "failed_approvals": self.failed_approvals(),
            "dry_run": self.dry_run,
            "csv": str(self.csv_path) if self.csv_path else None,
            "html": str(self.html_path) if self.html_path else None,
        }


def cache_hit_ratio(row: dict[str, Any]) -> float:
    prompt = row["prompt_cache_hit_tokens"] + row["prompt_cache_miss_tokens"]
    return round(row["prompt_cache_hit_tokens"] / prompt, 4) if prompt else 0.0


def compute(cycle_id: str, companies: list[str]) -> CycleCosts:
    rows = db.query("cycle_costs_by_company", {"cycle_id": cycle_id, "companies": companies})
    keys = db.query("cycle_costs_by_key", {"cycle_id": cycle_id})
    # Invoice figures come from the companies; call figures from the keys, which partition the whole
    # ledger of the cycle: a call filed under no company still counts in the total.
    total: dict[str, Any] = {name: sum(r[name] for r in rows) for name in _INVOICE_COUNTERS}
    total.update({name: sum(r[name] for r in keys) for name in (*_CALL_COUNTERS, "cost_usd", "peak_cost_usd")})
    total.update(member="all", name="all companies", cost_usd=Decimal(total["cost_usd"]))
    total["peak_cost_usd"] = Decimal(total["peak_cost_usd"])
    for row in (*rows, *keys, total):  # spend split by the price table's peak windows (at each call's start)
        row["off_peak_cost_usd"] = Decimal(row["cost_usd"]) - Decimal(row["peak_cost_usd"])
    per_invoice = (total["cost_usd"] / total["invoices"]).quantize(_EIGHT) if total["invoices"] else None
    for row in rows:
        share = Decimal(row["invoices"]) / total["invoices"] if total["invoices"] else Decimal(0)
        row["proportional_cost_usd"] = (total["cost_usd"] * share).quantize(_EIGHT)
        row["avg_cost_per_invoice_usd"] = (
            (row["cost_usd"] / row["invoices"]).quantize(_EIGHT) if row["invoices"] else None
        )
        row["cache_hit_ratio"] = cache_hit_ratio(row)
    for row in keys:
        row.update(name=row["member"], proportional_cost_usd=None, avg_cost_per_invoice_usd=None)
        row["cache_hit_ratio"] = cache_hit_ratio(row)
    total["proportional_cost_usd"] = total["cost_usd"]
    total["avg_cost_per_invoice_usd"] = per_invoice
    total["cache_hit_ratio"] = cache_hit_ratio(total)
    lines = total["memory_lines"] + total["model_lines"]
    total["memory_share_of_lines"] = round(total["memory_lines"] / lines, 4) if lines else 0.0
    exports = db.query("export_list_cycle", {"cycle_id": cycle_id})
    worklist = db.query("review_worklist_cycle", {"cycle_id": cycle_id, "companies": companies})
    quarantined = db.query("review_quarantined_companies", {"companies": companies, "cycle_id": cycle_id})
    return CycleCosts(
        cycle_id, rows, keys, total, exports=exports, agreement=agreement.cycle_figures(cycle_id),
        worklist=worklist, quarantined=quarantined, approvals=approvals.cycle_states(cycle_id, companies),
    )  # fmt: skip


def store(costs: CycleCosts) -> None:
    """Upsert the figures into cycle_costs: re-aggregating replaces, never adds."""
    with db.transaction() as cur:
        rows = (
            [_row(costs.cycle_id, "company", r) for r in costs.companies]
            + [_row(costs.cycle_id, "key", r) for r in costs.keys]
            + [_row(costs.cycle_id, "total", costs.total)]
        )
        db.execute_many("cycle_costs_upsert", rows, cur)


def _row(cycle_id: str, dimension: str, source: dict[str, Any]) -> dict[str, Any]:
    row = {name: source.get(name, 0) for name in _COUNTERS}
    row.update(
        cycle_id=cycle_id,
        dimension=dimension,
        member=source["member"],
        cost_usd=source["cost_usd"],
        proportional_cost_usd=source.get("proportional_cost_usd"),
        avg_cost_per_invoice_usd=source.get("avg_cost_per_invoice_usd"),
        peak_cost_usd=source.get("peak_cost_usd", 0),
    )
    return row


def write_artifacts(costs: CycleCosts, out_dir: Path | None = None) -> CycleCosts:
    """The CSV and the HTML report an accountant opens, under reports/<cycle_id>/."""
    out_dir = out_dir or config.reports_dir() / costs.cycle_id
    out_dir.mkdir(parents=True, exist_ok=True)
    costs.csv_path = out_dir / "cycle_costs.csv"
    with costs.csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for dimension, rows in (("company", costs.companies), ("key", costs.keys), ("total", [costs.total])):
            for row in rows:
                writer.writerow(safe_row(plain({**row, "dimension": dimension})))
    with (out_dir / "cycle_exports.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(safe_row(plain(row)) for row in costs.exports)
    costs.html_path = out_dir / "cycle_report.html"
    _replace(costs.html_path, render_html(costs))
    return costs


def _replace(path: Path, text: str) -> None:
    """Write the file whole or not at all: several books runs of a cycle may refresh its report at once."""
    import os
    import tempfile

    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp") as handle:
        handle.write(text)
    os.replace(handle.name, path)


def render_html(costs: CycleCosts) -> str:
    t = costs.total
    incomplete = costs.incomplete()
    status = (
        f"<p class='alert'>Empresas incompletas (facturas aún pendientes): {report_html.esc(incomplete)}</p>"
        if incomplete
        else "<p class='ok'>Cada factura quedó clasificada, en revisión, o su archivo en cuarentena.</p>"
    )
    if costs.dry_run:
        status = (
            "<p class='banner'>SIMULACRO (dry run): se ingirió y planeó sin llamar a DeepSeek; "
            "las facturas pendientes lo están a propósito.</p>" + status
        )
    failed = costs.failed_approvals()
    if failed:
        status += f"<p class='alert'>Falló el paso de aprobación de: {report_html.esc(', '.join(failed))}</p>"
    if t["in_flight_calls"]:
        status += (
            f"<p class='alert'>{t['in_flight_calls']} llamada(s) de costo desconocido: un worker se detuvo antes de "
            "registrar la respuesta (filas de api_calls aún in_flight). El costo de abajo no las incluye; DeepSeek "
            "pudo cobrarlas (ver quincena reconcile).</p>"
        )
    # Two narrower tables rather than one wide one: each must fit a 1366 px laptop screen.
    invoice_cols = ["invoices", "classified", "review", "pending", "quarantined_files", "memory_share_of_lines"]
    call_cols = ["calls", "rate_limited", "in_flight_calls", "cost_usd", "peak_cost_usd", "off_peak_cost_usd",
                 "avg_cost_per_invoice_usd", "cache_hit_ratio"]  # fmt: skip
    summary = report_html.table([t], invoice_cols) + report_html.table([t], call_cols)
    names = [f"{c['member']} {c['name']}" for c in costs.companies]
    company_chart = report_html.bar_chart(
        "Costo por empresa (US$): exacto vs proporcional",
        names,
        {"exacto": [c["cost_usd"] for c in costs.companies],
         "proporcional": [c["proportional_cost_usd"] for c in costs.companies]},
    )  # fmt: skip
    key_chart = report_html.bar_chart(
        "Llamadas y 429 por clave", [k["member"] for k in costs.keys],
        {"llamadas": [k["calls"] for k in costs.keys], "429": [k["rate_limited"] for k in costs.keys]},
    )  # fmt: skip
    cache_chart = report_html.bar_chart(
        "Aciertos de caché del prompt por empresa", names,
        {"aciertos de caché": [c["cache_hit_ratio"] for c in costs.companies]},
    )  # fmt: skip
    company_cols = ["member", "name", "invoices", "calls", "cost_usd", "peak_cost_usd", "proportional_cost_usd",
                    "avg_cost_per_invoice_usd", "cache_hit_ratio"]  # fmt: skip
    company_work_cols = ["member", "name", "classified", "review", "pending", "quarantined_files", "memory_lines",
                         "model_lines", "rate_limited", "first_call_s", "last_call_s"]  # fmt: skip
    key_cols = ["member", "calls", "ok_calls", "rate_limited", "failed_calls", "in_flight_calls",
                "prompt_cache_hit_tokens", "prompt_cache_miss_tokens", "completion_tokens", "cost_usd", "peak_cost_usd",
                "cache_hit_ratio"]  # fmt: skip
    return report_html.page(
        f"Quincena {costs.cycle_id}: clasificación y costo de DeepSeek",
        "El costo exacto sale del uso (usage) de cada llamada en api_calls; "
        "el proporcional = participación de la empresa en las facturas × total.",
        [
            ("Resumen", status + summary),
            ("Costo por empresa", company_chart + report_html.table(costs.companies, company_cols)),
            ("Facturas y llamadas por empresa", report_html.table(costs.companies, company_work_cols)),
            ("Costo por clave de API", key_chart + report_html.table(costs.keys, key_cols)),
            ("Caché del prompt", cache_chart),
            ("Aprobación de cada empresa", _approvals_table(costs.approvals)),
            (f"Facturas por revisar ({len(costs.worklist)})", _worklist_table(costs.worklist)),
            (f"Archivos en cuarentena ({len(costs.quarantined)})", _quarantine_table(costs.quarantined)),
            ("Exportaciones (archivos para los programas contables)", _exports_html(costs.exports)),
            *(
                [("Acuerdo de los contadores con el modelo", agreement.agreement_html(costs.agreement))]
                if costs.agreement
                else []
            ),
        ],
    )


def _exports_html(exports: list[dict[str, Any]]) -> str:
    if not exports:
        return "<p>Ninguna empresa de esta quincena ha sido aprobada y exportada todavía.</p>"
    return report_html.table(exports, list(EXPORT_COLUMNS))


def _approvals_table(rows: list[dict[str, Any]]) -> str:
    shown = [{"Empresa": f"{r['company_nit']} {r['company_name']}", "Estado": approvals.state_text(r),
              "Motivo de la solicitud": r.get("reason") or ""} for r in rows]  # fmt: skip
    return report_html.table(shown) if shown else "<p>Ninguna empresa en esta quincena.</p>"


def _worklist_table(rows: list[dict[str, Any]]) -> str:
    """The review worklist, labelled in Spanish for the accountants."""
    shown = [
        {
            "Empresa": f"{r['company_nit']} {r['company_name']}", "Factura": r["number"], "Fecha": r["issue_date"],
            "Proveedor": f"{r['supplier_nit']} {r['supplier_name']}", "Total": r["tax_inclusive_amount"],
            "Motivo": r["status_reason"],
        }
        for r in rows
    ]  # fmt: skip
    return report_html.table(shown) if shown else "<p class='ok'>Nada por revisar.</p>"


def _quarantine_table(rows: list[dict[str, Any]]) -> str:
    shown = [{"Empresa": r["company_nit"], "Archivo": r["path"], "Motivo": rejection_es(r["reason_code"]),
              "Detalle": r["reason"]}
             for r in rows]  # fmt: skip
    return report_html.table(shown) if shown else "<p class='ok'>Ningún archivo en cuarentena.</p>"


def aggregate_cycle(
    cycle_id: str, companies: list[str], out_dir: Path | None = None, dry_run: bool = False
) -> CycleCosts:
    with db.transaction() as cur:  # held while the figures are read and the files written (report_lock.sql)
        cur.execute(db.load_sql("report_lock"), {"cycle_id": cycle_id})
        costs = compute(cycle_id, companies)
        costs.dry_run = dry_run
        store(costs)
        write_artifacts(costs, out_dir)
    log.info("cycle %s cost report: %s (CSV %s)", cycle_id, costs.html_path, costs.csv_path)
    return costs
