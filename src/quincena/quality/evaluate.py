"""Run the production classifier over a gold set and measure it.

The path is the pipeline's own (``classifier.CompanyClassifier.classify``): the two waves, the
batching, the prompt, the hook with its key rotation and ledger, the validation and the one retry.
What differs, through the classifier's seams: supplier memory is off, the gold lines are given in
memory (no invoices table, no scratch company) and each batch's outcome goes to an in-memory sink
instead of ``classifications``. The calls are recorded in ``api_calls`` like any other, with
``purpose = 'eval'``, ``cycle_id = <run id>`` and no company: cost and latency come from there.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from quincena.classify import classifier, prompt
from quincena.core import db
from quincena.quality.gold import GoldLine

REVIEW = "revisión"  # the "predicted class" of a line the pipeline would send to review


class EvalError(ValueError):
    """The evaluation cannot run as asked (one line for the user)."""


@dataclass(frozen=True)
class LineOutcome:
    line: GoldLine
    predicted: str | None  # the validated account, None when the line would go to review
    confidence: float | None
    problem: str | None  # why it would go to review
    model: str | None

    @property
    def correct_subaccount(self) -> bool:
        return self.predicted == self.line.expected_account

    @property
    def correct_account(self) -> bool:
        return self.predicted is not None and self.predicted[:4] == self.line.expected_account[:4]

    @property
    def predicted_label(self) -> str:
        return self.predicted or REVIEW


@dataclass
class Evaluation:
    run_id: str
    gold_file: str
    model_requested: str | None
    prompt_version: str
    started_at: str
    wall_seconds: float
    outcomes: list[LineOutcome]
    report: dict[str, Any]  # the classifier's Report (requests, validation retries, halted…)
    ledger: dict[str, Any] = field(default_factory=dict)  # api_calls figures of the run

    def summary(self) -> dict[str, Any]:
        """The run's figures, one flat row (the columns of summary.csv and runs.csv)."""
        total = len(self.outcomes)
        proposed = [o for o in self.outcomes if o.predicted is not None]
        ledger = self.ledger
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "gold_file": self.gold_file,
            "model": ledger.get("models") or self.model_requested or "",
            "prompt_version": self.prompt_version,
            "lines": total,
            "correct_subaccount": sum(o.correct_subaccount for o in self.outcomes),
            "correct_account": sum(o.correct_account for o in self.outcomes),
            "review": total - len(proposed),
            "accuracy_subaccount": _share(sum(o.correct_subaccount for o in self.outcomes), total),
            "accuracy_account": _share(sum(o.correct_account for o in self.outcomes), total),
            "accuracy_subaccount_proposed": _share(sum(o.correct_subaccount for o in proposed), len(proposed)),
            "review_share": _share(total - len(proposed), total),
            "requests": self.report.get("requests", 0),
            "validation_retries": self.report.get("validation_retries", 0),
            "api_attempts": ledger.get("calls", 0),
            "failed_attempts": ledger.get("failed_calls", 0),
            "rate_limited": ledger.get("rate_limited", 0),
            "prompt_cache_hit_tokens": ledger.get("prompt_cache_hit_tokens", 0),
            "prompt_cache_miss_tokens": ledger.get("prompt_cache_miss_tokens", 0),
            "completion_tokens": ledger.get("completion_tokens", 0),
            "cost_usd": ledger.get("cost_usd", Decimal(0)),
            "cost_usd_per_100_lines": (
                (Decimal(ledger.get("cost_usd", 0)) * 100 / total).quantize(Decimal("0.00000001")) if total else 0
            ),
            "latency_mean_ms": int(ledger.get("latency_mean_ms", 0) or 0),
            "latency_p50_ms": int(ledger.get("latency_p50_ms", 0) or 0),
            "latency_p95_ms": int(ledger.get("latency_p95_ms", 0) or 0),
            "wall_seconds": round(self.wall_seconds, 2),
            "halted": self.report.get("halted") or "",
        }

    def confusion(self, digits: int = 6) -> Counter[tuple[str, str]]:
        """(expected, predicted) -> lines, at the sub-account (6) or account (4) level."""
        return Counter(
            (o.line.expected_account[:digits], o.predicted[:digits] if o.predicted else REVIEW) for o in self.outcomes
        )


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def check_prompt_version(requested: str | None) -> str:
    """The version that will run; a version the code does not have is a one-line error."""
    if requested and requested != prompt.PROMPT_VERSION:
        raise EvalError(
            f"prompt version {requested!r} is not in this code (it has {prompt.PROMPT_VERSION!r}); "
            "check out the commit that has it to evaluate it"
        )
    return prompt.PROMPT_VERSION


def new_run_id(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"eval-{moment}-{uuid.uuid4().hex[:6]}"


def invoices_of(lines: Sequence[GoldLine], issue_date: date) -> list[classifier.Invoice]:
    """Each gold line as a one-line invoice; the CSV line number is its invoice and line id."""
    return [
        classifier.Invoice(
            invoice_id=g.line_no,
            number=f"GOLD-{g.line_no}",
            doc_type=g.doc_type,
            supplier_nit=g.supplier_nit,
            supplier_name=g.supplier_name,
            issue_date=issue_date,
            lines=(classifier.Line(g.line_no, 1, g.description, g.amount, "1", g.tax_percent),),
        )
        for g in lines
    ]


class _MemorySink:
    """Keeps each batch's verdicts and problems (batches run on several threads)."""

    def __init__(self) -> None:
        self.verdicts: dict[int, classifier.Verdict] = {}
        self.problems: dict[int, str] = {}
        self._lock = threading.Lock()

    def __call__(
        self,
        company_nit: str,
        cycle_id: str,
        invoices: Sequence[classifier.Invoice],
        verdicts: dict[int, classifier.Verdict],
        problems: dict[int, str],
        memory_min_confidence: float,
    ) -> tuple[int, int]:
        with self._lock:
            self.verdicts.update(verdicts)
            self.problems.update(problems)
        review = sum(any(ln.line_id in problems for ln in inv.lines) for inv in invoices)
        return len(invoices) - review, review


def run_evaluation(
    lines: Sequence[GoldLine],
    hook: Any,
    settings: classifier.Settings,
    gold_file: str = "",
    run_id: str | None = None,
    prompt_version: str | None = None,
) -> Evaluation:
    """Classify every gold line through the pipeline's classifier (memory off) and gather the figures."""
    version = check_prompt_version(prompt_version)
    run_id = run_id or new_run_id()
    started = datetime.now(UTC)
    sink = _MemorySink()
    run = classifier.CompanyClassifier("", run_id, hook, settings, sink=sink, purpose="eval", use_memory=False)
    clock = time.monotonic()
    run.classify(invoices_of(lines, started.date()))
    wall = time.monotonic() - clock
    outcomes = []
    for g in lines:
        verdict = sink.verdicts.get(g.line_no)
        problem = sink.problems.get(g.line_no)
        if verdict is None and problem is None:
            problem = f"not classified: {run.report.halted or 'no answer'}"
        outcomes.append(
            LineOutcome(
                line=g,
                predicted=verdict.account if verdict else None,
                confidence=verdict.confidence if verdict else None,
                problem=problem,
                model=verdict.model if verdict else None,
            )
        )
    ledger = db.query("eval_calls", {"run_id": run_id})[0] if not settings.dry_run else {}
    return Evaluation(
        run_id=run_id,
        gold_file=gold_file,
        model_requested=settings.model,
        prompt_version=version,
        started_at=started.isoformat(timespec="seconds"),
        wall_seconds=wall,
        outcomes=outcomes,
        report=run.report.to_dict(),
        ledger=dict(ledger),
    )
