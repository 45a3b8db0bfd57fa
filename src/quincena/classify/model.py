"""The classifier's typed records: settings, invoices and lines as the model sees them, verdicts, the report."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any


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
    prompt_version: str | None = None  # the prompt that produced a model verdict


# Where a batch's outcome goes: (company_nit, cycle_id, invoices, verdicts, problems, memory threshold)
# -> (classified, review). The pipeline stores it in the database; the evaluation keeps it in memory.
Sink = Callable[[str, str, Sequence[Invoice], dict[int, Verdict], dict[int, str], float], tuple[int, int]]


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
