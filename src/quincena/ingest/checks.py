"""Sanity checks at ingest: what sends a well-formed document to review before any DeepSeek call.

A document that parses can still be wrong: amounts that are negative or absurd, lines that do not add
up to the totals, a date outside any plausible range, a foreign currency without the exchange rate,
more decimals than the currency has (the database keeps two: we say so rather than round silently),
or more lines than the firm is willing to pay DeepSeek to classify. Each finding is a reason in
Spanish, since the accountant reads it on the review worklist.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

from quincena.ingest.dian import DianDocument

# ISO 4217 minor units of the currencies Colombian suppliers invoice in; anything else: 2.
CURRENCY_DECIMALS = {"COP": 2, "USD": 2, "EUR": 2, "JPY": 0, "CLP": 0}
STORED_DECIMALS = 2  # invoices' and lines' amount columns are numeric(18, 2)
EARLIEST_ISSUE = date(2019, 1, 1)  # DIAN's electronic invoicing calendar started in 2019
ROUNDING_TOLERANCE = Decimal("1.00")  # DIAN lets totals differ from the sum of lines by rounding only
ABSURD_AMOUNT = Decimal(10) ** 12  # a billion... of millions: no purchase invoice of a client is this big


def review_reasons(doc: DianDocument, today: date, max_lines: int) -> list[str]:
    """Why this document needs an accountant before classification; empty when it looks sound."""
    return [
        *_line_cap(doc, max_lines),
        *_amount_problems(doc),
        *_sum_problems(doc),
        *_date_problems(doc, today),
        *_currency_problems(doc),
        *_decimal_problems(doc),
    ]


def _line_cap(doc: DianDocument, max_lines: int) -> Iterator[str]:
    if len(doc.lines) > max_lines:
        yield (
            f"tiene {len(doc.lines)} líneas, más que el tope de {max_lines} por factura "
            "(QUINCENA_MAX_LINES_PER_INVOICE): no se envía a DeepSeek; clasificar a mano"
        )


def _amounts(doc: DianDocument) -> Iterator[tuple[str, Decimal]]:
    t = doc.totals
    yield from (
        ("subtotal (LineExtensionAmount)", t.line_extension),
        ("base gravable (TaxExclusiveAmount)", t.tax_exclusive),
        ("total con impuestos (TaxInclusiveAmount)", t.tax_inclusive),
        ("descuentos (AllowanceTotalAmount)", t.allowance_total),
        ("cargos (ChargeTotalAmount)", t.charge_total),
        ("anticipos (PrepaidAmount)", t.prepaid),
        ("total a pagar (PayableAmount)", t.payable),
    )
    for line in doc.lines:
        yield f"línea {line.line_no} (total)", line.line_total
        yield f"línea {line.line_no} (impuesto)", line.tax_amount
    for tax in (*doc.taxes, *doc.withholdings):
        yield f"impuesto {tax.scheme_id} (valor)", tax.amount
        yield f"impuesto {tax.scheme_id} (base)", tax.taxable_amount


def _amount_problems(doc: DianDocument) -> Iterator[str]:
    for what, value in _amounts(doc):
        if value < 0:
            yield f"valor negativo en {what}: {value}"
        elif value >= ABSURD_AMOUNT:
            yield f"valor desproporcionado en {what}: {value}"


def _sum_problems(doc: DianDocument) -> Iterator[str]:
    lines = sum((line.line_total for line in doc.lines), Decimal(0))
    if abs(lines - doc.totals.line_extension) > ROUNDING_TOLERANCE:
        yield f"las líneas suman {lines} pero el subtotal del documento es {doc.totals.line_extension}"
    # TaxExclusiveAmount is the taxable base (excluded lines are not in it): compare with the subtotal.
    stated = doc.totals.tax_inclusive - doc.totals.line_extension
    taxes = sum((tax.amount for tax in doc.taxes), Decimal(0))
    if abs(taxes - stated) > ROUNDING_TOLERANCE:
        yield f"los impuestos suman {taxes} pero el total con impuestos menos el subtotal es {stated}"


def _date_problems(doc: DianDocument, today: date) -> Iterator[str]:
    if doc.issue_date > today + timedelta(days=1):
        yield f"fecha de emisión {doc.issue_date} en el futuro"
    elif doc.issue_date < EARLIEST_ISSUE:
        yield f"fecha de emisión {doc.issue_date} anterior a la facturación electrónica ({EARLIEST_ISSUE})"


def _currency_problems(doc: DianDocument) -> Iterator[str]:
    if doc.currency != "COP" and not doc.exchange_rate:
        yield f"moneda {doc.currency} sin tasa de cambio (cac:PaymentExchangeRate): no se puede causar en pesos"


def _decimal_problems(doc: DianDocument) -> Iterator[str]:
    allowed = min(CURRENCY_DECIMALS.get(doc.currency, 2), STORED_DECIMALS)
    for what, value in _amounts(doc):
        exact = value.normalize()
        if exact.as_tuple().exponent < -allowed:  # type: ignore[operator]
            rounded = round(value, STORED_DECIMALS)
            yield (
                f"{what} = {exact} tiene más decimales de los que admite {doc.currency} ({allowed}); "
                f"se guardó como {rounded}: revisar"
            )
