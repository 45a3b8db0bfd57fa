"""DIAN electronic documents (UBL 2.1): read files safely, parse invoices and notes into typed values.

Hostile input is expected: every XML (including the one embedded in an AttachedDocument) is parsed
with defusedxml with DTDs forbidden, so external entities and entity-expansion bombs are refused at
the DOCTYPE, before anything is expanded. Amounts are ``Decimal`` end to end.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _defused_fromstring

from quincena.core import numbers
from quincena.core.nit import InvalidNit, check_digit, split_nit
from quincena.ingest.files import XmlPayload, read_payloads
from quincena.ingest.rejections import RejectedDocument

UBL = "urn:oasis:names:specification:ubl:schema:xsd:"
CBC = UBL + "CommonBasicComponents-2"
CAC = UBL + "CommonAggregateComponents-2"
NS = {"cbc": CBC, "cac": CAC}

DOC_TYPES = {"Invoice": "invoice", "CreditNote": "credit_note", "DebitNote": "debit_note"}
# Per root element: the line element, its quantity element, and the totals element.
_SHAPES = {
    "Invoice": ("InvoiceLine", "InvoicedQuantity", "LegalMonetaryTotal"),
    "CreditNote": ("CreditNoteLine", "CreditedQuantity", "LegalMonetaryTotal"),
    "DebitNote": ("DebitNoteLine", "DebitedQuantity", "RequestedMonetaryTotal"),
}

# What the schema's columns hold: numeric(18, 2) amounts, numeric(18, 6) quantities and prices,
# numeric(7, 4) percents; refusing bigger values here beats a database error mid-batch.
_AMOUNT_LIMIT = Decimal(10) ** 16
_QUANTITY_LIMIT = Decimal(10) ** 12
_PERCENT_LIMIT = Decimal(1000)
_MIN_EXPONENT = -12  # 1E-999999 is a number Decimal can hold but not divide by; no invoice needs it
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")


class _ReceiptOnly(RejectedDocument):
    """A bare ApplicationResponse: DIAN's receipt, not a purchase document (skipped inside a zip)."""


@dataclass(frozen=True)
class Party:
    nit: str  # digits only when it is a NIT/cédula; other ids as given
    dv: str | None  # check digit exactly as the document gives it
    name: str
    scheme_name: str | None = None  # 31 = NIT, 13 = cédula
    dv_ok: bool | None = None  # does the given DV match DIAN's? None when there is none to check
    person_type_code: str | None = None  # cbc:AdditionalAccountID: 1 persona jurídica, 2 persona natural
    tax_level_codes: tuple[str, ...] = ()  # RUT responsibilities (cbc:TaxLevelCode), unknown codes kept
    city_code: str | None = None  # DIVIPOLA of cac:PhysicalLocation (else of the RegistrationAddress)


@dataclass(frozen=True)
class Totals:
    line_extension: Decimal
    tax_exclusive: Decimal
    tax_inclusive: Decimal
    allowance_total: Decimal
    charge_total: Decimal
    prepaid: Decimal
    payable: Decimal


@dataclass(frozen=True)
class TaxAmount:
    scheme_id: str  # 01 IVA, 04 INC, 03 ICA; withholdings 06 ReteFuente, 05 ReteIVA, 07 ReteICA
    scheme_name: str | None
    taxable_amount: Decimal
    amount: Decimal
    percent: Decimal | None


@dataclass(frozen=True)
class Line:
    line_no: int
    description: str
    item_code: str | None
    quantity: Decimal
    unit_code: str | None
    unit_price: Decimal
    line_total: Decimal
    tax_amount: Decimal
    tax_percent: Decimal | None
    iva_base: Decimal = Decimal(0)  # the line's IVA-taxable amount (scheme 01): the AIU of an AIU service


@dataclass(frozen=True)
class DianDocument:
    doc_type: str  # invoice | credit_note | debit_note
    number: str
    cufe: str  # cbc:UUID: CUFE for invoices, CUDE for notes
    cufe_scheme: str | None
    invoice_type_code: str | None
    issue_date: date
    due_date: date | None
    currency: str
    supplier: Party
    customer: Party
    totals: Totals
    taxes: tuple[TaxAmount, ...]
    withholdings: tuple[TaxAmount, ...]
    lines: tuple[Line, ...]
    billing_reference: str | None  # notes: CUFE of the invoice they amend
    profile_execution_id: str | None  # 1 production, 2 test
    dian_response_code: str | None  # from the AttachedDocument's ApplicationResponse; 02 = accepted
    envelope: str = "Invoice"  # root element of the file: AttachedDocument or the document itself
    exchange_rate: Decimal | None = None  # cac:PaymentExchangeRate/cbc:CalculationRate, pesos per unit


# --- parsing XML -----------------------------------------------------------------------------


def parse_file(source: Path | bytes, filename: str | None = None) -> list[DianDocument]:
    """Every DIAN document in a file (path, or bytes with their file name). Raises RejectedDocument."""
    return [doc for _, doc in parse_payloads(read_payloads(source, filename))]


def parse_payloads(payloads: list[XmlPayload]) -> list[tuple[XmlPayload, DianDocument]]:
    """Parse each payload; one bad member rejects the whole file (never half a file)."""
    parsed: list[tuple[XmlPayload, DianDocument]] = []
    receipt: _ReceiptOnly | None = None
    for payload in payloads:
        try:
            parsed.append((payload, parse_xml(payload.data)))
        except _ReceiptOnly as exc:
            receipt = exc
        except RejectedDocument as exc:
            if len(payloads) > 1:
                raise RejectedDocument(exc.code, f"{payload.name.rsplit('!', 1)[-1]}: {exc.reason}") from None
            raise
    if not parsed:
        raise receipt or RejectedDocument("no_documents", "no DIAN document found")
    return parsed


def _safe_root(data: bytes | str, what: str) -> Element:
    try:
        return _defused_fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise RejectedDocument("hostile_xml", f"{what} {_HOSTILE.get(type(exc).__name__, 'is unsafe XML')}") from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        message = str(exc).split(":", 1)[0]
        raise RejectedDocument(
            "malformed_xml", f"{what} is not well-formed XML ({message} at line {line}, column {column})"
        ) from None


_HOSTILE = {
    "DTDForbidden": "declares a DTD (<!DOCTYPE>), which can hide entity bombs or read local files; refused unexpanded",
    "EntitiesForbidden": "declares XML entities, which can explode in memory; refused unexpanded",
    "ExternalReferenceForbidden": "references an external resource; refused without fetching it",
}


def _split_tag(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def parse_xml(data: bytes) -> DianDocument:
    """One DIAN document from one XML: an AttachedDocument (unwrapped), Invoice, CreditNote or DebitNote."""
    root = _safe_root(data, "the file")
    namespace, local = _split_tag(root.tag)
    if not namespace.startswith(UBL):
        shown = f"{{{namespace}}}{local}" if namespace else local
        raise RejectedDocument("not_dian", f"root element <{shown}> is not a UBL 2.1 / DIAN document")
    if local == "AttachedDocument":
        return _parse_attached(root)
    if local == "ApplicationResponse":
        raise _ReceiptOnly("unsupported_document", "only a DIAN ApplicationResponse (receipt), no invoice or note")
    return _parse_document(root, local, envelope=local, response_code=None)


def _parse_attached(root: Element) -> DianDocument:
    inner_text = _embedded_text(root.find("cac:Attachment/cac:ExternalReference", NS))
    if not inner_text:
        raise RejectedDocument(
            "missing_field", "AttachedDocument has no embedded document in cac:Attachment/.../cbc:Description"
        )
    inner = _safe_root(_as_inner_bytes(inner_text), "the document embedded in the AttachedDocument")
    namespace, local = _split_tag(inner.tag)
    if not namespace.startswith(UBL) or local not in DOC_TYPES:
        raise RejectedDocument(
            "unsupported_document", f"AttachedDocument wraps <{local}>, not an Invoice, CreditNote or DebitNote"
        )
    profile = _text(root, "cbc:ProfileExecutionID")
    doc = _parse_document(inner, local, envelope="AttachedDocument", response_code=_response_code(root))
    if doc.profile_execution_id is None and profile:
        doc = dataclasses.replace(doc, profile_execution_id=profile)
    return doc


def _embedded_text(reference: Element | None) -> str:
    """Text of every cbc:Description in an ExternalReference (some producers split it)."""
    if reference is None:
        return ""
    return "".join(el.text or "" for el in reference.findall("cbc:Description", NS)).strip()


def _as_inner_bytes(text: str) -> bytes:
    # The embedded declaration may name an encoding the text no longer has; we re-encode as UTF-8.
    return _XML_DECL.sub("", text.lstrip("\ufeff"), count=1).encode("utf-8")


def _response_code(root: Element) -> str | None:
    """DIAN's verdict: the ApplicationResponse embedded in cac:ParentDocumentLineReference."""
    reference = root.find("cac:ParentDocumentLineReference/cac:DocumentReference", NS)
    if reference is None:
        return None
    text = _embedded_text(reference.find("cac:Attachment/cac:ExternalReference", NS))
    if text:
        try:
            response = _safe_root(_as_inner_bytes(text), "the embedded ApplicationResponse")
        except RejectedDocument as exc:
            if exc.code == "hostile_xml":
                raise
            response = None  # an unreadable receipt does not make the invoice unreadable
        if response is not None:
            code = _text(response, "cac:DocumentResponse/cac:Response/cbc:ResponseCode")
            if code:
                return code
    return _text(reference, "cac:ResultOfVerification/cbc:ValidationResultCode")


def _parse_document(root: Element, local: str, envelope: str, response_code: str | None) -> DianDocument:
    if local not in DOC_TYPES:
        raise RejectedDocument("unsupported_document", f"<{local}> is not an Invoice, CreditNote or DebitNote")
    line_tag, quantity_tag, totals_tag = _SHAPES[local]
    uuid = root.find("cbc:UUID", NS)
    cufe = _required_text(root, "cbc:UUID", "the CUFE/CUDE")
    currency = _text(root, "cbc:DocumentCurrencyCode") or _attr(root, f"cac:{totals_tag}/cbc:PayableAmount")
    if not currency:
        raise RejectedDocument("missing_field", "no currency (cbc:DocumentCurrencyCode)")
    return DianDocument(
        doc_type=DOC_TYPES[local],
        number=_required_text(root, "cbc:ID", "the document number"),
        cufe=cufe,
        cufe_scheme=uuid.get("schemeName") if uuid is not None else None,
        invoice_type_code=_text(root, f"cbc:{local}TypeCode"),
        issue_date=_date(root, "cbc:IssueDate", required=True),
        due_date=_date(root, "cbc:DueDate") or _date(root, "cac:PaymentMeans/cbc:PaymentDueDate"),
        currency=currency,
        supplier=_party(root, "AccountingSupplierParty", "supplier"),
        customer=_party(root, "AccountingCustomerParty", "customer"),
        totals=_totals(root, totals_tag),
        taxes=_tax_amounts(root, "cac:TaxTotal"),
        withholdings=_tax_amounts(root, "cac:WithholdingTaxTotal"),
        lines=_lines(root, line_tag, quantity_tag),
        billing_reference=_text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:UUID"),
        profile_execution_id=_text(root, "cbc:ProfileExecutionID"),
        dian_response_code=response_code,
        envelope=envelope,
        exchange_rate=_optional_decimal(root, "cac:PaymentExchangeRate/cbc:CalculationRate", _QUANTITY_LIMIT),
    )


# --- field helpers ---------------------------------------------------------------------------


def _text(el: Element, path: str) -> str | None:
    found = el.find(path, NS)
    text = (found.text or "").strip() if found is not None else ""
    return text or None


def _attr(el: Element, path: str, name: str = "currencyID") -> str | None:
    found = el.find(path, NS)
    if found is None:
        return None
    return (found.get(name) or "").strip() or None


def _required_text(el: Element, path: str, what: str) -> str:
    text = _text(el, path)
    if text is None:
        raise RejectedDocument("missing_field", f"{what} ({path}) is missing")
    return text


def _date(el: Element, path: str, required: bool = False) -> date | None:
    text = _required_text(el, path, "a date") if required else _text(el, path)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise RejectedDocument("missing_field", f"{path} is not a date: {text!r}") from None


def _decimal(text: str, path: str, limit: Decimal = _AMOUNT_LIMIT) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RejectedDocument("missing_field", f"{path} is not a number: {text[:40]!r}") from None
    if not value.is_finite() or abs(value) >= limit:
        raise RejectedDocument("missing_field", f"{path} is out of range: {text[:40]!r}")
    if value and value.normalize().as_tuple().exponent < _MIN_EXPONENT:
        raise RejectedDocument("missing_field", f"{path} has more decimals than any amount: {text[:40]!r}")
    return value


def _amount(el: Element, path: str, default: Decimal | None = None, limit: Decimal = _AMOUNT_LIMIT) -> Decimal:
    text = _text(el, path)
    if text is None:
        if default is None:
            raise RejectedDocument("missing_field", f"{path} is missing")
        return default
    return _decimal(text, path, limit)


def _optional_decimal(el: Element, path: str, limit: Decimal = _AMOUNT_LIMIT) -> Decimal | None:
    text = _text(el, path)
    return None if text is None else _decimal(text, path, limit)


def _party(root: Element, role: str, what: str) -> Party:
    party = root.find(f"cac:{role}/cac:Party", NS)
    if party is None:
        raise RejectedDocument("missing_field", f"the {what} (cac:{role}) is missing")
    company_id = party.find("cac:PartyTaxScheme/cbc:CompanyID", NS)
    if company_id is None or not (company_id.text or "").strip():
        company_id = party.find("cac:PartyLegalEntity/cbc:CompanyID", NS)
    if company_id is None or not (company_id.text or "").strip():
        raise RejectedDocument("missing_field", f"the {what}'s NIT (cac:{role}/.../cbc:CompanyID) is missing")
    nit, dv, dv_ok = _nit_and_dv(company_id.text or "", company_id.get("schemeID"))
    name = (
        _text(party, "cac:PartyTaxScheme/cbc:RegistrationName")
        or _text(party, "cac:PartyLegalEntity/cbc:RegistrationName")
        or _text(party, "cac:PartyName/cbc:Name")
    )
    if name is None:
        raise RejectedDocument("missing_field", f"the {what}'s name (cbc:RegistrationName) is missing")
    codes = [
        c.strip() for el in party.findall("cac:PartyTaxScheme/cbc:TaxLevelCode", NS) for c in (el.text or "").split(";")
    ]
    return Party(
        nit=nit,
        dv=dv,
        name=name,
        scheme_name=company_id.get("schemeName"),
        dv_ok=dv_ok,
        person_type_code=_text(root, f"cac:{role}/cbc:AdditionalAccountID"),
        tax_level_codes=tuple(dict.fromkeys(c for c in codes if c)),
        city_code=_text(party, "cac:PhysicalLocation/cac:Address/cbc:ID")
        or _text(party, "cac:PartyTaxScheme/cac:RegistrationAddress/cbc:ID"),
    )


def _nit_and_dv(raw: str, scheme_dv: str | None) -> tuple[str, str | None, bool | None]:
    """Digits of a NIT (dots, spaces and a '-DV' suffix tolerated), the DV as given, and whether it checks."""
    text = raw.strip()
    parts = split_nit(text)
    if parts is None:
        return text, (scheme_dv or "").strip() or None, None  # a foreign or odd id: kept as given
    digits, suffix = parts
    dv = (scheme_dv or suffix or "").strip() or None
    try:
        expected = check_digit(digits)
    except InvalidNit:
        return digits, dv, None
    return digits, dv, (dv == str(expected)) if dv is not None else None


def _totals(root: Element, tag: str) -> Totals:
    total = root.find(f"cac:{tag}", NS)
    if total is None:
        raise RejectedDocument("missing_field", f"the document totals (cac:{tag}) are missing")
    zero = Decimal(0)
    return Totals(
        line_extension=_amount(total, "cbc:LineExtensionAmount"),
        tax_exclusive=_amount(total, "cbc:TaxExclusiveAmount", zero),
        tax_inclusive=_amount(total, "cbc:TaxInclusiveAmount"),
        allowance_total=_amount(total, "cbc:AllowanceTotalAmount", zero),
        charge_total=_amount(total, "cbc:ChargeTotalAmount", zero),
        prepaid=_amount(total, "cbc:PrepaidAmount", zero),
        payable=_amount(total, "cbc:PayableAmount"),
    )


def _tax_amounts(parent: Element, path: str) -> tuple[TaxAmount, ...]:
    amounts = []
    for total in parent.findall(path, NS):
        for sub in total.findall("cac:TaxSubtotal", NS):
            amounts.append(
                TaxAmount(
                    scheme_id=_text(sub, "cac:TaxCategory/cac:TaxScheme/cbc:ID") or "ZZ",
                    scheme_name=_text(sub, "cac:TaxCategory/cac:TaxScheme/cbc:Name"),
                    taxable_amount=_amount(sub, "cbc:TaxableAmount", Decimal(0)),
                    amount=_amount(sub, "cbc:TaxAmount"),
                    percent=_optional_decimal(sub, "cac:TaxCategory/cbc:Percent", _PERCENT_LIMIT),
                )
            )
    return tuple(amounts)


def _lines(root: Element, line_tag: str, quantity_tag: str) -> tuple[Line, ...]:
    elements = root.findall(f"cac:{line_tag}", NS)
    if not elements:
        raise RejectedDocument("missing_field", f"the document has no lines (cac:{line_tag})")
    return tuple(_line(el, position, quantity_tag) for position, el in enumerate(elements, start=1))


def _line(el: Element, position: int, quantity_tag: str) -> Line:
    line_id = _text(el, "cbc:ID") or ""
    line_no = int(line_id) if line_id.isascii() and line_id.isdigit() and int(line_id) < 2**31 else position
    descriptions = [(d.text or "").strip() for d in el.findall("cac:Item/cbc:Description", NS)]
    description = " ".join(d for d in descriptions if d)
    if not description:
        raise RejectedDocument("missing_field", f"line {line_no} has no description (cac:Item/cbc:Description)")
    quantity_el = el.find(f"cbc:{quantity_tag}", NS)
    quantity = _amount(el, f"cbc:{quantity_tag}", Decimal(1), _QUANTITY_LIMIT)
    line_total = _amount(el, "cbc:LineExtensionAmount")
    taxes = _tax_amounts(el, "cac:TaxTotal")
    unit_price = _optional_decimal(el, "cac:Price/cbc:PriceAmount", _QUANTITY_LIMIT)
    if unit_price is None:
        unit_price = line_total / quantity if quantity else line_total
    return Line(
        line_no=line_no,
        description=description,
        item_code=_text(el, "cac:Item/cac:StandardItemIdentification/cbc:ID")
        or _text(el, "cac:Item/cac:SellersItemIdentification/cbc:ID"),
        quantity=quantity,
        unit_code=quantity_el.get("unitCode") if quantity_el is not None else None,
        unit_price=unit_price,
        line_total=line_total,
        tax_amount=sum((t.amount for t in taxes), Decimal(0)),
        tax_percent=next((t.percent for t in taxes if t.percent is not None), None),
        iva_base=sum((t.taxable_amount for t in taxes if t.scheme_id == "01"), Decimal(0)),
    )


# --- output ----------------------------------------------------------------------------------


def document_to_dict(doc: DianDocument) -> dict[str, Any]:
    """Plain JSON-ready dict: Decimals as strings (exact), dates ISO, tuples as lists."""
    return numbers.plain(dataclasses.asdict(doc))
