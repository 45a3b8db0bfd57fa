"""Realistic sample data: N companies × M DIAN purchase documents as real UBL 2.1 files in an inbox.

Each company has ~20 recurring suppliers whose line descriptions repeat (what supplier memory
learns from), plus occasional one-off suppliers. Documents are mostly AttachedDocuments wrapping
an Invoice, some bare Invoices, ~3 % credit notes and a few debit notes; some files are zips
holding the XML and a PDF. A handful of bad files per company exercise the quarantine.

The concept table (description → expected PUC sub-account) is include/sample/concepts.json. Beside
the inbox (``<inbox>-sample/``, so the inbox holds only what suppliers sent) the generator writes
``companies.csv`` and ``manifest.json``: every file's expected ingest outcome and every line's
expected account, for tests and benchmarks.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import random
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from quincena.core import config, periods
from quincena.core.companies import Company
from quincena.core.nit import check_digit

MANIFEST = "manifest.json"
CENT = Decimal("0.01")
ZERO = Decimal(0)
RECURRING_SUPPLIERS = 20
ONE_OFF_SHARE = 0.08
CREDIT_NOTE_SHARE = 0.03
DEBIT_NOTE_SHARE = 0.01
ATTACHED_SHARE = 0.75  # the rest are bare documents
ZIP_SHARE = 0.25
BAD_KINDS = (
    "malformed_xml",
    "not_dian",
    "wrong_customer",
    "xxe",
    "billion_laughs",
    "duplicate_cufe",
    "duplicate_bytes",
)
# What ingest must make of each bad file: (outcome, reason_code).
BAD_EXPECTED = {
    "malformed_xml": ("quarantined", "malformed_xml"),
    "not_dian": ("quarantined", "not_dian"),
    "wrong_customer": ("quarantined", "wrong_customer"),
    "xxe": ("quarantined", "hostile_xml"),
    "billion_laughs": ("quarantined", "hostile_xml"),
    "duplicate_cufe": ("duplicate", "duplicate"),  # same CUFE in another envelope: other bytes
    "duplicate_bytes": ("duplicate", "same_file"),  # same bytes as a good file, at another path
}
TAXES = {  # tax kind → (scheme id, scheme name, percent)
    "iva19": ("01", "IVA", Decimal("19.00")),
    "iva5": ("01", "IVA", Decimal("5.00")),
    "iva0": ("01", "IVA", Decimal("0.00")),
    "inc8": ("04", "INC", Decimal("8.00")),
}
UBL_NS = (
    'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
    'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2" '
    'xmlns:ext="urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2" '
    'xmlns:sts="dian:gov:co:facturaelectronica:Structures-2-1"'
)
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


# --- the concept table -----------------------------------------------------------------------


@dataclass(frozen=True)
class ItemSpec:
    description: str
    unit: str
    price: tuple[int, int]
    quantity: tuple[int, int]
    tax: str  # iva19 | iva5 | iva0 | excluded | inc8
    quantity_decimals: int


@dataclass(frozen=True)
class Concept:
    id: str
    expected_account: str
    label: str
    withholding: str
    frequency: int
    items_per_supplier: tuple[int, int]
    suppliers: tuple[str, ...]
    items: tuple[ItemSpec, ...]


@functools.cache
def _concept_file() -> dict[str, Any]:
    path = config.include_dir() / "sample" / "concepts.json"
    return json.loads(path.read_text(encoding="utf-8"))


def load_concepts() -> tuple[Concept, ...]:
    """The purchase concepts with the PUC sub-account an accountant would expect."""
    return tuple(
        Concept(
            id=c["id"],
            expected_account=c["expected_account"],
            label=c["label"],
            withholding=c["withholding"],
            frequency=c["frequency"],
            items_per_supplier=tuple(c["items_per_supplier"]),
            suppliers=tuple(c["suppliers"]),
            items=tuple(
                ItemSpec(
                    description=i["description"],
                    unit=i["unit"],
                    price=tuple(i["price"]),
                    quantity=tuple(i["quantity"]),
                    tax=i["tax"],
                    quantity_decimals=i["quantity_decimals"],
                )
                for i in c["items"]
            ),
        )
        for c in _concept_file()["concepts"]
    )


def expected_account_by_description() -> dict[str, str]:
    """Line description → expected PUC sub-account, for every description the generator can write."""
    return {item.description: c.expected_account for c in load_concepts() for item in c.items}


# --- the model of what we generate -----------------------------------------------------------


@dataclass(frozen=True)
class _Party:
    nit: str
    dv: int
    name: str
    person_type: str = "1"  # 1 legal person, 2 natural person


@dataclass(frozen=True)
class _SupplierItem:
    spec: ItemSpec
    code: str
    price: Decimal


@dataclass
class _Supplier:
    party: _Party
    concept: Concept
    prefix: str
    items: tuple[_SupplierItem, ...]
    next_number: int


@dataclass(frozen=True)
class _Line:
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
class _Tax:
    scheme_id: str
    scheme_name: str
    taxable: Decimal
    amount: Decimal
    percent: Decimal


@dataclass
class _Doc:
    kind: str  # invoice | credit_note | debit_note
    number: str
    issue_date: date
    issue_time: str
    supplier: _Supplier
    customer: _Party
    lines: list[_Line]
    taxes: list[_Tax] = field(default_factory=list)
    withholdings: list[_Tax] = field(default_factory=list)
    line_extension: Decimal = ZERO
    tax_exclusive: Decimal = ZERO
    tax_inclusive: Decimal = ZERO
    prepaid: Decimal = ZERO
    payable: Decimal = ZERO
    cufe: str = ""
    reference: _Doc | None = None  # the invoice a note amends


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _random_nit(rng: random.Random, used: set[str], natural: bool = False) -> tuple[str, int]:
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
    return value.quantize(Decimal(100)) if value >= 10000 else _money(value)


# --- companies and suppliers -----------------------------------------------------------------


def _companies(rng: random.Random, count: int, used: set[str]) -> list[Company]:
    names = [f"{k} {n}" for k in _COMPANY_KINDS for n in _COMPANY_NAMES]
    rng.shuffle(names)
    result = []
    for index in range(count):
        base = names[index % len(names)] + ("" if index < len(names) else f" {index // len(names) + 1}")
        suffix = rng.choice(("S.A.S.", "S.A.S.", "Ltda", "S.A."))
        nit, dv = _random_nit(rng, used)
        budget = Decimal(rng.choice((5, 10, 20, 50))) if rng.random() < 0.5 else None
        result.append(Company(nit=nit, dv=dv, name=f"{base} {suffix}", active=True, monthly_budget_usd=budget))
    return result


def _make_supplier(rng: random.Random, party: _Party, concept: Concept) -> _Supplier:
    low, high = concept.items_per_supplier
    specs = rng.sample(concept.items, min(len(concept.items), rng.randint(low, high)))
    items = tuple(_SupplierItem(spec=s, code=f"{rng.randint(1000, 99999)}", price=_price(rng, *s.price)) for s in specs)
    letters = "".join(ch for ch in party.name.upper() if ch.isalpha() and ch.isascii())
    prefix = (letters[:2] + rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") + rng.choice("EFVT"))[:4]
    return _Supplier(party=party, concept=concept, prefix=prefix, items=items, next_number=rng.randint(1000, 90000))


def _supplier_pool(rng: random.Random, concepts: Sequence[Concept], used: set[str]) -> list[_Supplier]:
    """Suppliers many companies share (utilities, landlords, stationers...)."""
    pool = []
    for concept in concepts:
        for name in concept.suppliers:
            nit, dv = _random_nit(rng, used)
            pool.append(_make_supplier(rng, _Party(nit, dv, name), concept))
    return pool


def _one_off_supplier(rng: random.Random, concepts: Sequence[Concept], used: set[str]) -> _Supplier:
    concept = rng.choice(concepts)
    natural = rng.random() < 0.4
    if natural:
        name = f"{rng.choice(('Carlos', 'Luz Marina', 'Jorge', 'Ana María', 'Andrés'))} {rng.choice(_SURNAMES)}"
    else:
        name = f"{rng.choice(_ONE_OFF_KINDS)} {rng.choice(_SURNAMES)} y Cía S.A.S."
    nit, dv = _random_nit(rng, used, natural=natural)
    return _make_supplier(rng, _Party(nit, dv, name, "2" if natural else "1"), concept)


def _company_suppliers(rng: random.Random, pool: list[_Supplier]) -> tuple[list[_Supplier], list[float]]:
    """~20 recurring suppliers with purchase weights (papelería often, revisoría once)."""
    chosen = rng.sample(pool, min(RECURRING_SUPPLIERS, len(pool)))  # shared objects: one numbering per supplier
    weights = [s.concept.frequency * rng.uniform(0.6, 1.4) for s in chosen]
    return chosen, weights


# --- amounts ---------------------------------------------------------------------------------


def _line(rng: random.Random, item: _SupplierItem, concept_id: str, jitter: bool = True) -> _Line:
    spec = item.spec
    low, high = spec.quantity
    if spec.quantity_decimals:
        scale = 10**spec.quantity_decimals
        quantity = Decimal(rng.randint(low * scale, high * scale)) / scale
    else:
        quantity = Decimal(rng.randint(low, high))
    price = item.price
    if jitter and spec.unit != "MON":
        price = _money(price * Decimal(rng.randint(95, 105)) / 100)
    return _make_line(
        spec.description, item.code, spec.unit, quantity, spec.quantity_decimals, price, spec.tax, concept_id
    )


def _make_line(
    description: str, code: str, unit: str, quantity: Decimal, decimals: int, price: Decimal, tax: str, concept_id: str
) -> _Line:
    total = _money(quantity * price)
    tax_amount = _money(total * TAXES[tax][2] / 100) if tax in TAXES else ZERO
    return _Line(description, code, unit, quantity, decimals, price, total, tax, tax_amount, concept_id)


def _settle(doc: _Doc, withholding: dict[str, Any] | None, uvt: Decimal, prepaid_share: Decimal = ZERO) -> None:
    """Document totals from the lines, consistent to the peso (DIAN's rules for each total)."""
    _balance_line_taxes(doc)
    groups: dict[tuple[str, str, Decimal], list[_Line]] = {}
    for line in doc.lines:
        if line.tax in TAXES:
            groups.setdefault(TAXES[line.tax], []).append(line)
    doc.taxes = [
        _Tax(scheme, name, sum((ln.total for ln in lines), ZERO), sum((ln.tax_amount for ln in lines), ZERO), pct)
        for (scheme, name, pct), lines in sorted(groups.items(), key=lambda kv: (kv[0][0], -kv[0][2]))
    ]
    doc.line_extension = sum((ln.total for ln in doc.lines), ZERO)
    doc.tax_exclusive = sum((ln.total for ln in doc.lines if ln.tax in TAXES), ZERO)  # base imponible
    doc.tax_inclusive = doc.line_extension + sum((t.amount for t in doc.taxes), ZERO)
    doc.prepaid = _money(doc.tax_inclusive * prepaid_share).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    doc.payable = doc.tax_inclusive - doc.prepaid
    doc.withholdings = _withholdings(doc, withholding, uvt) if withholding else []


def _balance_line_taxes(doc: _Doc) -> None:
    """Each tax subtotal is its base times its rate, rounded once; the last line of the group absorbs
    the cent the per-line roundings lose, so the lines still add up to the subtotal exactly."""
    last: dict[str, int] = {}
    for index, line in enumerate(doc.lines):
        if line.tax in TAXES:
            last[line.tax] = index
    for tax, index in last.items():
        lines = [ln for ln in doc.lines if ln.tax == tax]
        exact = _money(sum((ln.total for ln in lines), ZERO) * TAXES[tax][2] / 100)
        drift = exact - sum((ln.tax_amount for ln in lines), ZERO)
        if drift:
            line = doc.lines[index]
            doc.lines[index] = replace(line, tax_amount=line.tax_amount + drift)


def _withholdings(doc: _Doc, rule: dict[str, Any], uvt: Decimal) -> list[_Tax]:
    """Withholdings the buyer is expected to practise (informative in the XML, not subtracted)."""
    base = doc.line_extension
    if base < uvt * rule["min_uvt"]:
        return []
    result = []
    retefuente = Decimal(rule["retefuente"])
    if retefuente:
        result.append(_Tax("06", "ReteRenta", base, _money(base * retefuente / 100), retefuente))
    iva = sum((t.amount for t in doc.taxes if t.scheme_id == "01"), ZERO)
    if rule.get("reteiva") and iva > 0:
        result.append(_Tax("05", "ReteIVA", iva, _money(iva * 15 / 100), Decimal("15.00")))
    per_mil = Decimal(rule["reteica_per_mil"])
    if per_mil and rule.get("reteica"):
        percent = per_mil / 10
        result.append(_Tax("07", "ReteICA", base, _money(base * percent / 100), percent))
    return result


def _cufe(doc: _Doc, technical_key: str) -> str:
    """SHA-384 over the key fields, in the order of DIAN's CUFE/CUDE formula."""
    taxes = {t.scheme_id: sum((x.amount for x in doc.taxes if x.scheme_id == t.scheme_id), ZERO) for t in doc.taxes}
    parts = [
        doc.number,
        doc.issue_date.isoformat(),
        doc.issue_time,
        f"{doc.line_extension:.2f}",
        "01",
        f"{taxes.get('01', ZERO):.2f}",
        "04",
        f"{taxes.get('04', ZERO):.2f}",
        "03",
        f"{taxes.get('03', ZERO):.2f}",
        f"{doc.payable:.2f}",
        doc.supplier.party.nit,
        doc.customer.nit,
        technical_key,
        "1",
    ]
    return hashlib.sha384("".join(parts).encode()).hexdigest()


# --- XML -------------------------------------------------------------------------------------


def _x(value: object) -> str:
    return escape(str(value))


def _party_xml(role: str, party: _Party, with_address: bool = True) -> str:
    address = (
        "<cac:PhysicalLocation><cac:Address><cbc:ID>11001</cbc:ID><cbc:CityName>Bogotá, D.C.</cbc:CityName>"
        "<cbc:CountrySubentity>Bogotá</cbc:CountrySubentity><cbc:CountrySubentityCode>11</cbc:CountrySubentityCode>"
        "<cac:Country><cbc:IdentificationCode>CO</cbc:IdentificationCode></cac:Country></cac:Address>"
        "</cac:PhysicalLocation>"
        if with_address
        else ""
    )
    company_id = (
        f'<cbc:CompanyID schemeAgencyID="195" schemeAgencyName="CO, DIAN (Dirección de Impuestos y Aduanas '
        f'Nacionales)" schemeID="{party.dv}" schemeName="31">{party.nit}</cbc:CompanyID>'
    )
    return (
        f"<cac:{role}><cbc:AdditionalAccountID>{party.person_type}</cbc:AdditionalAccountID><cac:Party>"
        f"<cac:PartyName><cbc:Name>{_x(party.name)}</cbc:Name></cac:PartyName>{address}"
        f"<cac:PartyTaxScheme><cbc:RegistrationName>{_x(party.name)}</cbc:RegistrationName>{company_id}"
        '<cbc:TaxLevelCode listName="48">O-13</cbc:TaxLevelCode>'
        "<cac:TaxScheme><cbc:ID>01</cbc:ID><cbc:Name>IVA</cbc:Name></cac:TaxScheme></cac:PartyTaxScheme>"
        f"<cac:PartyLegalEntity><cbc:RegistrationName>{_x(party.name)}</cbc:RegistrationName>{company_id}"
        f"</cac:PartyLegalEntity></cac:Party></cac:{role}>"
    )


def _percent(value: Decimal) -> str:
    """Two decimals, or more when the rate has them (ReteICA 9.66 per mil is 0.966 %)."""
    return f"{value:.2f}" if value == value.quantize(CENT) else str(value.normalize())


def _tax_total_xml(tag: str, taxes: list[_Tax]) -> str:
    out = []
    for scheme in dict.fromkeys(t.scheme_id for t in taxes):
        subs = [t for t in taxes if t.scheme_id == scheme]
        total = sum((t.amount for t in subs), ZERO)
        body = "".join(
            f'<cac:TaxSubtotal><cbc:TaxableAmount currencyID="COP">{t.taxable:.2f}</cbc:TaxableAmount>'
            f'<cbc:TaxAmount currencyID="COP">{t.amount:.2f}</cbc:TaxAmount><cac:TaxCategory>'
            f"<cbc:Percent>{_percent(t.percent)}</cbc:Percent><cac:TaxScheme><cbc:ID>{t.scheme_id}</cbc:ID>"
            f"<cbc:Name>{t.scheme_name}</cbc:Name></cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal>"
            for t in subs
        )
        out.append(f'<cac:{tag}><cbc:TaxAmount currencyID="COP">{total:.2f}</cbc:TaxAmount>{body}</cac:{tag}>')
    return "".join(out)


def _line_xml(doc: _Doc, index: int, line: _Line) -> str:
    tag, qty_tag = {
        "invoice": ("InvoiceLine", "InvoicedQuantity"),
        "credit_note": ("CreditNoteLine", "CreditedQuantity"),
        "debit_note": ("DebitNoteLine", "DebitedQuantity"),
    }[doc.kind]
    quantity = f"{line.quantity:.{max(line.quantity_decimals, 2)}f}"
    taxes = (
        _tax_total_xml("TaxTotal", [_Tax(*TAXES[line.tax][:2], line.total, line.tax_amount, TAXES[line.tax][2])])
        if line.tax in TAXES
        else ""
    )
    return (
        f'<cac:{tag}><cbc:ID>{index}</cbc:ID><cbc:{qty_tag} unitCode="{line.unit}">{quantity}</cbc:{qty_tag}>'
        f'<cbc:LineExtensionAmount currencyID="COP">{line.total:.2f}</cbc:LineExtensionAmount>{taxes}'
        f"<cac:Item><cbc:Description>{_x(line.description)}</cbc:Description>"
        f"<cac:SellersItemIdentification><cbc:ID>{line.code}</cbc:ID></cac:SellersItemIdentification>"
        f'<cac:StandardItemIdentification><cbc:ID schemeID="999">{line.code}</cbc:ID>'
        "</cac:StandardItemIdentification></cac:Item>"
        f'<cac:Price><cbc:PriceAmount currencyID="COP">{line.price:.2f}</cbc:PriceAmount>'
        f'<cbc:BaseQuantity unitCode="{line.unit}">1.00</cbc:BaseQuantity></cac:Price></cac:{tag}>'
    )


_ROOTS = {
    "invoice": ("Invoice", "10", "CUFE-SHA384", "InvoiceTypeCode", "01", "LegalMonetaryTotal"),
    "credit_note": ("CreditNote", "20", "CUDE-SHA384", "CreditNoteTypeCode", "91", "LegalMonetaryTotal"),
    "debit_note": ("DebitNote", "30", "CUDE-SHA384", "DebitNoteTypeCode", "92", "RequestedMonetaryTotal"),
}


def document_xml(doc: _Doc) -> str:
    """The UBL 2.1 Invoice / CreditNote / DebitNote as DIAN's Anexo Técnico 1.9 shapes it."""
    root, customization, scheme, type_tag, type_code, totals_tag = _ROOTS[doc.kind]
    due = doc.issue_date + timedelta(days=30)
    reference = ""
    if doc.reference is not None:
        ref = doc.reference
        response = (
            "<cac:DiscrepancyResponse><cbc:ReferenceID>{n}</cbc:ReferenceID><cbc:ResponseCode>{c}</cbc:ResponseCode>"
            "<cbc:Description>{d}</cbc:Description></cac:DiscrepancyResponse>"
        ).format(
            n=ref.number,
            c="2" if doc.kind == "credit_note" else "3",
            d="Devolución parcial de los bienes" if doc.kind == "credit_note" else "Cambio del valor",
        )
        reference = (
            f"{response}<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>{ref.number}</cbc:ID>"
            f'<cbc:UUID schemeName="CUFE-SHA384">{ref.cufe}</cbc:UUID>'
            f"<cbc:IssueDate>{ref.issue_date.isoformat()}</cbc:IssueDate></cac:InvoiceDocumentReference>"
            "</cac:BillingReference>"
        )
    payment = (
        f"<cac:PaymentMeans><cbc:ID>2</cbc:ID><cbc:PaymentMeansCode>42</cbc:PaymentMeansCode>"
        f"<cbc:PaymentDueDate>{due.isoformat()}</cbc:PaymentDueDate></cac:PaymentMeans>"
    )
    due_xml = f"<cbc:DueDate>{due.isoformat()}</cbc:DueDate>" if doc.kind == "invoice" else ""
    totals = (
        f"<cac:{totals_tag}>"
        f'<cbc:LineExtensionAmount currencyID="COP">{doc.line_extension:.2f}</cbc:LineExtensionAmount>'
        f'<cbc:TaxExclusiveAmount currencyID="COP">{doc.tax_exclusive:.2f}</cbc:TaxExclusiveAmount>'
        f'<cbc:TaxInclusiveAmount currencyID="COP">{doc.tax_inclusive:.2f}</cbc:TaxInclusiveAmount>'
        '<cbc:AllowanceTotalAmount currencyID="COP">0.00</cbc:AllowanceTotalAmount>'
        '<cbc:ChargeTotalAmount currencyID="COP">0.00</cbc:ChargeTotalAmount>'
        f'<cbc:PrepaidAmount currencyID="COP">{doc.prepaid:.2f}</cbc:PrepaidAmount>'
        f'<cbc:PayableAmount currencyID="COP">{doc.payable:.2f}</cbc:PayableAmount></cac:{totals_tag}>'
    )
    lines = "".join(_line_xml(doc, i, line) for i, line in enumerate(doc.lines, start=1))
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
        f'<{root} xmlns="urn:oasis:names:specification:ubl:schema:xsd:{root}-2" {UBL_NS}>'
        f"{_extensions(doc)}"
        "<cbc:UBLVersionID>UBL 2.1</cbc:UBLVersionID>"
        f"<cbc:CustomizationID>{customization}</cbc:CustomizationID>"
        "<cbc:ProfileID>DIAN 2.1: Factura Electrónica de Venta</cbc:ProfileID>"
        "<cbc:ProfileExecutionID>1</cbc:ProfileExecutionID>"
        f"<cbc:ID>{doc.number}</cbc:ID>"
        f'<cbc:UUID schemeID="1" schemeName="{scheme}">{doc.cufe}</cbc:UUID>'
        f"<cbc:IssueDate>{doc.issue_date.isoformat()}</cbc:IssueDate><cbc:IssueTime>{doc.issue_time}</cbc:IssueTime>"
        f"{due_xml}<cbc:{type_tag}>{type_code}</cbc:{type_tag}>"
        "<cbc:DocumentCurrencyCode>COP</cbc:DocumentCurrencyCode>"
        f"<cbc:LineCountNumeric>{len(doc.lines)}</cbc:LineCountNumeric>{reference}"
        f"{_party_xml('AccountingSupplierParty', doc.supplier.party)}"
        f"{_party_xml('AccountingCustomerParty', doc.customer)}{payment}"
        f"{_tax_total_xml('TaxTotal', doc.taxes)}{_tax_total_xml('WithholdingTaxTotal', doc.withholdings)}"
        f"{totals}{lines}</{root}>"
    )


def _extensions(doc: _Doc) -> str:
    return (
        "<ext:UBLExtensions><ext:UBLExtension><ext:ExtensionContent><sts:DianExtensions>"
        '<sts:InvoiceSource><cbc:IdentificationCode listAgencyID="6" listAgencyName="United Nations Economic '
        'Commission for Europe" '
        'listSchemeURI="urn:oasis:names:specification:ubl:codelist:gc:CountryIdentificationCode-2.1">'
        "CO</cbc:IdentificationCode></sts:InvoiceSource>"
        f'<sts:SoftwareProvider><sts:ProviderID schemeAgencyID="195" schemeID="{doc.supplier.party.dv}" '
        f'schemeName="31">{doc.supplier.party.nit}</sts:ProviderID><sts:SoftwareID>quincena-sample</sts:SoftwareID>'
        "</sts:SoftwareProvider>"
        f"<sts:QRCode>NumFac: {doc.number} FecFac: {doc.issue_date.isoformat()} NitFac: {doc.supplier.party.nit} "
        f"DocAdq: {doc.customer.nit} ValTolFac: {doc.payable:.2f} CUFE: {doc.cufe} "
        f"https://catalogo-vpfe.dian.gov.co/document/searchqr?documentkey={doc.cufe}</sts:QRCode>"
        "</sts:DianExtensions></ext:ExtensionContent></ext:UBLExtension></ext:UBLExtensions>"
    )


def _application_response(doc: _Doc) -> str:
    """A fake but well-formed DIAN validation receipt (ResponseCode 02 = accepted)."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
        f'<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2" {UBL_NS}>'
        "<cbc:UBLVersionID>UBL 2.1</cbc:UBLVersionID><cbc:CustomizationID>1</cbc:CustomizationID>"
        "<cbc:ProfileID>DIAN 2.1</cbc:ProfileID><cbc:ProfileExecutionID>1</cbc:ProfileExecutionID>"
        f"<cbc:ID>{int(doc.cufe[:12], 16)}</cbc:ID>"
        f'<cbc:UUID schemeName="CUDE-SHA384">{hashlib.sha384(doc.cufe.encode()).hexdigest()}</cbc:UUID>'
        f"<cbc:IssueDate>{doc.issue_date.isoformat()}</cbc:IssueDate><cbc:IssueTime>{doc.issue_time}</cbc:IssueTime>"
        "<cac:SenderParty><cac:PartyTaxScheme><cbc:RegistrationName>Unidad Especial Dirección de Impuestos y "
        'Aduanas Nacionales</cbc:RegistrationName><cbc:CompanyID schemeID="4" schemeName="31">800197268'
        "</cbc:CompanyID><cac:TaxScheme><cbc:ID>01</cbc:ID><cbc:Name>IVA</cbc:Name></cac:TaxScheme>"
        "</cac:PartyTaxScheme></cac:SenderParty>"
        "<cac:DocumentResponse><cac:Response><cbc:ResponseCode>02</cbc:ResponseCode>"
        "<cbc:Description>Documento validado por la DIAN</cbc:Description></cac:Response>"
        f"<cac:DocumentReference><cbc:ID>{doc.number}</cbc:ID>"
        f'<cbc:UUID schemeName="{_ROOTS[doc.kind][2]}">{doc.cufe}</cbc:UUID></cac:DocumentReference>'
        "</cac:DocumentResponse></ApplicationResponse>"
    )


def attached_xml(doc: _Doc, inner: str | None = None) -> str:
    """The AttachedDocument container a buyer receives by e-mail, the document in CDATA."""
    inner = document_xml(doc) if inner is None else inner
    supplier, customer = doc.supplier.party, doc.customer

    def tax_party(tag: str, party: _Party) -> str:
        return (
            f"<cac:{tag}><cac:PartyTaxScheme><cbc:RegistrationName>{_x(party.name)}</cbc:RegistrationName>"
            f'<cbc:CompanyID schemeAgencyID="195" schemeID="{party.dv}" schemeName="31">{party.nit}</cbc:CompanyID>'
            "<cbc:TaxLevelCode>O-13</cbc:TaxLevelCode><cac:TaxScheme><cbc:ID>01</cbc:ID><cbc:Name>IVA</cbc:Name>"
            f"</cac:TaxScheme></cac:PartyTaxScheme></cac:{tag}>"
        )

    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
        f'<AttachedDocument xmlns="urn:oasis:names:specification:ubl:schema:xsd:AttachedDocument-2" {UBL_NS}>'
        "<cbc:UBLVersionID>UBL 2.1</cbc:UBLVersionID><cbc:CustomizationID>Documentos adjuntos</cbc:CustomizationID>"
        "<cbc:ProfileID>Factura Electrónica de Venta</cbc:ProfileID><cbc:ProfileExecutionID>1</cbc:ProfileExecutionID>"
        f"<cbc:ID>{doc.number}</cbc:ID><cbc:IssueDate>{doc.issue_date.isoformat()}</cbc:IssueDate>"
        f"<cbc:IssueTime>{doc.issue_time}</cbc:IssueTime>"
        "<cbc:DocumentType>Contenedor de Factura Electrónica</cbc:DocumentType>"
        f"<cbc:ParentDocumentID>{doc.number}</cbc:ParentDocumentID>"
        f"{tax_party('SenderParty', supplier)}{tax_party('ReceiverParty', customer)}"
        "<cac:Attachment><cac:ExternalReference><cbc:MimeCode>text/xml</cbc:MimeCode>"
        f"<cbc:EncodingCode>UTF-8</cbc:EncodingCode><cbc:Description><![CDATA[{inner}]]></cbc:Description>"
        "</cac:ExternalReference></cac:Attachment>"
        "<cac:ParentDocumentLineReference><cbc:LineID>1</cbc:LineID><cac:DocumentReference>"
        f'<cbc:ID>{doc.number}</cbc:ID><cbc:UUID schemeName="{_ROOTS[doc.kind][2]}">{doc.cufe}</cbc:UUID>'
        f"<cbc:IssueDate>{doc.issue_date.isoformat()}</cbc:IssueDate>"
        "<cbc:DocumentType>ApplicationResponse</cbc:DocumentType><cac:Attachment><cac:ExternalReference>"
        "<cbc:MimeCode>text/xml</cbc:MimeCode><cbc:EncodingCode>UTF-8</cbc:EncodingCode>"
        f"<cbc:Description><![CDATA[{_application_response(doc)}]]></cbc:Description>"
        "</cac:ExternalReference></cac:Attachment><cac:ResultOfVerification>"
        "<cbc:ValidatorID>Unidad Especial Dirección de Impuestos y Aduanas Nacionales</cbc:ValidatorID>"
        f"<cbc:ValidationResultCode>02</cbc:ValidationResultCode><cbc:ValidationDate>{doc.issue_date.isoformat()}"
        f"</cbc:ValidationDate><cbc:ValidationTime>{doc.issue_time}</cbc:ValidationTime></cac:ResultOfVerification>"
        "</cac:DocumentReference></cac:ParentDocumentLineReference></AttachedDocument>"
    )


def _fake_pdf(doc: _Doc) -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        + f"% representacion grafica {doc.number}\n".encode()
        + b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def _zip_bytes(members: list[tuple[str, bytes]], when: date) -> bytes:
    """Deterministic zip: fixed timestamps, so the same seed gives the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(when.year, when.month, when.day, 8, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


# --- documents -------------------------------------------------------------------------------


@dataclass
class _Buyer:
    party: _Party
    reteiva_agent: bool  # gran contribuyente: withholds 15 % of the IVA
    reteica_agent: bool


@dataclass
class _Context:
    rng: random.Random
    rules: dict[str, dict[str, Any]]
    uvt: Decimal
    start: date
    end: date  # exclusive


def _time(rng: random.Random) -> str:
    return f"{rng.randint(7, 19):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}-05:00"


def _number(supplier: _Supplier, prefix: str = "") -> str:
    number = f"{prefix or supplier.prefix}{supplier.next_number}"
    supplier.next_number += 1
    return number


def _rule(ctx: _Context, concept: Concept, buyer: _Buyer) -> dict[str, Any]:
    rule = dict(ctx.rules[concept.withholding])
    rule["reteiva"] = bool(rule.get("reteiva")) and buyer.reteiva_agent
    rule["reteica"] = buyer.reteica_agent
    return rule


def _invoice(ctx: _Context, supplier: _Supplier, buyer: _Buyer, issue: date) -> _Doc:
    rng = ctx.rng
    count = rng.randint(1, len(supplier.items))
    items = sorted(rng.sample(range(len(supplier.items)), count))
    lines = [_line(rng, supplier.items[i], supplier.concept.id) for i in items]
    doc = _Doc("invoice", _number(supplier), issue, _time(rng), supplier, buyer.party, lines)
    prepaid = Decimal("0.3") if rng.random() < 0.05 else ZERO  # an anticipo paid before the invoice
    _settle(doc, _rule(ctx, supplier.concept, buyer), ctx.uvt, prepaid)
    doc.cufe = _cufe(doc, _technical_key(supplier))
    return doc


def _technical_key(supplier: _Supplier) -> str:
    return hashlib.sha256(f"clave-tecnica-{supplier.party.nit}".encode()).hexdigest()


def _note_date(ctx: _Context, after: date) -> date:
    return after + timedelta(days=ctx.rng.randint(0, max((ctx.end - after).days - 1, 0)))


def _credit_note(ctx: _Context, ref: _Doc) -> _Doc:
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
    doc = _Doc("credit_note", _number(ref.supplier, "NC"), issue, _time(rng), ref.supplier, ref.customer, lines)
    doc.reference = ref
    _settle(doc, None, ctx.uvt)
    doc.cufe = _cufe(doc, "pin-" + ref.supplier.party.nit)
    return doc


def _debit_note(ctx: _Context, ref: _Doc) -> _Doc:
    """A price adjustment on one line of an earlier invoice: same concept, same account."""
    rng = ctx.rng
    line = rng.choice(ref.lines)
    price = _money(line.total * Decimal(rng.randint(2, 8)) / 100)
    adjusted = _make_line(
        f"Ajuste en precio: {line.description}", line.code, line.unit, Decimal(1), 0, price, line.tax, line.concept_id
    )
    issue = _note_date(ctx, ref.issue_date)
    doc = _Doc("debit_note", _number(ref.supplier, "ND"), issue, _time(rng), ref.supplier, ref.customer, [adjusted])
    doc.reference = ref
    _settle(doc, None, ctx.uvt)
    doc.cufe = _cufe(doc, "pin-" + ref.supplier.party.nit)
    return doc


def _documents(ctx: _Context, buyer: _Buyer, suppliers: list[_Supplier], weights: list[float], total: int, used):
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
        invoices.append(_invoice(ctx, supplier, buyer, issue))
    notes = [_credit_note(ctx, rng.choice(invoices)) for _ in range(credits)]
    notes += [_debit_note(ctx, rng.choice(invoices)) for _ in range(debits)]
    return invoices, notes


# --- files -----------------------------------------------------------------------------------


@dataclass
class _Writer:
    inbox: Path
    company_nit: str
    files: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0

    def write(self, folder: str, name: str, data: bytes, kind: str, outcome: str, code: str | None = None) -> str:
        directory = self.inbox / self.company_nit / folder
        directory.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)
        relative = f"{self.company_nit}/{folder}/{name}"
        self.files.append({"path": relative, "kind": kind, "expected_outcome": outcome, "reason_code": code})
        return relative

    def base_name(self, doc: _Doc) -> str:
        self.seq += 1
        return f"{doc.supplier.party.nit:0>10}{doc.issue_date:%y}{self.seq:08x}"


_BARE_PREFIX = {"invoice": "fv", "credit_note": "nc", "debit_note": "nd"}


def _write_document(writer: _Writer, rng: random.Random, doc: _Doc) -> tuple[str, bytes, bool]:
    """Write one good document in a realistic envelope; returns (path, bytes written, attached?)."""
    attached = rng.random() < ATTACHED_SHARE
    prefix = "ad" if attached else _BARE_PREFIX[doc.kind]
    xml = (attached_xml(doc) if attached else document_xml(doc)).encode("utf-8")
    base = writer.base_name(doc)
    folder = doc.issue_date.isoformat()
    if rng.random() < ZIP_SHARE:
        data = _zip_bytes([(f"{prefix}{base}.xml", xml), (f"{prefix}{base}.pdf", _fake_pdf(doc))], doc.issue_date)
        return writer.write(folder, f"z{base}.zip", data, "document", "ingested"), data, attached
    return writer.write(folder, f"{prefix}{base}.xml", xml, "document", "ingested"), xml, attached


_XXE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" {ns}>'
    "<cbc:ID>{number}</cbc:ID><cbc:Note>&xxe;</cbc:Note></Invoice>\n"
)
_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + ']>\n<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><cbc:Note '
    'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">&lol9;</cbc:Note></Invoice>\n'
)


def _write_bad(kind: str, ctx: _Context, writer: _Writer, buyer: _Buyer, suppliers, good, used) -> None:
    """One bad file of the given kind; ``good`` holds (doc, path, bytes, attached) of good files."""
    rng = ctx.rng
    outcome, code = BAD_EXPECTED[kind]
    supplier = rng.choice(suppliers)
    issue = ctx.start + timedelta(days=rng.randrange((ctx.end - ctx.start).days))
    folder = issue.isoformat()
    if kind == "malformed_xml":
        doc = _invoice(ctx, supplier, buyer, issue)
        text = attached_xml(doc)
        data = text[: int(len(text) * rng.uniform(0.3, 0.8))].encode("utf-8")  # a cut-off download
        writer.write(folder, f"ad{writer.base_name(doc)}.xml", data, kind, outcome, code)
    elif kind == "not_dian":
        data = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<PedidoCompra xmlns="urn:erp-local:pedidos:1.0">'
            f"<Numero>OC-{rng.randint(1000, 9999)}</Numero><Proveedor>{_x(supplier.party.name)}</Proveedor>"
            f"<Fecha>{issue.isoformat()}</Fecha><Total>{rng.randint(100000, 900000)}.00</Total></PedidoCompra>\n"
        ).encode()
        writer.write(folder, f"pedido-{rng.randint(10000, 99999)}.xml", data, kind, outcome, code)
    elif kind == "wrong_customer":
        nit, dv = _random_nit(rng, used)
        other = _Buyer(_Party(nit, dv, "Otra Empresa Cliente S.A.S."), buyer.reteiva_agent, buyer.reteica_agent)
        doc = _invoice(ctx, supplier, other, issue)
        writer.write(folder, f"ad{writer.base_name(doc)}.xml", attached_xml(doc).encode(), kind, outcome, code)
    elif kind == "xxe":
        data = _XXE.format(ns=UBL_NS, number=_number(supplier)).encode()
        writer.write(folder, f"fv{rng.randint(10**7, 10**8)}.xml", data, kind, outcome, code)
    elif kind == "billion_laughs":
        writer.write(folder, f"fv{rng.randint(10**7, 10**8)}.xml", _LAUGHS.encode(), kind, outcome, code)
    elif kind == "duplicate_cufe":
        doc, _, _, attached = rng.choice([g for g in good if g[0].kind == "invoice"])
        data = (document_xml(doc) if attached else attached_xml(doc)).encode()  # other envelope: other bytes
        name = f"{'fv' if attached else 'ad'}{writer.base_name(doc)}.xml"
        writer.write("reenviados", name, data, kind, outcome, code)
    elif kind == "duplicate_bytes":
        _, path, data, _ = rng.choice(good)
        writer.write("reenviados", "copia-" + path.rsplit("/", 1)[-1], data, kind, outcome, code)


def _bad_kinds(company_index: int, invoices: int) -> list[str]:
    """~2 % bad files (at least 3), rotating through the kinds so a few companies cover them all."""
    count = max(3, round(invoices * 0.02))
    return [BAD_KINDS[(company_index * 3 + j) % len(BAD_KINDS)] for j in range(count)]


# --- the entry point -------------------------------------------------------------------------


def resolve_period(period: tuple[date, date] | str | None, today: date | None = None) -> tuple[date, date]:
    """``(start, end_exclusive)`` from a cycle id, a pair of dates, or the last closed quincena."""
    if period is None:
        return periods.cycle_bounds(periods.previous_closed_cycle(today or date.today()))
    if isinstance(period, str):
        return periods.cycle_bounds(period)
    start, end = period
    if end <= start:
        raise ValueError(f"period end {end} must be after its start {start}")
    return start, end


def generate(
    companies: int,
    invoices: int,
    inbox: Path,
    seed: int = 7,
    period: tuple[date, date] | str | None = None,
    register: bool = True,
    companies_csv: Path | None = None,
) -> list[Company]:
    """Write ``companies`` × ``invoices`` good DIAN documents (plus a few bad files) into ``inbox``.

    Also writes the companies CSV (default ``<inbox>-sample/companies.csv``) and the manifest
    (``<inbox>-sample/manifest.json``), and registers the companies unless ``register`` is False.
    """
    if companies < 1 or invoices < 1:
        raise ValueError("need at least one company and one invoice per company")
    start, end = resolve_period(period)
    rng = random.Random(seed)
    used: set[str] = set()
    company_list = _companies(rng, companies, used)
    pool = _supplier_pool(rng, load_concepts(), used)
    inbox = Path(inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    entries = [
        _generate_company(random.Random(f"{seed}:{c.nit}"), index, c, pool, invoices, inbox, used, (start, end))
        for index, c in enumerate(company_list)
    ]
    manifest = {
        "seed": seed,
        "period": [start.isoformat(), end.isoformat()],
        "invoices_per_company": invoices,
        "companies": entries,
    }
    side = sample_dir(inbox)
    side.mkdir(parents=True, exist_ok=True)
    (side / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    from quincena.core import companies as registry

    registry.write_csv(company_list, companies_csv or side / "companies.csv")
    if register:
        registry.upsert(company_list)
    return company_list


def _generate_company(rng, index: int, company: Company, pool, invoices: int, inbox: Path, used, period):
    data = _concept_file()
    ctx = _Context(rng, data["withholding"], Decimal(data["uvt_cop"]), *period)
    buyer = _Buyer(_Party(company.nit, company.dv, company.name), rng.random() < 0.35, rng.random() < 0.6)
    suppliers, weights = _company_suppliers(rng, pool)
    invoice_docs, notes = _documents(ctx, buyer, suppliers, weights, invoices, used)
    writer = _Writer(inbox, company.nit)
    good = []
    for doc in invoice_docs + notes:
        path, data_bytes, attached = _write_document(writer, rng, doc)
        good.append((doc, path, data_bytes, attached))
    for kind in _bad_kinds(index, invoices):
        _write_bad(kind, ctx, writer, buyer, suppliers, good, used)
    return _manifest_entry(company, buyer, good, writer.files)


def _manifest_entry(company: Company, buyer: _Buyer, good, files: list[dict[str, Any]]) -> dict[str, Any]:
    outcomes = [f["expected_outcome"] for f in files]
    reasons: dict[str, int] = {}
    for f in files:
        if f["expected_outcome"] == "quarantined":
            reasons[f["reason_code"]] = reasons.get(f["reason_code"], 0) + 1
    documents = [
        {
            "cufe": doc.cufe,
            "doc_type": doc.kind,
            "number": doc.number,
            "supplier_nit": doc.supplier.party.nit,
            "file": path,
            "lines": [
                {"line_no": n, "concept": ln.concept_id, "expected_account": _account(ln.concept_id)}
                for n, ln in enumerate(doc.lines, start=1)
            ],
        }
        for doc, path, _, _ in good
    ]
    return {
        "nit": company.nit,
        "dv": company.dv,
        "name": company.name,
        "reteiva_agent": buyer.reteiva_agent,
        "reteica_agent": buyer.reteica_agent,
        "expected": {
            "files_seen": len(files),
            "ingested": outcomes.count("ingested"),
            "duplicates": outcomes.count("duplicate"),
            "skipped": outcomes.count("skipped"),
            "quarantined": outcomes.count("quarantined"),
            "quarantine_reasons": dict(sorted(reasons.items())),
            "invoices_added": len(documents),
            "lines_added": sum(len(d["lines"]) for d in documents),
        },
        "files": files,
        "documents": documents,
    }


@functools.cache
def _accounts() -> dict[str, str]:
    return {c.id: c.expected_account for c in load_concepts()}


def _account(concept_id: str) -> str:
    return _accounts()[concept_id]


def sample_dir(inbox: Path) -> Path:
    """Where the companies CSV and the manifest of a generated inbox live: beside it, not in it."""
    inbox = Path(inbox).resolve()
    return inbox.parent / f"{inbox.name}-sample"


def read_manifest(inbox: Path) -> dict[str, Any]:
    """What ``generate`` wrote into ``inbox``: expected outcomes per file, expected account per line."""
    return json.loads((sample_dir(inbox) / MANIFEST).read_text(encoding="utf-8"))
