"""The data generator: companies, their suppliers, the lines and amounts of each document (totals to
the peso, taxes, withholdings), and the credit and debit notes amending earlier invoices."""

from __future__ import annotations

import hashlib
import random
import zlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from quincena.core.companies import Company
from quincena.core.nit import check_digit
from quincena.devtools.sample.concepts import Concept, load_concepts
from quincena.devtools.sample.model import (
    GRAN_CONTRIBUYENTE,
    NOT_APPLICABLE,
    TAXES,
    ZERO,
    Buyer,
    Context,
    Doc,
    Line,
    Party,
    Supplier,
    SupplierItem,
    Tax,
    money,
)
from quincena.devtools.sample.ubl import cufe

RECURRING_SUPPLIERS = 20
ONE_OFF_SHARE = 0.08
CREDIT_NOTE_SHARE = 0.03
DEBIT_NOTE_SHARE = 0.01
_COMPANY_KINDS = (
    "Ferretería",
    "Distribuidora",
    "Comercializadora",
    "Inversiones",
    "Panadería",
    "Constructora",
    "Laboratorio",
    "Textiles",
    "Agroindustrias",
    "Transportes",
    "Droguería",
    "Confecciones",
    "Metalmecánica",
    "Papelera",
    "Clínica Veterinaria",
)
_COMPANY_NAMES = (
    "El Tornillo",
    "Los Andes",
    "del Valle",
    "La Sabana",
    "San José",
    "El Progreso",
    "La Esperanza",
    "Santa Fe",
    "del Caribe",
    "La Montaña",
    "Nueva Granada",
    "El Dorado",
    "Los Almendros",
    "La Candelaria",
    "Buena Vista",
)
_SURNAMES = ("Rodríguez", "Martínez", "Gómez", "López", "Hernández", "Díaz", "Moreno", "Rojas", "Vargas", "Castro")
_ONE_OFF_KINDS = ("Servicios", "Distribuciones", "Soluciones", "Suministros", "Comercial")


GRANDES_CONTRIBUYENTES_PERCENT = 25  # of the legal-person suppliers


def supplier_party(nit: str, dv: int, name: str, person_type: str = "1") -> Party:
    """A supplier, a gran contribuyente for about one legal person in four (decided from the NIT, not drawn
    from rng, so the rest of the sample stays as it was)."""
    big = person_type == "1" and zlib.crc32(nit.encode()) % 100 < GRANDES_CONTRIBUYENTES_PERCENT
    return Party(nit, dv, name, person_type, (GRAN_CONTRIBUYENTE,) if big else (NOT_APPLICABLE,))


def random_nit(rng: random.Random, used: set[str], natural: bool = False) -> tuple[str, int]:
    while True:
        if natural:
            nit = str(rng.randint(10_000_000, 1_099_999_999))
        else:
            nit = str(rng.choice((800, 830, 860, 890, 900, 901))) + f"{rng.randint(0, 999_999):06d}"
        if nit not in used:
            used.add(nit)
            return nit, check_digit(nit)


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    """A COP unit price: big ones round to 100 pesos, small ones keep cents (as utilities bill)."""
    value = Decimal(rng.randint(low * 100, high * 100)) / 100
    return value.quantize(Decimal(100)) if value >= 10000 else money(value)


# --- companies and suppliers -----------------------------------------------------------------


def make_companies(rng: random.Random, count: int, used: set[str]) -> list[Company]:
    names = [f"{k} {n}" for k in _COMPANY_KINDS for n in _COMPANY_NAMES]
    rng.shuffle(names)
    result = []
    for index in range(count):
        base = names[index % len(names)] + ("" if index < len(names) else f" {index // len(names) + 1}")
        suffix = rng.choice(("S.A.S.", "S.A.S.", "Ltda", "S.A."))
        nit, dv = random_nit(rng, used)
        budget = Decimal(rng.choice((5, 10, 20, 50))) if rng.random() < 0.5 else None
        result.append(Company(nit=nit, dv=dv, name=f"{base} {suffix}", active=True, monthly_budget_usd=budget))
    return result


def _make_supplier(rng: random.Random, party: Party, concept: Concept) -> Supplier:
    low, high = concept.items_per_supplier
    specs = rng.sample(concept.items, min(len(concept.items), rng.randint(low, high)))
    items = tuple(SupplierItem(spec=s, code=f"{rng.randint(1000, 99999)}", price=_price(rng, *s.price)) for s in specs)
    letters = "".join(ch for ch in party.name.upper() if ch.isalpha() and ch.isascii())
    prefix = (letters[:2] + rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") + rng.choice("EFVT"))[:4]
    return Supplier(party=party, concept=concept, prefix=prefix, items=items, next_number=rng.randint(1000, 90000))


def supplier_pool(rng: random.Random, concepts: Sequence[Concept], used: set[str]) -> list[Supplier]:
    """Suppliers many companies share (utilities, landlords, stationers...)."""
    pool = []
    for concept in concepts:
        for name in concept.suppliers:
            nit, dv = random_nit(rng, used)
            pool.append(_make_supplier(rng, supplier_party(nit, dv, name), concept))
    return pool


def _one_off_supplier(rng: random.Random, concepts: Sequence[Concept], used: set[str]) -> Supplier:
    concept = rng.choice(concepts)
    natural = rng.random() < 0.4
    if natural:
        name = f"{rng.choice(('Carlos', 'Luz Marina', 'Jorge', 'Ana María', 'Andrés'))} {rng.choice(_SURNAMES)}"
    else:
        name = f"{rng.choice(_ONE_OFF_KINDS)} {rng.choice(_SURNAMES)} y Cía S.A.S."
    nit, dv = random_nit(rng, used, natural=natural)
    return _make_supplier(rng, supplier_party(nit, dv, name, "2" if natural else "1"), concept)


def company_suppliers(rng: random.Random, pool: list[Supplier]) -> tuple[list[Supplier], list[float]]:
    """~20 recurring suppliers with purchase weights (papelería often, revisoría once)."""
    chosen = rng.sample(pool, min(RECURRING_SUPPLIERS, len(pool)))  # shared objects: one numbering per supplier
    weights = [s.concept.frequency * rng.uniform(0.6, 1.4) for s in chosen]
    return chosen, weights


# --- amounts ---------------------------------------------------------------------------------


def _line(rng: random.Random, item: SupplierItem, concept_id: str, jitter: bool = True) -> Line:
    spec = item.spec
    low, high = spec.quantity
    if spec.quantity_decimals:
        scale = 10**spec.quantity_decimals
        quantity = Decimal(rng.randint(low * scale, high * scale)) / scale
    else:
        quantity = Decimal(rng.randint(low, high))
    price = item.price
    if jitter and spec.unit != "MON":
        price = money(price * Decimal(rng.randint(95, 105)) / 100)
    return _make_line(
        spec.description, item.code, spec.unit, quantity, spec.quantity_decimals, price, spec.tax, concept_id
    )


def _make_line(
    description: str, code: str, unit: str, quantity: Decimal, decimals: int, price: Decimal, tax: str, concept_id: str
) -> Line:
    total = money(quantity * price)
    tax_amount = money(total * TAXES[tax][2] / 100) if tax in TAXES else ZERO
    return Line(description, code, unit, quantity, decimals, price, total, tax, tax_amount, concept_id)


def _settle(doc: Doc, withholding: dict[str, Any] | None, uvt: Decimal, prepaid_share: Decimal = ZERO) -> None:
    """Document totals from the lines, consistent to the peso (DIAN's rules for each total)."""
    _balance_line_taxes(doc)
    groups: dict[tuple[str, str, Decimal], list[Line]] = {}
    for line in doc.lines:
        if line.tax in TAXES:
            groups.setdefault(TAXES[line.tax], []).append(line)
    doc.taxes = [
        Tax(scheme, name, sum((ln.total for ln in lines), ZERO), sum((ln.tax_amount for ln in lines), ZERO), pct)
        for (scheme, name, pct), lines in sorted(groups.items(), key=lambda kv: (kv[0][0], -kv[0][2]))
    ]
    doc.line_extension = sum((ln.total for ln in doc.lines), ZERO)
    doc.tax_exclusive = sum((ln.total for ln in doc.lines if ln.tax in TAXES), ZERO)  # base imponible
    doc.tax_inclusive = doc.line_extension + sum((t.amount for t in doc.taxes), ZERO)
    doc.prepaid = money(doc.tax_inclusive * prepaid_share).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    doc.payable = doc.tax_inclusive - doc.prepaid
    doc.withholdings = _withholdings(doc, withholding, uvt) if withholding else []


def _balance_line_taxes(doc: Doc) -> None:
    """Each tax subtotal is its base times its rate, rounded once; the last line of the group absorbs
    the cent the per-line roundings lose, so the lines still add up to the subtotal exactly."""
    last: dict[str, int] = {}
    for index, line in enumerate(doc.lines):
        if line.tax in TAXES:
            last[line.tax] = index
    for tax, index in last.items():
        lines = [ln for ln in doc.lines if ln.tax == tax]
        exact = money(sum((ln.total for ln in lines), ZERO) * TAXES[tax][2] / 100)
        drift = exact - sum((ln.tax_amount for ln in lines), ZERO)
        if drift:
            line = doc.lines[index]
            doc.lines[index] = replace(line, tax_amount=line.tax_amount + drift)


STATED_WITHHOLDINGS_PERCENT = 15


def _states_withholdings(number: str) -> bool:
    return zlib.crc32(number.encode()) % 100 < STATED_WITHHOLDINGS_PERCENT


def _withholdings(doc: Doc, rule: dict[str, Any], uvt: Decimal) -> list[Tax]:
    """Withholdings the buyer is expected to practise (informative in the XML, not subtracted)."""
    base = doc.line_extension
    if base < uvt * rule["min_uvt"]:
        return []
    result = []
    retefuente = Decimal(rule["retefuente"])
    if retefuente:
        result.append(Tax("06", "ReteRenta", base, money(base * retefuente / 100), retefuente))
    iva = sum((t.amount for t in doc.taxes if t.scheme_id == "01"), ZERO)
    if rule.get("reteiva") and iva > 0:
        result.append(Tax("05", "ReteIVA", iva, money(iva * 15 / 100), Decimal("15.00")))
    per_mil = Decimal(rule["reteica_per_mil"])
    if per_mil and rule.get("reteica"):
        percent = per_mil / 10
        result.append(Tax("07", "ReteICA", base, money(base * percent / 100), percent))
    return result


def _time(rng: random.Random) -> str:
    return f"{rng.randint(7, 19):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}-05:00"


def next_number(supplier: Supplier, prefix: str = "") -> str:
    number = f"{prefix or supplier.prefix}{supplier.next_number}"
    supplier.next_number += 1
    return number


def _rule(ctx: Context, supplier: Supplier, buyer: Buyer) -> dict[str, Any]:
    """The withholdings the buyer practises on this supplier: no ReteIVA between two grandes contribuyentes."""
    rule = dict(ctx.rules[supplier.concept.withholding])
    both_big = buyer.party.gran_contribuyente and supplier.party.gran_contribuyente
    rule["reteiva"] = bool(rule.get("reteiva")) and buyer.reteiva_agent and not both_big
    rule["reteica"] = buyer.reteica_agent
    return rule


def invoice(ctx: Context, supplier: Supplier, buyer: Buyer, issue: date) -> Doc:
    rng = ctx.rng
    count = rng.randint(1, len(supplier.items))
    items = sorted(rng.sample(range(len(supplier.items)), count))
    lines = [_line(rng, supplier.items[i], supplier.concept.id) for i in items]
    doc = Doc("invoice", next_number(supplier), issue, _time(rng), supplier, buyer.party, lines)
    prepaid = Decimal("0.3") if rng.random() < 0.05 else ZERO  # an anticipo paid before the invoice
    # Most suppliers state no withholdings (the buyer computes them); some software adds them as a hint.
    # Decided from the number, not drawn from rng, so the rest of the sample stays as it was.
    stated = _rule(ctx, supplier, buyer) if _states_withholdings(doc.number) else None
    _settle(doc, stated, ctx.uvt, prepaid)
    doc.cufe = cufe(doc, technical_key(supplier))
    return doc


def technical_key(supplier: Supplier) -> str:
    return hashlib.sha256(f"clave-tecnica-{supplier.party.nit}".encode()).hexdigest()


def _note_date(ctx: Context, after: date) -> date:
    return after + timedelta(days=ctx.rng.randint(0, max((ctx.end - after).days - 1, 0)))


def _credit_note(ctx: Context, ref: Doc) -> Doc:
    """Cancels the whole invoice or returns part of one line (a devolución)."""
    rng = ctx.rng
    if rng.random() < 0.4:
        lines = list(ref.lines)
    else:
        line = rng.choice(ref.lines)
        scale = Decimal(1).scaleb(-line.quantity_decimals)
        quantity = max((line.quantity / 2).quantize(scale, rounding=ROUND_HALF_UP), scale)
        lines = [
            _make_line(
                line.description,
                line.code,
                line.unit,
                quantity,
                line.quantity_decimals,
                line.price,
                line.tax,
                line.concept_id,
            )
        ]
    issue = _note_date(ctx, ref.issue_date)
    doc = Doc("credit_note", next_number(ref.supplier, "NC"), issue, _time(rng), ref.supplier, ref.customer, lines)
    doc.reference = ref
    _settle(doc, None, ctx.uvt)
    doc.cufe = cufe(doc, "pin-" + ref.supplier.party.nit)
    return doc


def _debit_note(ctx: Context, ref: Doc) -> Doc:
    """A price adjustment on one line of an earlier invoice: same concept, same account."""
    rng = ctx.rng
    line = rng.choice(ref.lines)
    price = money(line.total * Decimal(rng.randint(2, 8)) / 100)
    adjusted = _make_line(
        f"Ajuste en precio: {line.description}", line.code, line.unit, Decimal(1), 0, price, line.tax, line.concept_id
    )
    issue = _note_date(ctx, ref.issue_date)
    doc = Doc("debit_note", next_number(ref.supplier, "ND"), issue, _time(rng), ref.supplier, ref.customer, [adjusted])
    doc.reference = ref
    _settle(doc, None, ctx.uvt)
    doc.cufe = cufe(doc, "pin-" + ref.supplier.party.nit)
    return doc


def make_documents(ctx: Context, buyer: Buyer, suppliers: list[Supplier], weights: list[float], total: int, used):
    """``total`` good documents: invoices in date order, then credit and debit notes amending them."""
    rng = ctx.rng
    credits = round(total * CREDIT_NOTE_SHARE)
    debits = round(total * DEBIT_NOTE_SHARE)
    count = max(total - credits - debits, 1)
    credits = min(credits, total - count)
    debits = total - count - credits
    days = (ctx.end - ctx.start).days
    dates = sorted(ctx.start + timedelta(days=rng.randrange(days)) for _ in range(count))
    concepts = load_concepts()
    invoices = []
    for issue in dates:
        one_off = rng.random() < ONE_OFF_SHARE
        supplier = _one_off_supplier(rng, concepts, used) if one_off else rng.choices(suppliers, weights)[0]
        invoices.append(invoice(ctx, supplier, buyer, issue))
    notes = [_credit_note(ctx, rng.choice(invoices)) for _ in range(credits)]
    notes += [_debit_note(ctx, rng.choice(invoices)) for _ in range(debits)]
    return invoices, notes
