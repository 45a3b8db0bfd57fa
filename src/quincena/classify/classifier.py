"""Classify a company's pending invoice lines into PUC sub-accounts.

Order of business for one company:
1. supplier memory: a line whose supplier and description match an accepted classification of
   the same company is classified without an API call;
2. a first wave sends one representative invoice per unseen (supplier, descriptions) signature,
   so that what it teaches the memory spares the look-alikes of the second wave;
3. batches of several invoices of this company (never two companies) go to DeepSeek through
   the hook, concurrently up to the task's pool slots;
4. every answer is validated; invalid items are retried once with the errors stated, then their
   invoice goes to review with the reason. Each batch is stored in one transaction.

A 402 stops new requests at once; what was stored stays, the rest stays pending for a resume.

The cycle DAG runs the same steps split in two: ``plan_batches`` (memory pass, waves, request-sized
batches of one company, after ingest) and ``CompanyClassifier.run_batches`` (one planned unit: its
batches one request at a time, so one pool slot = one request in flight). ``CompanyClassifier.run``
(every wave of a company in one call) stays for the CLI, the fault matrix and the benchmarks' baseline.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from deepseek_provider.exceptions import DeepSeekError, InsufficientBalanceError, NoUsableKeyError

from quincena.classify import prompt
from quincena.core import db, puc

log = logging.getLogger(__name__)


class ClassificationHalted(Exception):
    """Work stopped early; pending invoices are left for a resume. ``retryable`` says whether
    retrying the task makes sense (a transient failure) or a person must act first (402, keys)."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Settings:
    invoices_per_request: int = 8
    min_confidence: float = 0.6
    memory_min_confidence: float = 0.9  # only confident answers teach the memory
    concurrency: int = 4  # requests in flight for this task: must equal its pool slots
    model: str | None = None
    max_tokens: int = 2048
    dry_run: bool = False

    def __post_init__(self) -> None:
        if self.invoices_per_request < 1 or self.concurrency < 1:
            raise ValueError("invoices_per_request and concurrency must be at least 1")
        if not 0 <= self.min_confidence <= 1:
            raise ValueError("min_confidence must be between 0 and 1")


@dataclass(frozen=True)
class Line:
    line_id: int
    line_no: int
    description: str
    line_total: str
    quantity: str
    tax_percent: str | None


@dataclass(frozen=True)
class Invoice:
    invoice_id: int
    number: str
    doc_type: str
    supplier_nit: str
    supplier_name: str
    issue_date: date
    lines: tuple[Line, ...]

    def signature(self) -> tuple[str, tuple[str, ...]]:
        return self.supplier_nit, tuple(sorted({description_key(ln.description) for ln in self.lines}))


@dataclass(frozen=True)
class Verdict:
    line_id: int
    account: str
    confidence: float
    source: str  # model | memory
    call_id: str | None = None
    model: str | None = None


@dataclass
class Report:
    """What one company's classification did; plain dict across XCom via ``to_dict``."""

    company_nit: str
    pending_at_start: int = 0
    classified: int = 0
    review: int = 0
    still_pending: int = 0
    memory_lines: int = 0
    memory_invoices: int = 0  # invoices fully classified from memory: no request needed
    model_lines: int = 0
    requests: int = 0  # logical calls (retries inside the hook are not counted here)
    validation_retries: int = 0
    batches_planned: int = 0
    halted: str | None = None
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_MONTHS = (
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre"
    "|ene|feb|mar|abr|may|jun|jul|ago|sep|oct|nov|dic"
)
_NOISE = re.compile(rf"\b(?:{_MONTHS})\b|[0-9]+")


def description_key(description: str) -> str:
    """Normalize a line description for supplier memory: same concept, other month or number."""
    text = unicodedata.normalize("NFKD", description.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _NOISE.sub(" ", text)
    text = re.sub(r"[^a-z]+", " ", text)
    return " ".join(text.split())[:200]


def load_pending(company_nit: str, before: date) -> list[Invoice]:
    rows = db.query("classify_pending_invoices", {"company_nit": company_nit, "before": before})
    return [
        Invoice(
            invoice_id=r["id"],
            number=r["number"],
            doc_type=r["doc_type"],
            supplier_nit=r["supplier_nit"],
            supplier_name=r["supplier_name"],
            issue_date=r["issue_date"],
            lines=tuple(
                Line(
                    line_id=ln["line_id"],
                    line_no=ln["line_no"],
                    description=ln["description"],
                    line_total=ln["line_total"],
                    quantity=ln["quantity"],
                    tax_percent=ln["tax_percent"],
                )
                for ln in (r["lines"] or [])
            ),
        )
        for r in rows
    ]


# --- validation --------------------------------------------------------------------------------


def item_for(invoice: Invoice, line: Line) -> dict[str, Any]:
    """One line in the wire format, with its invoice as context."""
    item = {
        "id": str(line.line_id),
        "description": line.description,
        "supplier_name": invoice.supplier_name,
        "supplier_nit": invoice.supplier_nit,
        "doc_type": invoice.doc_type,
        "invoice": invoice.number,
        "amount": line.line_total,
        "quantity": line.quantity,
    }
    if line.tax_percent is not None:
        item["tax_percent"] = line.tax_percent
    return item


def validate_answer(
    expected_ids: Iterable[str], answer: Any, min_confidence: float
) -> tuple[dict[str, tuple[str, float]], dict[str, str]]:
    """Split an answer into accepted ``{id: (account, confidence)}`` and ``{id: problem}``.

    Nothing outside the catalog, below the confidence threshold, duplicated or missing passes.
    """
    expected = list(expected_ids)
    problems: dict[str, str] = {}
    accepted: dict[str, tuple[str, float]] = {}
    entries = answer.get("classifications") if isinstance(answer, dict) else None
    if not isinstance(entries, list):
        return {}, {i: 'the answer has no "classifications" list' for i in expected}
    catalog = puc.purchase_accounts()
    seen: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict) or str(entry.get("id")) not in expected:
            continue  # an id we did not ask about is ignored, never stored
        item_id = str(entry["id"])
        if item_id in seen:
            problems[item_id] = f"item {item_id}: answered twice"
            accepted.pop(item_id, None)
            continue
        seen.add(item_id)
        problem = _entry_problem(item_id, entry, catalog, min_confidence)
        if problem:
            problems[item_id] = problem
        else:
            accepted[item_id] = (str(entry["account"]), float(entry["confidence"]))
    for item_id in expected:
        if item_id not in seen:
            problems[item_id] = f"item {item_id}: missing from the answer"
    return accepted, problems


def _entry_problem(item_id: str, entry: dict, catalog: dict, min_confidence: float) -> str | None:
    account = str(entry.get("account", "")).strip()
    if account not in catalog:
        return f"item {item_id}: account {account!r} is not a purchase sub-account of the catalog"
    try:
        confidence = float(Decimal(str(entry.get("confidence"))))
    except (InvalidOperation, ValueError):
        return f"item {item_id}: confidence {entry.get('confidence')!r} is not a number"
    if not 0 <= confidence <= 1:
        return f"item {item_id}: confidence {confidence} is outside 0..1"
    if confidence < min_confidence:
        return f"item {item_id}: confidence {confidence:.2f} below {min_confidence:.2f} for {account}"
    return None


# --- storing -------------------------------------------------------------------------------------


def store(
    company_nit: str,
    cycle_id: str,
    invoices: Sequence[Invoice],
    verdicts: dict[int, Verdict],
    problems: dict[int, str],
    memory_min_confidence: float,
) -> tuple[int, int]:
    """Write verdicts and invoice outcomes in one transaction. Returns (classified, review).

    An invoice is classified only when every line has a valid verdict; otherwise it goes to
    review with the reasons, and its valid lines are kept as proposals for the accountant.
    """
    classified = review = 0
    memory_writes: list[tuple[str, dict[str, Any]]] = []
    with db.transaction() as cur:
        for invoice in invoices:
            for line in invoice.lines:
                verdict = verdicts.get(line.line_id)
                if verdict is None:
                    continue
                cur.execute(
                    db.load_sql("classification_insert"), _classification_row(company_nit, cycle_id, invoice, verdict)
                )
                memory_writes.extend(_memory_write(company_nit, invoice, line, verdict, memory_min_confidence))
            reasons = [problems[ln.line_id] for ln in invoice.lines if ln.line_id in problems]
            missing = [ln for ln in invoice.lines if ln.line_id not in verdicts and ln.line_id not in problems]
            if missing:
                continue  # not decided in this batch (should not happen): stays pending
            if not invoice.lines:
                reasons = ["the invoice has no lines to classify"]
            status = "review" if reasons else "classified"
            cur.execute(
                db.load_sql("invoice_finish"),
                {"invoice_id": invoice.invoice_id, "status": status, "reason": "; ".join(reasons)[:2000] or None},
            )
            if cur.rowcount:
                classified += status == "classified"
                review += status == "review"
        # Concurrent batches of one company touch the same memory rows: taking their locks in one
        # global order (and last, after the lines) is what keeps two transactions from deadlocking.
        for name, params in sorted(memory_writes, key=lambda w: (w[1]["supplier_nit"], w[1]["description_key"])):
            cur.execute(db.load_sql(name), params)
    return classified, review


def _classification_row(company_nit: str, cycle_id: str, invoice: Invoice, verdict: Verdict) -> dict[str, Any]:
    return {
        "line_id": verdict.line_id,
        "invoice_id": invoice.invoice_id,
        "company_nit": company_nit,
        "account": verdict.account,
        "confidence": round(verdict.confidence, 3),
        "source": verdict.source,
        "model": verdict.model,
        "call_id": verdict.call_id,
        "cycle_id": cycle_id,
        "rationale": None,
    }


def _memory_write(
    company_nit: str, invoice: Invoice, line: Line, verdict: Verdict, threshold: float
) -> list[tuple[str, dict[str, Any]]]:
    """The supplier-memory statement a verdict calls for (a hit count, a lesson, or nothing)."""
    key = {
        "company_nit": company_nit,
        "supplier_nit": invoice.supplier_nit,
        "description_key": description_key(line.description),
    }
    if verdict.source == "memory":
        return [("memory_hit", key)]
    if verdict.confidence >= threshold:
        lesson = {**key, "account": verdict.account, "confidence": round(verdict.confidence, 3), "source": "model"}
        return [("memory_remember", lesson)]
    return []


# --- memory --------------------------------------------------------------------------------------


def memory_verdicts(company_nit: str, invoices: Sequence[Invoice]) -> dict[int, Verdict]:
    """Verdicts for every line the company's supplier memory already knows."""
    suppliers = sorted({inv.supplier_nit for inv in invoices})
    if not suppliers:
        return {}
    rows = db.query("memory_for_suppliers", {"company_nit": company_nit, "supplier_nits": suppliers})
    memory = {(r["supplier_nit"], r["description_key"]): r for r in rows}
    verdicts: dict[int, Verdict] = {}
    for invoice in invoices:
        for line in invoice.lines:
            hit = memory.get((invoice.supplier_nit, description_key(line.description)))
            if hit:
                verdicts[line.line_id] = Verdict(line.line_id, hit["account_code"], float(hit["confidence"]), "memory")
    return verdicts


def split_waves(invoices: Sequence[Invoice]) -> tuple[list[Invoice], list[Invoice]]:
    """First one invoice per signature, then the look-alikes (which memory may then cover)."""
    seen: set[tuple] = set()
    first, rest = [], []
    for invoice in invoices:
        signature = invoice.signature()
        (rest if signature in seen else first).append(invoice)
        seen.add(signature)
    return first, rest


def batch_size(invoices: int, settings: Settings) -> int:
    """Invoices per request: at most the configured number, but small enough that a short wave
    still gives every pool slot this task holds a request (a held, idle slot is wasted capacity;
    the extra requests cost little, their long prefix being billed at the cache-hit price)."""
    return max(1, min(settings.invoices_per_request, -(-invoices // settings.concurrency)))


def chunks(items: Sequence[Invoice], size: int) -> list[list[Invoice]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


@dataclass(frozen=True)
class PlannedBatch:
    """One request's worth of a company's invoices. A wave-2 batch names the wave-1 invoices
    (``waits_for``) whose answers teach the memory what its look-alikes need."""

    wave: int
    invoice_ids: tuple[int, ...]
    waits_for: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"wave": self.wave, "invoice_ids": list(self.invoice_ids), "waits_for": list(self.waits_for)}


def plan_batches(
    company_nit: str, cycle_id: str, before: date, settings: Settings
) -> tuple[Report, list[PlannedBatch]]:
    """The memory pass (stores what memory covers entirely) and the company's request-sized batches:
    wave 1 (one representative per signature) first, then wave 2 (look-alikes) waiting for them."""
    run = CompanyClassifier(company_nit, cycle_id, None, settings)
    pending = load_pending(company_nit, before)
    run.report.pending_at_start = len(pending)
    first, rest = split_waves(run._apply_memory(pending))
    representative = {inv.signature(): inv.invoice_id for inv in first}
    size = settings.invoices_per_request
    planned = [PlannedBatch(1, tuple(inv.invoice_id for inv in b)) for b in chunks(first, size)]
    for batch in chunks(rest, size):
        reps = sorted({representative[inv.signature()] for inv in batch})
        planned.append(PlannedBatch(2, tuple(inv.invoice_id for inv in batch), tuple(reps)))
    run.report.batches_planned = len(planned)
    run.report.still_pending = len(first) + len(rest)
    return run.report, planned


# --- the run ---------------------------------------------------------------------------------------


class CompanyClassifier:
    """Runs the steps above for one company and one cycle with a DeepSeek hook."""

    def __init__(self, company_nit: str, cycle_id: str, hook: Any, settings: Settings) -> None:
        self.company_nit = company_nit
        self.cycle_id = cycle_id
        self.hook = hook
        self.settings = settings
        self.report = Report(company_nit)
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._retryable = True
        self._memory: dict[int, Verdict] = {}  # line_id -> verdict from supplier memory
        self._progress: Callable[[Report], None] = lambda report: None

    def run(self, before: date, progress: Callable[[Report], None] | None = None) -> Report:
        pending = load_pending(self.company_nit, before)
        self.report.pending_at_start = len(pending)
        if progress:
            self._progress = progress
        remaining = self._apply_memory(pending)
        first, rest = split_waves(remaining)
        self._run_wave(first)
        if rest and not self._halt.is_set():
            self._run_wave(self._apply_memory(rest))
        self.report.still_pending = len(load_pending(self.company_nit, before))
        if self.report.halted:
            raise ClassificationHalted(self.report.halted, retryable=self._retryable)
        return self.report

    def run_batches(
        self, before: date, batches: Sequence[Sequence[int]], pause: Callable[[], bool] | None = None
    ) -> Report:
        """Classify planned batches one request at a time (the caller holds one pool slot).

        Each batch is re-read from the database: an invoice already decided (a retried or re-run task,
        or memory learned since planning) is not sent again. ``pause`` is asked before each request;
        when it says so the rest stays pending for the task's next try.
        """
        pending = {inv.invoice_id: inv for inv in load_pending(self.company_nit, before)}
        self.report.pending_at_start = sum(1 for ids in batches for i in ids if i in pending)
        for ids in batches:
            invoices = [pending[i] for i in ids if i in pending]
            if not invoices or self._halt.is_set() or (pause is not None and pause()):
                continue
            remaining = self._apply_memory(invoices)
            if remaining and not self.settings.dry_run:
                self.report.batches_planned += 1
                self._run_batch(remaining)
        still = {inv.invoice_id for inv in load_pending(self.company_nit, before)}
        self.report.still_pending = sum(1 for ids in batches for i in ids if i in still)
        if self.report.halted:
            raise ClassificationHalted(self.report.halted, retryable=self._retryable)
        return self.report

    def _apply_memory(self, invoices: Sequence[Invoice]) -> list[Invoice]:
        """Store invoices memory covers entirely; return the others (memory lines pre-filled)."""
        verdicts = memory_verdicts(self.company_nit, invoices)
        covered = [inv for inv in invoices if inv.lines and all(ln.line_id in verdicts for ln in inv.lines)]
        self._memory.update(verdicts)
        if covered and not self.settings.dry_run:
            classified, review = store(
                self.company_nit, self.cycle_id, covered, verdicts, {}, self.settings.memory_min_confidence
            )
            self._count(
                classified=classified,
                review=review,
                memory_invoices=len(covered),
                memory_lines=sum(len(inv.lines) for inv in covered),
            )
        covered_ids = {inv.invoice_id for inv in covered}
        return [inv for inv in invoices if inv.invoice_id not in covered_ids]

    def _run_wave(self, invoices: Sequence[Invoice]) -> None:
        batches = chunks(invoices, batch_size(len(invoices), self.settings))
        self.report.batches_planned += len(batches)
        if self.settings.dry_run or not batches:
            return
        with ThreadPoolExecutor(max_workers=self.settings.concurrency, thread_name_prefix="classify") as pool:
            futures = [pool.submit(self._run_batch, batch) for batch in batches]
            for future in as_completed(futures):
                future.result()  # _run_batch handles its own errors; this surfaces bugs

    def _run_batch(self, batch: list[Invoice]) -> None:
        if self._halt.is_set():
            return
        try:
            verdicts, problems = self._classify(batch)
        except InsufficientBalanceError as exc:
            self._stop(f"DeepSeek balance exhausted (402): top up, then re-run; {exc}", retryable=False)
            return
        except NoUsableKeyError as exc:
            self._stop(f"no usable DeepSeek key: {exc}", retryable=False)
            return
        except DeepSeekError as exc:  # deadline or transient failure: the batch stays pending
            self._stop(f"{len(batch)} invoice(s) left pending: {type(exc).__name__}: {exc}", retryable=True, halt=False)
            return
        memory = {
            ln.line_id: self._memory[ln.line_id] for inv in batch for ln in inv.lines if ln.line_id in self._memory
        }
        classified, review = store(
            self.company_nit,
            self.cycle_id,
            batch,
            {**memory, **verdicts},
            problems,
            self.settings.memory_min_confidence,
        )
        snapshot = self._count(
            classified=classified, review=review, model_lines=len(verdicts), memory_lines=len(memory)
        )
        self._progress(snapshot)

    def _classify(self, batch: list[Invoice]) -> tuple[dict[int, Verdict], dict[int, str]]:
        """Ask once, re-ask once for what was invalid (stating why), return verdicts and problems."""
        items = {
            str(ln.line_id): item_for(inv, ln) for inv in batch for ln in inv.lines if ln.line_id not in self._memory
        }
        verdicts: dict[int, Verdict] = {}
        problems: dict[str, str] = {}
        to_ask = list(items)
        for attempt in range(2):
            result = self._call([items[i] for i in to_ask], list(problems.values()) if attempt else [])
            accepted, problems = validate_answer(to_ask, _parse(result.content), self.settings.min_confidence)
            for item_id, (account, confidence) in accepted.items():
                verdicts[int(item_id)] = Verdict(
                    int(item_id), account, confidence, "model", result.call_id, result.model
                )
            to_ask = list(problems)
            if not to_ask:
                break
            if attempt == 0:
                with self._lock:
                    self.report.validation_retries += 1
        return verdicts, {int(i): p for i, p in problems.items()}

    def _call(self, items: list[dict[str, Any]], previous_errors: list[str]):
        with self._lock:
            self.report.requests += 1
        return self.hook.create_chat_completion(
            prompt.messages(items, previous_errors),
            model=self.settings.model,
            response_format={"type": "json_object"},
            max_tokens=self.settings.max_tokens,
            temperature=0.0,
            context={"company_nit": self.company_nit, "cycle_id": self.cycle_id, "purpose": "classify"},
        )

    def _stop(self, message: str, retryable: bool, halt: bool = True) -> None:
        with self._lock:
            if halt:
                self._halt.set()
            self.report.errors.append(message)
            if self.report.halted is None or not retryable:
                self.report.halted = message
                self._retryable = retryable

    def _count(self, **deltas: int) -> Report:
        """Add to the report's counters; returns a consistent copy (progress logs never go backwards)."""
        with self._lock:
            for name, delta in deltas.items():
                setattr(self.report, name, getattr(self.report, name) + delta)
            return replace(self.report, errors=list(self.report.errors))


def _parse(content: str) -> Any:
    try:
        return json.loads(content)
    except (TypeError, ValueError):
        return None  # validate_answer turns this into a stated error for the one retry
