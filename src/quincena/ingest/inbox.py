"""Ingest a company's inbox into PostgreSQL: one transaction per file, every file accounted for.

``<inbox>/<company NIT digits>/**/*.xml|*.zip``. A file is identified by its sha256 and path: the
same file again is skipped without parsing; the same bytes at another path get a row of their own
with the first copy's verdict, also without parsing; a CUFE already stored makes the file a
``duplicate``. Anything we refuse is kept as a ``quarantined`` row with a reason code.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from quincena.core import config, db, periods
from quincena.core.nit import InvalidNit, parse_nit
from quincena.ingest import checks, records, walk
from quincena.ingest.dian import (
    DianDocument,
    RejectedDocument,
    XmlPayload,
    parse_payloads,
    read_payloads,
)

log = logging.getLogger(__name__)

_CHUNK = 1024 * 1024


class UnknownCompany(ValueError):
    """The NIT is not in the companies registry (import it first)."""


@dataclass
class IngestReport:
    company_nit: str
    inbox: str
    cycle_id: str | None = None
    files_seen: int = 0
    skipped: int = 0  # this very file (same bytes, same path) was recorded by an earlier run
    ingested: int = 0
    duplicates: int = 0  # every document already stored (same CUFE), or a byte-identical copy
    quarantined: int = 0
    unreadable: int = 0  # could not even be read (permissions, vanished): no row, retried next run
    invoices_added: int = 0
    in_review: int = 0  # of invoices_added, those a sanity check sent to review (not to DeepSeek)
    lines_added: int = 0
    invoices_in_cycle: int = 0  # of invoices_added, those booked in cycle_id
    invoices_from_earlier_periods: int = 0  # of those, issued in an earlier quincena (arrived late)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    quarantined_files: list[dict[str, str]] = field(default_factory=list)
    cycles: dict[str, int] = field(default_factory=dict)  # invoices added per quincena of their books

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (Airflow XCom)."""
        return {
            "company_nit": self.company_nit,
            "inbox": self.inbox,
            "cycle_id": self.cycle_id,
            "files_seen": self.files_seen,
            "skipped": self.skipped,
            "ingested": self.ingested,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "unreadable": self.unreadable,
            "invoices_added": self.invoices_added,
            "in_review": self.in_review,
            "lines_added": self.lines_added,
            "invoices_in_cycle": self.invoices_in_cycle,
            "invoices_from_earlier_periods": self.invoices_from_earlier_periods,
            "quarantine_reasons": dict(sorted(self.quarantine_reasons.items())),
            "quarantined_files": [dict(f) for f in self.quarantined_files],
            "cycles": dict(sorted(self.cycles.items())),
        }


@dataclass(frozen=True)
class _Seen:
    """What the inbox already holds: every (sha256, path), and the first verdict per content."""

    files: set[tuple[str, str]]
    first: dict[str, dict[str, Any]]

    def remember(self, sha256: str, path: str, outcome: str, code: str | None, reason: str | None) -> None:
        self.files.add((sha256, path))
        self.first.setdefault(sha256, {"path": path, "outcome": outcome, "reason_code": code, "reason": reason})


@dataclass(frozen=True)
class _File:
    path: Path
    relative: str  # as stored: relative to the inbox root
    size: int
    sha256: str
    cycle_id: str | None = None  # the cycle whose run met the file (scopes the cycle report's quarantine)


def company_inbox(company_nit: str, inbox_root: Path | None = None) -> Path:
    return Path(inbox_root or config.inbox_dir()) / company_nit


def ingest_company(company_nit: str, inbox_root: Path | None = None, cycle_id: str | None = None) -> IngestReport:
    """Ingest every new file in the company's inbox.

    ``cycle_id`` is the quincena of the run: a document issued in an earlier quincena is booked in it
    (periods.books_cycle) and counted as arrived late, so it is classified, approved and exported with
    this quincena instead of silently joining one already handed to the accountant.
    """
    nit = _company_digits(company_nit)
    root = Path(inbox_root or config.inbox_dir())
    if cycle_id is not None:
        periods.cycle_bounds(cycle_id)  # validate early
    report = IngestReport(company_nit=nit, inbox=str(root / nit), cycle_id=cycle_id)
    conn = db.connect()
    try:
        _require_company(nit, conn)
        seen = _Seen(set(), {})
        for row in db.query("ingest_known_hashes", {"company_nit": nit}, conn):
            seen.remember(row["sha256"], row["path"], row["outcome"], row["reason_code"], row["reason"])
        for path in walk.inbox_files(root / nit):
            report.files_seen += 1
            _ingest_path(path, root, nit, seen, conn, report)
    finally:
        conn.close()
    log.info(
        "company %s: %d files, %d skipped, %d ingested, %d duplicate, %d quarantined; %d invoices, %d lines",
        nit,
        report.files_seen,
        report.skipped,
        report.ingested,
        report.duplicates,
        report.quarantined,
        report.invoices_added,
        report.lines_added,
    )
    return report


def _company_digits(company_nit: str) -> str:
    try:
        return parse_nit(company_nit)[0]
    except InvalidNit as exc:
        raise UnknownCompany(f"company NIT {company_nit!r}: {exc}") from None


def _require_company(nit: str, conn) -> None:
    if not db.query("ingest_company_get", {"nit": nit}, conn):
        raise UnknownCompany(f"company {nit} is not registered; import it with `quincena companies import`")


def _ingest_path(entry: walk.Entry, root: Path, nit: str, seen: _Seen, conn, report: IngestReport) -> None:
    path = entry.path
    try:
        file = _identify(entry, root, report.cycle_id)
    except OSError as exc:
        report.unreadable += 1
        log.warning("cannot read %s: %s", walk.safe_name(str(path)), exc)
        return
    if (file.sha256, file.relative) in seen.files:
        report.skipped += 1
        return
    if entry.problem is not None:
        if _quarantine(file, nit, *entry.problem, conn, report):
            seen.remember(file.sha256, file.relative, "quarantined", *entry.problem)
        return
    if file.sha256 in seen.first:
        _record_copy(file, nit, seen, conn, report)
        return
    try:
        payloads = read_payloads(file.path, file.relative, config.max_file_bytes())
        parsed = parse_payloads(payloads)
        _check_customer(parsed, nit)
    except RejectedDocument as exc:
        _refuse(file, nit, exc.code, exc.reason, seen, conn, report)
        return
    except OSError as exc:
        report.unreadable += 1
        log.warning("cannot read %s: %s", file.relative, exc)
        return
    except Exception as exc:  # whatever the parser did not foresee must not stop the company's other files
        log.exception("parser failed on %s", file.relative)
        _refuse(file, nit, "parser_error", _unexpected(exc), seen, conn, report)
        return
    recorded = _store(file, nit, parsed, conn, report)
    if recorded:
        seen.remember(file.sha256, file.relative, *recorded)


def _refuse(file: _File, nit: str, code: str, reason: str, seen: _Seen, conn, report: IngestReport) -> None:
    if _quarantine(file, nit, code, reason, conn, report):
        seen.remember(file.sha256, file.relative, "quarantined", code, reason)


def _unexpected(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"the parser failed unexpectedly ({type(exc).__name__}{': ' + text if text else ''})"


def _record_copy(file: _File, nit: str, seen: _Seen, conn, report: IngestReport) -> None:
    """Same bytes as a file already recorded: same verdict, no parsing, a row of its own."""
    first = seen.first[file.sha256]
    seen.files.add((file.sha256, file.relative))
    if first["outcome"] == "quarantined":
        reason = f"byte-identical to {first['path']}: {first['reason']}"
        _quarantine(file, nit, first["reason_code"], reason, conn, report)
        return
    reason = f"byte-identical to {first['path']}"
    with db.transaction(conn) as cur:
        cur.execute(db.load_sql("ingest_file_insert"), _file_row(file, nit, "duplicate", 0, "same_file", reason))
        inserted = cur.fetchone() is not None
    if inserted:
        report.duplicates += 1
    else:
        report.skipped += 1


def _identify(entry: walk.Entry, root: Path, cycle_id: str | None) -> _File:
    path = entry.path
    relative = walk.safe_name(path.relative_to(root).as_posix())
    if entry.problem is not None:  # never opened: identified by what it is and where
        digest = hashlib.sha256(b"quincena-unopened\0" + entry.problem[0].encode() + b"\0" + os.fsencode(relative))
        return _File(path=path, relative=relative, size=0, sha256=digest.hexdigest(), cycle_id=cycle_id)
    size = path.stat().st_size
    digest = _oversize_fingerprint(path, size) if size > config.max_file_bytes() else _sha256(path)
    return _File(path=path, relative=relative, size=size, sha256=digest, cycle_id=cycle_id)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _oversize_fingerprint(path: Path, size: int) -> str:
    """Identity of a file too large to parse, from its size, head and tail: never read whole."""
    digest = hashlib.sha256(b"quincena-oversize\0" + str(size).encode() + b"\0")
    with path.open("rb") as handle:
        digest.update(handle.read(_CHUNK))
        handle.seek(max(size - _CHUNK, 0))
        digest.update(handle.read(_CHUNK))
    return digest.hexdigest()


def _check_customer(parsed: list[tuple[XmlPayload, DianDocument]], nit: str) -> None:
    for _, doc in parsed:
        if doc.customer.nit != nit:
            raise RejectedDocument(
                "wrong_customer",
                f"{doc.number} is addressed to NIT {doc.customer.nit} ({doc.customer.name}), not to this company {nit}",
            )


def _file_row(file: _File, nit: str, outcome: str, documents: int, code: str | None, reason: str | None) -> dict:
    return {
        "company_nit": nit,
        "sha256": file.sha256,
        "path": file.relative,
        "size_bytes": file.size,
        "outcome": outcome,
        "reason_code": code,
        "reason": reason,
        "documents": documents,
        "cycle_id": file.cycle_id,
    }


def _quarantine(file: _File, nit: str, code: str, reason: str, conn, report: IngestReport) -> bool:
    with db.transaction(conn) as cur:
        cur.execute(db.load_sql("ingest_file_insert"), _file_row(file, nit, "quarantined", 0, code, reason))
        inserted = cur.fetchone() is not None
    if not inserted:  # another worker recorded this file meanwhile
        report.skipped += 1
        return False
    _count_quarantine(report, file, code, reason)
    return True


def _count_quarantine(report: IngestReport, file: _File, code: str, reason: str) -> None:
    report.quarantined += 1
    report.quarantine_reasons[code] = report.quarantine_reasons.get(code, 0) + 1
    report.quarantined_files.append({"path": file.relative, "reason_code": code, "reason": reason})
    log.warning("quarantined %s: %s (%s)", file.relative, reason, code)


_Recorded = tuple[str, str | None, str | None]  # outcome, reason code, reason


def _store(file: _File, nit: str, parsed: list[tuple[XmlPayload, DianDocument]], conn, report) -> _Recorded | None:
    """Write the file row and its new documents in one transaction; a database refusal quarantines it.

    Returns what was recorded, or None when another worker recorded the file first.
    """
    try:
        with db.transaction(conn) as cur:
            stored = _store_in(cur, file, nit, parsed)
    except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
        reason = f"the database refused a value: {str(exc).splitlines()[0]}"
        if _quarantine(file, nit, "missing_field", reason, conn, report):
            return "quarantined", "missing_field", reason
        return None
    if stored is None:
        report.skipped += 1
        return None
    if stored.added:
        report.ingested += 1
    elif stored.conflicts:
        _count_quarantine(report, file, "conflicting_duplicate", "; ".join(stored.conflicts))
        return "quarantined", "conflicting_duplicate", "; ".join(stored.conflicts)
    else:
        report.duplicates += 1
    report.invoices_added += stored.added
    report.in_review += stored.in_review
    report.lines_added += stored.lines
    for cycle_id, n in stored.cycles.items():
        report.cycles[cycle_id] = report.cycles.get(cycle_id, 0) + n
    report.invoices_in_cycle += stored.cycles.get(report.cycle_id or "", 0)
    report.invoices_from_earlier_periods += stored.earlier
    return ("ingested", None, None) if stored.added else ("duplicate", "duplicate", None)


@dataclass
class _Stored:
    added: int = 0
    lines: int = 0
    in_review: int = 0
    cycles: Counter = field(default_factory=Counter)
    earlier: int = 0  # issued in a quincena before the run's
    conflicts: list[str] = field(default_factory=list)  # "number (stored from path)" per conflicting CUFE


def _store_in(cur, file: _File, nit: str, parsed) -> _Stored | None:
    cur.execute(db.load_sql("ingest_file_insert"), _file_row(file, nit, "ingested", len(parsed), None, None))
    row = cur.fetchone()
    if row is None:
        return None
    file_id = row["id"]
    stored = _Stored()
    today = datetime.now(config.TZ).date()
    for payload, doc in parsed:
        reasons = checks.review_reasons(doc, today, config.max_lines_per_invoice())
        content = records.content_hash(doc)
        invoice_id = records.insert_invoice(cur, doc, nit, file_id, payload.name, content, reasons, file.cycle_id)
        if invoice_id is None:
            conflict = _conflict(cur, doc, nit, content, file.relative)
            if conflict:
                stored.conflicts.append(conflict)
            continue
        stored.added += 1
        stored.in_review += bool(reasons)
        stored.lines += len(doc.lines)
        stored.cycles[periods.books_cycle(doc.issue_date, file.cycle_id)] += 1
        stored.earlier += bool(file.cycle_id) and periods.cycle_id_for(doc.issue_date) < file.cycle_id
        records.insert_details(cur, doc, invoice_id)
    if not stored.added:
        _set_duplicate_outcome(cur, file_id, parsed, stored.conflicts)
    return stored


def _set_duplicate_outcome(cur, file_id: int, parsed, conflicts: list[str]) -> None:
    if conflicts:
        outcome, code = "quarantined", "conflicting_duplicate"
        reason = "same CUFE as a stored document but different content: " + "; ".join(conflicts)
    else:
        outcome, code = "duplicate", "duplicate"
        numbers = ", ".join(doc.number for _, doc in parsed)
        reason = f"already ingested from another file (same CUFE): {numbers}"
    cur.execute(
        db.load_sql("ingest_file_set_outcome"),
        {"id": file_id, "outcome": outcome, "reason_code": code, "reason": reason[:2000]},
    )


def _conflict(cur, doc: DianDocument, nit: str, content: str, relative: str) -> str | None:
    """When the stored copy of this CUFE says something else, flag it for review and say which files."""
    cur.execute(db.load_sql("ingest_invoice_existing"), {"company_nit": nit, "cufe": doc.cufe})
    existing = cur.fetchone()
    if existing is None or existing["content_sha256"] in (None, content):
        return None
    reason = (
        f"el archivo {relative} trae el mismo CUFE con contenido distinto al de {existing['source_file']}: "
        "decidir cuál es el correcto"
    )
    cur.execute(db.load_sql("ingest_invoice_flag_conflict"), {"invoice_id": existing["id"], "reason": reason})
    log.warning("CUFE of %s in %s conflicts with %s", doc.number, relative, existing["source_file"])
    return f"{doc.number} (stored from {existing['source_file']})"


def ingest_companies(nits: list[str] | None = None, inbox_root: Path | None = None) -> list[IngestReport]:
    """Ingest several companies (default: every active one), one report each."""
    from quincena.core import companies

    targets = nits if nits else companies.active_nits()
    return [ingest_company(nit, inbox_root) for nit in targets]
