"""The proposed journal entry (causación) of a classified invoice."""

from decimal import Decimal

from quincena.books.entries import build_entry, totals_problem


def _invoice(doc_type: str = "invoice", **overrides) -> dict:
    invoice = {
        "id": 1, "number": "FE-1", "doc_type": doc_type, "supplier_name": "Asesores SAS",
        "line_extension_amount": Decimal("1000000.00"), "tax_inclusive_amount": Decimal("1190000.00"),
        "allowance_total_amount": Decimal("0"), "charge_total_amount": Decimal("0"),
        "lines": [{"account": "511025", "amount": "600000.00"}, {"account": "511025", "amount": "400000.00"}],
        "taxes": [
            {"kind": "tax", "scheme_id": "01", "amount": "190000.00"},
            {"kind": "withholding", "scheme_id": "06", "amount": "100000.00"},
            {"kind": "withholding", "scheme_id": "05", "amount": "28500.00"},
            {"kind": "withholding", "scheme_id": "07", "amount": "9660.00"},
        ],
    }  # fmt: skip
    invoice.update(overrides)
    return invoice


def _by_account(lines) -> dict:
    return {ln.account: (ln.debit, ln.credit) for ln in lines}


def test_fees_invoice_entry_balances_to_the_peso() -> None:
    invoice = _invoice()
    lines = build_entry(invoice)
    accounts = _by_account(lines)
    assert accounts["511025"] == (Decimal("1000000.00"), 0)
    assert accounts["240810"] == (Decimal("190000.00"), 0)
    assert accounts["236515"] == (0, Decimal("100000.00"))  # ReteFuente on fees
    assert accounts["236701"] == (0, Decimal("28500.00"))
    assert accounts["236801"] == (0, Decimal("9660.00"))
    assert accounts["233525"] == (0, Decimal("1051840.00"))  # fees payable, net of withholdings
    assert sum(ln.debit for ln in lines) == sum(ln.credit for ln in lines) == Decimal("1190000.00")
    assert totals_problem(invoice, lines) is None


def test_goods_go_to_suppliers_and_inc_is_cost() -> None:
    invoice = _invoice(
        lines=[{"account": "143501", "amount": "500000.00"}],
        taxes=[{"kind": "tax", "scheme_id": "04", "amount": "40000.00"}],
        tax_inclusive_amount=Decimal("540000.00"),
    )
    accounts = _by_account(build_entry(invoice))
    assert accounts == {"143501": (Decimal("540000.00"), 0), "220505": (0, Decimal("540000.00"))}


def test_credit_note_mirrors_the_purchase() -> None:
    purchase = _by_account(build_entry(_invoice()))
    note = _by_account(build_entry(_invoice("credit_note")))
    assert all(note[a] == (c, d) for a, (d, c) in purchase.items())


def test_mismatch_with_invoice_totals_is_reported() -> None:
    invoice = _invoice(tax_inclusive_amount=Decimal("1190000.01"))
    assert "difiere del total de la factura" in totals_problem(invoice, build_entry(invoice))
