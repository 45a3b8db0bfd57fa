"""Export approved causaciones to the accounting programs' import formats (issue 14).

Only a company whose quincena the accountant approved (company_approvals) is exported, and of it only
the invoices that are classified and have an entry; those in review are counted as left out. One
voucher per invoice, numbered once per company and voucher type (voucher_numbers), so a re-export
gives the same numbers. Each export of a company-cycle-format is recorded in ``exports``; when its
data (or its template) changed since the current version, a new version is written and the older
files are marked superseded — an existing file is never overwritten with different data.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quincena.books.export import changes, templates, vouchers, writers
from quincena.books.export.templates import Template, TemplateError
from quincena.books.export.vouchers import ExportError
from quincena.chart import store as chart_store
from quincena.chart.reading import ChartError
from quincena.core import db

log = logging.getLogger(__name__)

__all__ = ["ExportError", "ExportResult", "NotApproved", "TemplateError", "approval", "export_company_cycle"]


class NotApproved(ExportError):
    """The company's quincena is not approved: nothing is exported."""


@dataclass(frozen=True)
class Approval:
    decision: str | None  # approved | rejected | None (no decision yet)
    decided_by: str | None
    in_review: int
    pending: int
    without_entry: int

    @property
    def approved(self) -> bool:
        return self.decision == "approved"

    def left_out(self) -> str:
        parts = [f"{self.in_review} invoice(s) in review"]
        if self.pending:
            parts.append(f"{self.pending} pending")
        if self.without_entry:
            parts.append(f"{self.without_entry} classified without an entry")
        return ", ".join(parts)


@dataclass
class ExportResult:
    company_nit: str
    cycle_id: str
    format: str
    status: str  # new | unchanged | empty
    version: int | None
    vouchers: int
    lines: int
    files: list[Path] = field(default_factory=list)
    superseded_version: int | None = None
    left_out_in_review: int = 0
    left_out_pending: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)  # vs the superseded version (changes.py)
    changes_file: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "company_nit": self.company_nit,
            "cycle_id": self.cycle_id,
            "format": self.format,
            "status": self.status,
            "version": self.version,
            "vouchers": self.vouchers,
            "lines": self.lines,
            "files": [str(p) for p in self.files],
            "superseded_version": self.superseded_version,
            "left_out_in_review": self.left_out_in_review,
            "left_out_pending": self.left_out_pending,
            "changes": self.changes,
            "changes_file": str(self.changes_file) if self.changes_file else None,
        }

    def summary(self) -> str:
        if self.status == "empty":
            return f"{self.format}: no approved invoices with entries to export"
        state = {"new": "written", "unchanged": "unchanged, rewritten"}[self.status]
        older = f"; version {self.superseded_version} superseded" if self.superseded_version else ""
        return (
            f"{self.format}: version {self.version} {state}: {self.vouchers} voucher(s), {self.lines} line(s) "
            f"in {len(self.files)} file(s){older}"
        )


def approval(company_nit: str, cycle_id: str, conn=None) -> Approval:
    row = db.query("export_approval", {"company_nit": company_nit, "cycle_id": cycle_id}, conn)[0]
    return Approval(row["decision"], row["decided_by"], row["in_review"], row["pending"], row["without_entry"])


def not_approved_message(company_nit: str, cycle_id: str, state: Approval) -> str:
    decision = "has no approval yet" if state.decision is None else f"was {state.decision} by {state.decided_by}"
    return f"company {company_nit} {decision} for {cycle_id}: nothing exported ({state.left_out()})"


def content_hash(template: Template, parts: list[list[list[vouchers.Cell]]]) -> str:
    """What "the export changed" means: the template's text and every cell of every file."""
    payload = json.dumps({"template": template.raw, "parts": parts}, default=str, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def export_company_cycle(
    company_nit: str,
    cycle_id: str,
    format_name: str,
    out_dir: Path,
    created_by: str,
    run_id: str | None = None,
) -> ExportResult:
    """Write the company-cycle's approved vouchers in one format under ``out_dir`` and record the files.

    Raises NotApproved (nothing written) when the company's quincena is not approved, TemplateError
    for a template that cannot be used and ExportError for data that cannot be written as asked.
    """
    template = templates.load(format_name)
    conn = db.connect()
    try:
        with db.transaction(conn) as cur:
            cur.execute(db.load_sql("export_lock"), {"company_nit": company_nit})
            state = approval(company_nit, cycle_id, conn)
            if not state.approved:
                raise NotApproved(not_approved_message(company_nit, cycle_id, state))
            result = _export(cur, conn, template, company_nit, cycle_id, Path(out_dir), created_by, run_id)
    finally:
        conn.close()
    result.left_out_in_review, result.left_out_pending = state.in_review, state.pending
    log.info("export %s %s %s: %s -> %s", company_nit, cycle_id, format_name, result.summary(), out_dir)
    return result


def _export(cur, conn, template: Template, nit: str, cycle_id: str, out_dir: Path, created_by: str, run_id):
    key = {"company_nit": nit, "cycle_id": cycle_id, "format": template.format}
    numbering = {**key, "voucher_type": template.voucher_type, "first_number": template.first_number}
    cur.execute(db.load_sql("export_assign_numbers"), numbering)
    cur.execute(db.load_sql("export_lines"), numbering)
    try:  # the codes the company's own program accepts (its chart, its map), or no file at all
        journal = chart_store.in_company_codes(chart_store.load(nit, conn), list(cur.fetchall()))
    except ChartError as exc:
        raise ExportError(f"{nit} {cycle_id}: nothing exported: {exc}") from None
    found = vouchers.group(journal)
    if not found:
        return ExportResult(nit, cycle_id, template.format, "empty", None, 0, 0)
    parts = vouchers.split(found, template.row_limit)
    cells = [vouchers.rows(part, template) for part in parts]
    digest = content_hash(template, cells)
    cur.execute(db.load_sql("export_current"), key)
    current = list(cur.fetchall())
    unchanged = bool(current) and current[0]["content_hash"] == digest
    version = current[0]["version"] if unchanged else _next_version(cur, key)
    digests = {str(v.number): vouchers.digest(v) for v in found}
    lines = sum(len(v.lines) for v in found)
    result = ExportResult(
        nit, cycle_id, template.format, "unchanged" if unchanged else "new", version, len(found), lines
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for number, (part, data) in enumerate(zip(parts, cells, strict=True), start=1):
        path = out_dir / template.name_of(nit, cycle_id, version, number)
        if not unchanged and path.exists():  # never replace a file with different data silently
            raise ExportError(f"{path} already exists (an earlier export not on record?): move it away and retry")
        content = writers.render(template, data)
        path.write_bytes(content)
        result.files.append(path)
        records.append(
            {
                **key, "version": version, "part": number, "parts": len(parts), "file_name": path.name,
                "path": str(path), "vouchers": len(part), "lines": sum(len(v.lines) for v in part),
                "first_voucher": part[0].number, "last_voucher": part[-1].number,
                "sha256": hashlib.sha256(content).hexdigest(), "content_hash": digest,
                "created_by": created_by, "run_id": run_id,
                "voucher_digests": json.dumps({str(v.number): digests[str(v.number)] for v in part}),
            }
        )  # fmt: skip
    if unchanged:
        cur.execute(db.load_sql("export_restore_current"), {**key, "version": version})
        return result
    db.execute_many("export_insert", records, cur)
    cur.execute(db.load_sql("export_supersede"), {**key, "version": version})
    if current:
        result.superseded_version = current[0]["version"]
        result.changes = changes.between(_earlier_digests(current), digests, found)
        result.changes_file = changes.write(out_dir, template, nit, cycle_id, current[0]["version"], version,
                                            result.changes)  # fmt: skip
    return result


def _earlier_digests(rows: list[dict[str, Any]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for row in rows:
        merged.update(row.get("voucher_digests") or {})
    return merged


def _next_version(cur, key: dict[str, Any]) -> int:
    cur.execute(db.load_sql("export_max_version"), key)
    return int(cur.fetchone()["version"]) + 1
