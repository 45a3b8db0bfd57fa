"""The buyer's withholdings on one purchase: ReteFuente per concept, ReteIVA, ReteICA.

Pure code over typed records; every figure (UVT, bases, rates, accounts) comes from the rules in
force on the issue date (include/tax/rules-YYYY.json) and the account → concept map
(include/tax/concepts.json). Amounts are Decimal; each withholding is rounded to the peso.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from quincena.books.withholdings.concepts import ConceptMap, concept_map
from quincena.books.withholdings.rules import TaxRules, rules_for

GRAN_CONTRIBUYENTE = "O-13"
AUTORRETENEDOR = "O-15"
RETEIVA_AGENT = "O-23"
REGIMEN_SIMPLE = "O-47"
PERSON_TYPES = {"1": "juridica", "2": "natural"}  # cbc:AdditionalAccountID
REGIMES = ("ordinario", "simple")
_ZERO = Decimal(0)


def to_peso(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class BuyerProfile:
    """The client company, from the registry (companies CSV)."""

    nit: str
    withholding_agent: bool = True
    gran_contribuyente: bool = False
    reteiva_agent: bool = False  # designated ReteIVA agent (O-23) without being gran contribuyente
    autorretenedor: bool = False
    regimen: str = "ordinario"  # ordinario | simple
    ica_city: str | None = None  # DIVIPOLA code where it is a ReteICA agent, e.g. 11001 Bogotá
    iva_deductible: bool = True

    def responsibilities(self) -> set[str]:
        codes = set()
        if self.gran_contribuyente:
            codes.add(GRAN_CONTRIBUYENTE)
        if self.reteiva_agent:
            codes.add(RETEIVA_AGENT)
        if self.autorretenedor:
            codes.add(AUTORRETENEDOR)
        if self.regimen == "simple":
            codes.add(REGIMEN_SIMPLE)
        return codes


@dataclass(frozen=True)
class SupplierProfile:
    """The supplier, learnt from its invoices (person type, RUT responsibilities, city) plus the firm's override."""

    nit: str
    person_type: str | None = None  # juridica | natural | None (unknown)
    responsibilities: tuple[str, ...] = ()
    city: str | None = None  # DIVIPOLA code
    declarante: bool | None = None  # None: the default of concepts.json for its person type


@dataclass(frozen=True)
class PurchaseLine:
    account: str  # the classified PUC sub-account
    base: Decimal  # taxable amount before IVA
    tax_hint: Decimal = _ZERO  # the line's own tax amount, used to share the document's IVA among concepts
    iva_base: Decimal | None = None  # the line's IVA-taxable amount (an AIU service's AIU); None: unknown


@dataclass(frozen=True)
class Purchase:
    issue_date: date
    lines: tuple[PurchaseLine, ...]
    iva: Decimal = _ZERO  # the document's IVA (TaxTotal scheme 01)
    # ReteFuente bases by concept already paid to this supplier by this buyer in the issue year (earlier
    # entries in the books): what an annual threshold (honorarios above 3,300 UVT) is measured on.
    earlier_in_year: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Withholding:
    tax: str  # retefuente | reteiva | reteica
    concept: str
    account: str
    base: Decimal
    rate: Decimal  # a fraction: 0.11 = 11 %, 0.00966 = 9.66 per mil
    amount: Decimal  # rounded to the peso
    why: str

    @classmethod
    def on(cls, tax: str, concept: str, account: str, base: Decimal, rate: Decimal, why: str) -> Withholding:
        """``rate`` of ``base``: the base kept to the cent, the amount rounded to the peso."""
        return cls(tax, concept, account, _cents(base), rate, to_peso(base * rate), why)


@dataclass
class Assessment:
    withholdings: list[Withholding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why a withholding was NOT practised
    review: list[str] = field(default_factory=list)  # what the accountant must check (Spanish)

    def total(self) -> Decimal:
        return sum((w.amount for w in self.withholdings), _ZERO)

    def by_tax(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for w in self.withholdings:
            totals[w.tax] += w.amount
        return dict(totals)


def compute(
    purchase: Purchase,
    buyer: BuyerProfile,
    supplier: SupplierProfile,
    rules: TaxRules | None = None,
    concepts: ConceptMap | None = None,
) -> Assessment:
    """The withholdings the buyer practises on one purchase, each with its base, rate and why."""
    rules = rules or rules_for(purchase.issue_date)
    concepts = concepts or concept_map()
    bases: dict[str, Decimal] = defaultdict(Decimal)
    for line in purchase.lines:
        bases[concepts.concept_of(line.account)] += line.base
    result = Assessment()
    _retefuente(result, purchase, bases, buyer, supplier, rules, concepts)
    _reteiva(result, bases, _iva_by_concept(purchase, concepts), buyer, supplier, rules)
    _reteica(result, bases, buyer, supplier, rules, concepts)
    return result


def is_declarante(supplier: SupplierProfile, concepts: ConceptMap) -> bool:
    if supplier.declarante is not None:
        return supplier.declarante
    return concepts.declarante_default[supplier.person_type or "unknown"]


def _retefuente(result, purchase: Purchase, bases, buyer, supplier, rules: TaxRules, concepts: ConceptMap) -> None:
    if not buyer.withholding_agent:
        result.notes.append("ReteFuente: the buyer is not a withholding agent")
        return
    if buyer.regimen in rules.exempt_buyer_regimes:
        result.notes.append(f"ReteFuente: the buyer is in régimen {buyer.regimen}, not a withholding agent")
        return
    exempt = sorted(set(supplier.responsibilities) & set(rules.exempt_supplier_responsibilities))
    if exempt:
        codes = ", ".join(exempt)
        result.notes.append(f"ReteFuente: the supplier's RUT says {codes} (autorretenedor / régimen simple)")
        return
    declarante = is_declarante(supplier, concepts)
    for concept, base in sorted(bases.items()):
        rule = rules.retefuente.get(concept)
        if rule is None:
            result.notes.append(f"ReteFuente: {concepts.label(concept)} carries no withholding")
            continue
        threshold = rules.threshold(rule.base_uvt)
        if base <= 0 or base < threshold:
            result.notes.append(
                f"ReteFuente {concept}: base {_cents(base)} below {rule.base_uvt} UVT = {threshold} "
                f"(UVT {rules.uvt}, rules from {rule.valid_from})"
            )
            continue
        if supplier.person_type == "juridica" and "juridica" in rule.rates:
            key = "juridica"
        else:
            key = "declarante" if declarante else "no_declarante"
        who = f"{supplier.person_type or 'unknown person type'}, {key.replace('_', ' ')}"
        if key != "juridica" and rule.annual_uvt is not None:
            in_year = purchase.earlier_in_year.get(concept, _ZERO) + base
            annual = rules.threshold(rule.annual_uvt)
            above = in_year > annual
            key = "above_annual" if above else key
            who += (
                f"; paid in {rules.year} with this invoice {_cents(in_year)} "
                f"{'>' if above else '≤'} {rule.annual_uvt} UVT ({annual})"
            )
        rate = rule.rates[key]
        withheld, on_what = base, ""
        if rule.aiu_min_share is not None:
            withheld, on_what = _aiu_base(result, purchase, concept, base, rule.aiu_min_share, concepts)
        result.withholdings.append(
            Withholding.on(
                tax="retefuente",
                concept=concept,
                account=rule.account,
                base=withheld,
                rate=rate,
                why=(
                    f"ReteFuente {concepts.label(concept)}: base {_cents(base)} ≥ {rule.base_uvt} UVT "
                    f"({threshold}){on_what}; supplier {who}: {rate * 100}%"
                ),
            )
        )


def _aiu_base(
    result: Assessment, purchase: Purchase, concept: str, total: Decimal, min_share: Decimal, concepts: ConceptMap
) -> tuple[Decimal, str]:
    """What an AIU service's ReteFuente is computed on, and how it was found: its lines' IVA-taxable amount
    (IVA on these services is charged on the AIU only), at least ``min_share`` of the service. Lines
    without IVA leave the AIU unknown: the minimum, and the accountant checks it."""
    lines = [ln for ln in purchase.lines if concepts.concept_of(ln.account) == concept]
    floor = _cents(total * min_share)
    share = f"{min_share * 100:.0f}%"
    taxed = sum((ln.iva_base or _ZERO for ln in lines), _ZERO)
    if taxed <= 0 or any(ln.iva_base is None for ln in lines):
        result.review.append(
            f"{concepts.label(concept)}: la factura no discrimina el IVA sobre el AIU; retención en la fuente "
            f"calculada sobre el mínimo del {share} del servicio ({floor}): verifique la base AIU"
        )
        return floor, f", on the AIU: unknown (no IVA-taxable amount), the minimum {share} = {floor}"
    if taxed < floor:
        return floor, f", on the AIU: IVA-taxable {_cents(taxed)} below the minimum {share} = {floor}"
    return taxed, f", on the AIU: the IVA-taxable {_cents(taxed)}"


def _iva_by_concept(purchase: Purchase, concepts: ConceptMap) -> dict[str, Decimal]:
    """Share the document's IVA among concepts: by the lines' own tax amounts, else by base."""
    if purchase.iva <= 0:
        return {}
    weights: dict[str, Decimal] = defaultdict(Decimal)
    use_hint = sum((ln.tax_hint for ln in purchase.lines), _ZERO) > 0
    for line in purchase.lines:
        weights[concepts.concept_of(line.account)] += line.tax_hint if use_hint else line.base
    total = sum(weights.values(), _ZERO)
    if total <= 0:
        return {}
    shares, given = {}, _ZERO
    ordered = sorted(weights)
    for concept in ordered[:-1]:
        shares[concept] = _cents(purchase.iva * weights[concept] / total)
        given += shares[concept]
    shares[ordered[-1]] = purchase.iva - given
    return shares


def _reteiva(result, bases, iva, buyer: BuyerProfile, supplier, rules: TaxRules) -> None:
    rule = rules.reteiva
    buyer_codes = buyer.responsibilities()
    if not buyer_codes & set(rule.agents):
        if iva:
            result.notes.append("ReteIVA: the buyer is not a ReteIVA agent (neither gran contribuyente nor designated)")
        return
    if not iva:
        return
    both = sorted(buyer_codes & set(supplier.responsibilities) & set(rule.none_between))
    if both:
        result.notes.append(f"ReteIVA: none between two grandes contribuyentes ({', '.join(both)})")
        return
    agent = ", ".join(sorted(buyer_codes & set(rule.agents)))
    for concept, amount in sorted(iva.items()):
        base_rule = rules.retefuente.get(concept)
        threshold = rules.threshold(base_rule.base_uvt) if base_rule else _ZERO
        if amount <= 0:
            continue
        if bases.get(concept, _ZERO) < threshold:
            result.notes.append(f"ReteIVA {concept}: purchase base {_cents(bases[concept])} below {threshold}")
            continue
        result.withholdings.append(
            Withholding.on(
                tax="reteiva",
                concept=concept,
                account=rule.account,
                base=amount,
                rate=rule.rate,
                why=f"ReteIVA: {rule.rate * 100}% of the IVA {_cents(amount)} ({concept}); buyer {agent}",
            )
        )


def _reteica(result, bases, buyer: BuyerProfile, supplier, rules: TaxRules, concepts: ConceptMap) -> None:
    city = buyer.ica_city
    if not city:
        return
    rule = rules.reteica.get(city)
    if rule is None:
        result.notes.append(f"ReteICA: no rates for municipality {city} in rules-{rules.year}.json")
        return
    if supplier.city and supplier.city != city:
        result.notes.append(
            f"ReteICA: the supplier is in municipality {supplier.city}, not {city}: not practised "
            "(check where the activity took place)"
        )
        return
    exempt = sorted(set(supplier.responsibilities) & set(rule.exempt_supplier_responsibilities))
    if exempt:
        result.notes.append(f"ReteICA {rule.name}: the supplier's RUT says {', '.join(exempt)}")
        return
    for concept, base in sorted(bases.items()):
        activity_name = concepts.ica_activities.get(concept)
        activity = rule.activities.get(activity_name or "")
        if activity is None:
            continue
        threshold = rules.threshold(activity.base_uvt)
        if base <= 0 or base < threshold:
            result.notes.append(f"ReteICA {concept}: base {_cents(base)} below {activity.base_uvt} UVT = {threshold}")
            continue
        rate = activity.per_mil / 1000
        result.withholdings.append(
            Withholding.on(
                tax="reteica",
                concept=concept,
                account=rule.account,
                base=base,
                rate=rate,
                why=f"ReteICA {rule.name}: {activity_name} {activity.per_mil} per mil on {_cents(base)}",
            )
        )
