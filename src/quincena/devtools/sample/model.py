"""The model of what the sample generator writes: parties, suppliers, lines, taxes, documents."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from quincena.devtools.sample.concepts import Concept, ItemSpec

CENT = Decimal("0.01")
ZERO = Decimal(0)
TAXES = {  # tax kind → (scheme id, scheme name, percent)
    "iva19": ("01", "IVA", Decimal("19.00")),
    "iva5": ("01", "IVA", Decimal("5.00")),
    "iva0": ("01", "IVA", Decimal("0.00")),
    "inc8": ("04", "INC", Decimal("8.00")),
}


GRAN_CONTRIBUYENTE = "O-13"
NOT_APPLICABLE = "R-99-PN"  # DIAN's «no aplica – otros»


@dataclass(frozen=True)
class Party:
    nit: str
    dv: int
    name: str
    person_type: str = "1"  # 1 legal person, 2 natural person
    tax_levels: tuple[str, ...] = (NOT_APPLICABLE,)  # RUT responsibilities (cbc:TaxLevelCode)

    @property
    def gran_contribuyente(self) -> bool:
        return GRAN_CONTRIBUYENTE in self.tax_levels


@dataclass(frozen=True)
class SupplierItem:
    spec: ItemSpec
    code: str
    price: Decimal


@dataclass
class Supplier:
    party: Party
    concept: Concept
    prefix: str
    items: tuple[SupplierItem, ...]
    next_number: int


@dataclass(frozen=True)
class Line:
    description: str
    code: str
    unit: str
    quantity: Decimal
    quantity_decimals: int
    price: Decimal
    total: Decimal
    tax: str
    tax_amount: Decimal
    concept_id: str


@dataclass(frozen=True)
class Tax:
    scheme_id: str
    scheme_name: str
    taxable: Decimal
    amount: Decimal
    percent: Decimal


@dataclass
class Doc:
    kind: str  # invoice | credit_note | debit_note
    number: str
    issue_date: date
    issue_time: str
    supplier: Supplier
    customer: Party
    lines: list[Line]
    taxes: list[Tax] = field(default_factory=list)
    withholdings: list[Tax] = field(default_factory=list)
    line_extension: Decimal = ZERO
    tax_exclusive: Decimal = ZERO
    tax_inclusive: Decimal = ZERO
    prepaid: Decimal = ZERO
    payable: Decimal = ZERO
    cufe: str = ""
    reference: Doc | None = None  # the invoice a note amends


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Buyer:
    party: Party
    reteiva_agent: bool  # gran contribuyente: withholds 15 % of the IVA
    reteica_agent: bool


@dataclass
class Context:
    rng: random.Random
    rules: dict[str, dict[str, Any]]
    uvt: Decimal
    start: date
    end: date  # exclusive
