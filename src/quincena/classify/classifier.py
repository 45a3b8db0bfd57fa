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
batches of one company, after ingest) and ``CompanyClassifier.run_batch`` (one planned batch, one
request; a classify lane holding one pool slot sends them one after the other). ``CompanyClassifier.run``
(every wave of a company in one call) stays for the CLI, the fault matrix and the benchmarks' baseline.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from deepseek_provider.exceptions import DeepSeekError, InsufficientBalanceError, NoUsableKeyError

from quincena.chart import store as chart_store
from quincena.classify import prompt
from quincena.classify.answers import _parse, item_for, validate_answer
from quincena.classify.model import (
    ClassificationHalted,
    Invoice,
    Line,
    Report,
    Settings,
    Sink,
    Verdict,
    description_key,
)
from quincena.classify.storage import load_pending, memory_verdicts, store

log = logging.getLogger(__name__)

__all__ = [
    "ClassificationHalted", "CompanyClassifier", "Invoice", "Line", "PlannedBatch", "Report", "Settings", "Verdict",
    "batch_size", "chunks", "description_key", "item_for", "load_pending", "memory_verdicts", "plan_batches",
    "split_waves", "store", "validate_answer",
]  # fmt: skip


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
    """Runs the steps above for one company and one cycle with a DeepSeek hook.

    ``run`` is the pipeline: pending invoices from the database, supplier memory, results stored.
    ``classify`` is the same path over given invoices; the evaluation harness calls it with memory
    off, a ``sink`` that keeps results in memory and its own ``purpose`` in the call ledger.
    """

    def __init__(
        self,
        company_nit: str,
        cycle_id: str,
        hook: Any,
        settings: Settings,
        sink: Sink | None = None,
        purpose: str = "classify",
        use_memory: bool = True,
    ) -> None:
        self.company_nit = company_nit
        self.cycle_id = cycle_id
        self.hook = hook
        self.settings = settings
        self.sink: Sink = sink or store
        self.purpose = purpose
        self.use_memory = use_memory
        self.report = Report(company_nit)
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._retryable = True
        self._memory: dict[int, Verdict] = {}  # line_id -> verdict from supplier memory
        self._memory_problems: dict[int, str] = {}  # line_id -> why its remembered account cannot be used
        self._chart: tuple[dict[str, Any] | None, str | None] | None = None
        self._progress: Callable[[Report], None] = lambda report: None

    def run(self, before: date, progress: Callable[[Report], None] | None = None) -> Report:
        pending = load_pending(self.company_nit, before)
        self.report.pending_at_start = len(pending)
        if progress:
            self._progress = progress
        self.classify(pending)
        self.report.still_pending = len(load_pending(self.company_nit, before))
        if self.report.halted:
            raise ClassificationHalted(self.report.halted, retryable=self._retryable)
        return self.report

    def classify(self, invoices: Sequence[Invoice]) -> None:
        """Memory (when on), then the two waves of batched, validated requests, each batch to the sink."""
        remaining = self._apply_memory(invoices)
        first, rest = split_waves(remaining)
        self._run_wave(first)
        if rest and not self._halt.is_set():
            self._run_wave(self._apply_memory(rest))

    def run_batch(self, before: date, invoice_ids: Sequence[int]) -> Report:
        """Classify one planned batch with one request (the caller, a lane, holds one pool slot).

        The batch is re-read from the database: an invoice already decided (a retried lane, or memory
        learned since planning) is not sent again.
        """
        invoices = load_pending(self.company_nit, before, invoice_ids)
        self.report.pending_at_start += len(invoices)
        remaining = self._apply_memory(invoices)
        if remaining and not self.settings.dry_run:
            self.report.batches_planned += 1
            self._run_batch(remaining)
        if self.report.halted:
            raise ClassificationHalted(self.report.halted, retryable=self._retryable)
        return self.report

    def chart(self) -> tuple[dict[str, Any] | None, str | None]:
        """The company's own accounts and their prompt block, or (None, None) when it has no chart (or no
        company: the evaluation). Read once per run."""
        if self._chart is None:
            loaded = chart_store.load(self.company_nit) if self.company_nit else None
            if loaded is not None and loaded.has_chart:
                allowed = loaded.targets()
                self._chart = (allowed, prompt.company_block(allowed))
            else:
                self._chart = (None, None)
        return self._chart

    def _apply_memory(self, invoices: Sequence[Invoice]) -> list[Invoice]:
        """Store invoices memory covers entirely; return the others (memory lines pre-filled).

        A line whose remembered account is no longer one the company may post to is decided too: it goes
        to review with that reason, never to the model or the export."""
        if not self.use_memory:
            return list(invoices)
        verdicts, problems = memory_verdicts(self.company_nit, invoices, self.chart()[0])
        decided = verdicts.keys() | problems.keys()
        covered = [inv for inv in invoices if inv.lines and all(ln.line_id in decided for ln in inv.lines)]
        self._memory.update(verdicts)
        self._memory_problems.update(problems)
        if covered and not self.settings.dry_run:
            classified, review = self.sink(
                self.company_nit, self.cycle_id, covered, verdicts, problems, self.settings.memory_min_confidence
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
        remembered = {
            ln.line_id: self._memory_problems[ln.line_id]
            for inv in batch
            for ln in inv.lines
            if ln.line_id in self._memory_problems
        }
        classified, review = self.sink(
            self.company_nit,
            self.cycle_id,
            batch,
            {**memory, **verdicts},
            {**remembered, **problems},
            self.settings.memory_min_confidence,
        )
        snapshot = self._count(
            classified=classified, review=review, model_lines=len(verdicts), memory_lines=len(memory)
        )
        self._progress(snapshot)

    def _classify(self, batch: list[Invoice]) -> tuple[dict[int, Verdict], dict[int, str]]:
        """Ask once, re-ask once for what was invalid (stating why), return verdicts and problems."""
        decided = self._memory.keys() | self._memory_problems.keys()
        items = {str(ln.line_id): item_for(inv, ln) for inv in batch for ln in inv.lines if ln.line_id not in decided}
        verdicts: dict[int, Verdict] = {}
        problems: dict[str, str] = {}
        to_ask = list(items)
        allowed, block = self.chart()
        version = prompt.CHART_PROMPT_VERSION if block else prompt.PROMPT_VERSION
        for attempt in range(2):
            result = self._call([items[i] for i in to_ask], list(problems.values()) if attempt else [], block)
            answer = _parse(result.content)
            accepted, problems = validate_answer(to_ask, answer, self.settings.min_confidence, allowed)
            for item_id, (account, confidence) in accepted.items():
                verdicts[int(item_id)] = Verdict(
                    int(item_id), account, confidence, "model", result.call_id, result.model, version
                )
            to_ask = list(problems)
            if not to_ask:
                break
            if attempt == 0:
                with self._lock:
                    self.report.validation_retries += 1
        return verdicts, {int(i): p for i, p in problems.items()}

    def _call(self, items: list[dict[str, Any]], previous_errors: list[str], chart: str | None = None):
        with self._lock:
            self.report.requests += 1
        return self.hook.create_chat_completion(
            prompt.messages(items, previous_errors, chart),
            model=self.settings.model,
            response_format={"type": "json_object"},
            max_tokens=self.settings.max_tokens,
            temperature=0.0,
            context={"company_nit": self.company_nit or None, "cycle_id": self.cycle_id, "purpose": self.purpose},
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
