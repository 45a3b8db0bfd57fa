"""The buyer's withholdings, computed by hand and checked against the engine.

Figures of include/tax/rules-*.json used below (docs/retenciones.md):
UVT 2025 = 49,799; UVT 2026 = 52,374.
2026: compras 10 UVT = 523,740; servicios / transporte 2 UVT = 104,748; arrendamiento inmuebles 27 UVT = 1,414,098.
2025 from 06-01 (Decreto 0572): compras 10 UVT = 497,990; servicios 2 UVT = 99,598.
2025 before 06-01: compras 27 UVT = 1,344,573; servicios 4 UVT = 199,196.
"""

from datetime import date
from decimal import Decimal

import pytest

from quincena.books.entries import propose, totals_problem
from quincena.books.withholdings.engine import (
    BuyerProfile,
    Purchase,
    PurchaseLine,
    SupplierProfile,
    compute,
)
from quincena.books.withholdings.rules import RulesError, rules_for

D = Decimal
DAY_2026 = date(2026, 3, 10)
BUYER = BuyerProfile("900111222")
PJ = SupplierProfile("800222333", person_type="juridica")
PN = SupplierProfile("79123456", person_type="natural")  # no declarante by default (concepts.json)
PN_DECLARANTE = SupplierProfile("79123456", person_type="natural", declarante=True)


def _buy(*lines: tuple[str, str], iva: str = "0", on: date = DAY_2026) -> Purchase:
    return Purchase(on, tuple(PurchaseLine(account, D(base)) for account, base in lines), D(iva))


def _amounts(assessment) -> dict[tuple[str, str], Decimal]:
    return {(w.tax, w.concept): w.amount for w in assessment.withholdings}


# --- rules as data ---------------------------------------------------------------------------


def test_uvt_and_bases_come_from_the_year_and_date_of_issue() -> None:
    assert rules_for(date(2025, 12, 31)).uvt == D("49799")
    assert rules_for(date(2026, 1, 1)).uvt == D("52374")
    # Decreto 0572: compras 27 UVT until 2025-05-31, 10 UVT from 2025-06-01
    assert rules_for(date(2025, 5, 31)).retefuente["compras"].base_uvt == D("27")
    assert rules_for(date(2025, 6, 1)).retefuente["compras"].base_uvt == D("10")
    shown = rules_for(date(2026, 1, 1)).to_dict()
    assert shown["retefuente"]["concepts"]["servicios"]["base_cop"] == "104748"  # 2 × 52,374
    assert all(c["source"] for c in shown["retefuente"]["concepts"].values())
    assert shown["reteica"]["11001"]["source"] and shown["uvt"]["source"]


def test_a_year_without_rules_is_a_clear_error() -> None:
    with pytest.raises(RulesError, match="no withholding rules for 2019"):
        rules_for(date(2019, 5, 1))


# --- ReteFuente ------------------------------------------------------------------------------


def test_honorarios_persona_juridica_11_percent() -> None:
    # 1,000,000 × 11 % = 110,000 (base 0 UVT: always)
    assert _amounts(compute(_buy(("511025", "1000000")), BUYER, PJ)) == {("retefuente", "honorarios"): D("110000")}


def test_honorarios_persona_natural_10_percent_declarante_or_not() -> None:
    # 1,000,000 × 10 % = 100,000 for a natural person, declarante or not
    assert _amounts(compute(_buy(("511025", "1000000")), BUYER, PN))[("retefuente", "honorarios")] == D("100000")
    assert _amounts(compute(_buy(("511025", "1000000")), BUYER, PN_DECLARANTE))[("retefuente", "honorarios")] == D(
        "100000"
    )


# 3,300 UVT 2026 = 3,300 × 52,374 = 172,834,200: "supere" is strictly above.
def test_honorarios_persona_natural_11_percent_once_the_years_payments_exceed_3300_uvt() -> None:
    fee = _buy(("511025", "1000000"))
    crossing = Purchase(fee.issue_date, fee.lines, earlier_in_year={"honorarios": D("171834201")})
    [w] = compute(crossing, BUYER, PN).withholdings  # 172,834,201 > 172,834,200 → 1,000,000 × 11 %
    assert (w.rate, w.amount) == (D("0.11"), D("110000")) and "172834201.00 > 3300 UVT (172834200" in w.why
    at_the_limit = Purchase(fee.issue_date, fee.lines, earlier_in_year={"honorarios": D("171834200")})
    [w] = compute(at_the_limit, BUYER, PN_DECLARANTE).withholdings
    assert (w.rate, w.amount) == (D("0.10"), D("100000")) and "≤ 3300 UVT" in w.why
    other_concept = Purchase(fee.issue_date, fee.lines, earlier_in_year={"servicios": D("900000000")})
    assert compute(other_concept, BUYER, PN).withholdings[0].rate == D("0.10")  # only honorarios paid counts
    big = Purchase(fee.issue_date, fee.lines, earlier_in_year={"honorarios": D("900000000")})
    assert compute(big, BUYER, PJ).withholdings[0].rate == D("0.11")  # a legal person: 11 % regardless


def test_an_annual_threshold_without_its_rate_is_a_rules_error(tmp_path, monkeypatch) -> None:
    import json

    from quincena.books.withholdings import rules

    data = json.loads((rules.rules_dir() / "rules-2026.json").read_text(encoding="utf-8"))
    del data["retefuente"]["concepts"]["honorarios"][0]["rates"]["above_annual"]
    (tmp_path / "rules-2026.json").write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(rules, "rules_dir", lambda: tmp_path)
    rules._year_file.cache_clear()
    rules._rules_for.cache_clear()
    try:
        with pytest.raises(RulesError, match="honorarios has 'annual_uvt' but no 'above_annual' rate"):
            rules_for(DAY_2026)
    finally:
        rules._year_file.cache_clear()
        rules._rules_for.cache_clear()


def _aiu_service(account: str, total: str, iva_base: str | None) -> Purchase:
    line = PurchaseLine(account, D(total), iva_base=None if iva_base is None else D(iva_base))
    return Purchase(DAY_2026, (line,))


def test_aseo_y_vigilancia_2_percent_on_the_aiu_the_lines_iva_taxable_amount() -> None:
    # 10,000,000 of vigilancia, IVA charged on an AIU of 1,200,000 → 2 % × 1,200,000 = 24,000
    result = compute(_aiu_service("513505", "10000000", "1200000"), BUYER, PJ)
    [w] = result.withholdings
    assert (w.base, w.amount) == (D("1200000.00"), D("24000")) and "IVA-taxable 1200000.00" in w.why
    assert result.review == []
    # temporary staff, 1 % on an AIU of 2,500,000 of 20,000,000 = 25,000
    [w] = compute(_aiu_service("513510", "20000000", "2500000"), BUYER, PJ).withholdings
    assert (w.base, w.amount) == (D("2500000.00"), D("25000"))
    # IVA on the whole service (no AIU scheme): the whole service is the base
    [w] = compute(_aiu_service("513505", "10000000", "10000000"), BUYER, PJ).withholdings
    assert w.amount == D("200000")


def test_an_aiu_below_10_percent_or_unknown_is_raised_to_the_minimum_and_unknown_goes_to_review() -> None:
    # AIU 500,000 < 10 % of 10,000,000 → base 1,000,000 → 20,000
    result = compute(_aiu_service("513505", "10000000", "500000"), BUYER, PJ)
    assert (result.withholdings[0].base, result.withholdings[0].amount) == (D("1000000.00"), D("20000"))
    assert "below the minimum 10%" in result.withholdings[0].why and result.review == []
    for unknown in ("0", None):  # no IVA on the service, or a line ingested before iva_base was kept
        result = compute(_aiu_service("513505", "10000000", unknown), BUYER, PJ)
        assert result.withholdings[0].amount == D("20000")
        [check] = result.review
        assert "no discrimina el IVA sobre el AIU" in check and "1000000.00" in check


def test_servicios_exactly_at_the_base_is_withheld_and_rounded_to_the_peso() -> None:
    # base 104,748 = 2 UVT 2026 → 104,748 × 4 % = 4,189.92 → 4,190
    result = compute(_buy(("513595", "104748")), BUYER, PJ)
    [w] = result.withholdings
    assert (w.concept, w.account, w.base, w.rate) == ("servicios", "236525", D("104748.00"), D("0.04"))
    assert w.amount == D("4190")


def test_servicios_one_peso_below_the_base_is_not_withheld() -> None:
    # 104,747 < 104,748 → nothing, and the note says why
    result = compute(_buy(("513595", "104747")), BUYER, PJ)
    assert result.withholdings == []
    assert any("below 2 UVT = 104748" in n for n in result.notes)


def test_servicios_persona_natural_no_declarante_6_percent_declarante_4() -> None:
    # 200,000 × 6 % = 12,000 (no declarante); 200,000 × 4 % = 8,000 (declarante)
    assert _amounts(compute(_buy(("513595", "200000")), BUYER, PN)) == {("retefuente", "servicios"): D("12000")}
    assert _amounts(compute(_buy(("513595", "200000")), BUYER, PN_DECLARANTE)) == {
        ("retefuente", "servicios"): D("8000")
    }


def test_compras_at_the_base_rounds_half_up() -> None:
    # 523,740 × 2.5 % = 13,093.50 → 13,094
    assert _amounts(compute(_buy(("143501", "523740")), BUYER, PJ)) == {("retefuente", "compras"): D("13094")}


def test_compras_below_the_base() -> None:
    # 500,000 < 523,740 → nothing
    assert compute(_buy(("143501", "500000")), BUYER, PJ).withholdings == []


def test_compras_persona_natural_no_declarante_3_5_percent() -> None:
    # 1,000,000 × 3.5 % = 35,000
    assert _amounts(compute(_buy(("143501", "1000000")), BUYER, PN)) == {("retefuente", "compras"): D("35000")}


def test_arrendamiento_de_inmuebles_above_and_below_27_uvt() -> None:
    # 2,000,000 ≥ 1,414,098 → × 3.5 % = 70,000 to 236530; 1,000,000 < 1,414,098 → nothing
    [w] = compute(_buy(("512010", "2000000")), BUYER, PJ).withholdings
    assert (w.concept, w.account, w.amount) == ("arrendamiento_inmuebles", "236530", D("70000"))
    assert compute(_buy(("512010", "1000000")), BUYER, PJ).withholdings == []


def test_arrendamiento_de_muebles_has_no_base() -> None:
    # 50,000 × 4 % = 2,000
    assert _amounts(compute(_buy(("512020", "50000")), BUYER, PJ)) == {
        ("retefuente", "arrendamiento_muebles"): D("2000")
    }


def test_transporte_de_carga_1_percent() -> None:
    # 300,000 ≥ 104,748 → × 1 % = 3,000
    assert _amounts(compute(_buy(("513550", "300000")), BUYER, PJ)) == {("retefuente", "transporte_carga"): D("3000")}


def test_autorretenedor_supplier_is_not_withheld() -> None:
    supplier = SupplierProfile("800222333", "juridica", ("O-15",))
    result = compute(_buy(("511025", "1000000")), BUYER, supplier)
    assert result.withholdings == [] and any("O-15" in n for n in result.notes)


def test_regimen_simple_supplier_is_not_withheld() -> None:
    supplier = SupplierProfile("800222333", "juridica", ("O-47",))
    assert compute(_buy(("513595", "1000000")), BUYER, supplier).withholdings == []


def test_buyer_in_regimen_simple_or_not_an_agent_withholds_nothing() -> None:
    simple = BuyerProfile("900111222", regimen="simple")
    not_agent = BuyerProfile("900111222", withholding_agent=False)
    assert compute(_buy(("511025", "1000000")), simple, PJ).withholdings == []
    assert compute(_buy(("511025", "1000000")), not_agent, PJ).withholdings == []


def test_mixed_invoice_each_concept_against_its_own_base() -> None:
    # honorarios 600,000 × 11 % = 66,000; compras 400,000 < 523,740 → nothing
    result = compute(_buy(("511025", "600000"), ("143501", "400000")), BUYER, PJ)
    assert _amounts(result) == {("retefuente", "honorarios"): D("66000")}


# --- ReteIVA ---------------------------------------------------------------------------------

GC = BuyerProfile("900111222", gran_contribuyente=True)


def test_reteiva_gran_contribuyente_buyer_15_percent_of_iva() -> None:
    # servicios 1,000,000, IVA 190,000: ReteFuente 4 % = 40,000; ReteIVA 15 % × 190,000 = 28,500
    result = compute(_buy(("513595", "1000000"), iva="190000"), GC, PJ)
    assert _amounts(result) == {("retefuente", "servicios"): D("40000"), ("reteiva", "servicios"): D("28500")}
    reteiva = next(w for w in result.withholdings if w.tax == "reteiva")
    assert (reteiva.account, reteiva.base, reteiva.rate) == ("236701", D("190000.00"), D("0.15"))


def test_no_reteiva_between_two_grandes_contribuyentes() -> None:
    # both O-13: ReteIVA none; ReteFuente 40,000 still
    supplier = SupplierProfile("800222333", "juridica", ("O-13",))
    result = compute(_buy(("513595", "1000000"), iva="190000"), GC, supplier)
    assert _amounts(result) == {("retefuente", "servicios"): D("40000")}
    assert any("grandes contribuyentes" in n for n in result.notes)


def test_designated_reteiva_agent_withholds_but_an_ordinary_buyer_does_not() -> None:
    # O-23 buyer: 15 % × 76,000 = 11,400 on compras 1,000,000 (IVA at 7.6 % for the sake of the sum)
    designated = BuyerProfile("900111222", reteiva_agent=True)
    assert _amounts(compute(_buy(("143501", "1000000"), iva="76000"), designated, PJ))[("reteiva", "compras")] == D(
        "11400"
    )
    assert ("reteiva", "compras") not in _amounts(compute(_buy(("143501", "1000000"), iva="76000"), BUYER, PJ))


def test_reteiva_needs_the_concepts_base() -> None:
    # compras 400,000 < 523,740: neither ReteFuente nor ReteIVA on IVA 76,000
    assert compute(_buy(("143501", "400000"), iva="76000"), GC, PJ).withholdings == []


# --- ReteICA ---------------------------------------------------------------------------------

BOGOTA = BuyerProfile("900111222", ica_city="11001")


def test_reteica_bogota_services_and_commerce() -> None:
    # servicios 1,000,000 × 9.66 ‰ = 9,660; compras 1,000,000 × 4.14 ‰ = 4,140
    # (+ ReteFuente 40,000 and 25,000)
    result = compute(_buy(("513595", "1000000"), ("143501", "1000000")), BOGOTA, PJ)
    assert _amounts(result) == {
        ("retefuente", "compras"): D("25000"),
        ("retefuente", "servicios"): D("40000"),
        ("reteica", "compras"): D("4140"),
        ("reteica", "servicios"): D("9660"),
    }
    ica = next(w for w in result.withholdings if w.tax == "reteica" and w.concept == "servicios")
    assert (ica.account, ica.rate) == ("236801", D("0.00966"))


def test_reteica_not_for_a_supplier_elsewhere_or_in_regimen_simple() -> None:
    medellin = SupplierProfile("800222333", "juridica", (), city="05001")
    simple = SupplierProfile("800222333", "juridica", ("O-47",), city="11001")
    assert not [w for w in compute(_buy(("513595", "1000000")), BOGOTA, medellin).withholdings if w.tax == "reteica"]
    assert compute(_buy(("513595", "1000000")), BOGOTA, simple).withholdings == []


# --- dates -----------------------------------------------------------------------------------


def test_uvt_change_between_years() -> None:
    # servicios 100,000: 2025-07-15 ≥ 99,598 (2 × 49,799) → 4 % = 4,000; 2026-01-15 < 104,748 → nothing
    assert _amounts(compute(_buy(("513595", "100000"), on=date(2025, 7, 15)), BUYER, PJ)) == {
        ("retefuente", "servicios"): D("4000")
    }
    assert compute(_buy(("513595", "100000"), on=date(2026, 1, 15)), BUYER, PJ).withholdings == []


def test_decreto_0572_lowers_the_compras_base_from_june_2025() -> None:
    # compras 600,000: 2025-05-31 < 1,344,573 (27 UVT) → nothing; 2025-06-01 ≥ 497,990 (10 UVT) → 2.5 % = 15,000
    assert compute(_buy(("143501", "600000"), on=date(2025, 5, 31)), BUYER, PJ).withholdings == []
    assert _amounts(compute(_buy(("143501", "600000"), on=date(2025, 6, 1)), BUYER, PJ)) == {
        ("retefuente", "compras"): D("15000")
    }


# --- the entry -------------------------------------------------------------------------------


def _invoice(doc_type: str = "invoice", **overrides) -> dict:
    invoice = {
        "id": 1, "number": "FE-1", "doc_type": doc_type, "supplier_name": "Asesores SAS",
        "issue_date": "2026-03-10", "line_extension_amount": D("1000000.00"),
        "tax_inclusive_amount": D("1190000.00"), "allowance_total_amount": D("0"), "charge_total_amount": D("0"),
        "lines": [{"account": "511025", "amount": "600000.00"}, {"account": "511025", "amount": "400000.00"}],
        "taxes": [{"kind": "tax", "scheme_id": "01", "amount": "190000.00"}],
    }  # fmt: skip
    invoice.update(overrides)
    return invoice


def _by_account(lines) -> dict:
    return {ln.account: (ln.debit, ln.credit) for ln in lines}


def test_full_entry_gran_contribuyente_in_bogota_balances_to_the_peso() -> None:
    # honorarios 1,000,000 + IVA 190,000 = 1,190,000
    # ReteFuente 11 % = 110,000; ReteIVA 15 % × 190,000 = 28,500; ReteICA 9.66 ‰ = 9,660
    # payable 1,190,000 − 148,160 = 1,041,840
    buyer = BuyerProfile("900111222", gran_contribuyente=True, ica_city="11001")
    invoice = _invoice()
    proposal = propose(invoice, buyer, PJ)
    assert _by_account(proposal.lines) == {
        "511025": (D("1000000.00"), 0),
        "240810": (D("190000.00"), 0),
        "236515": (0, D("110000")),
        "236701": (0, D("28500")),
        "236801": (0, D("9660")),
        "233525": (0, D("1041840.00")),
    }
    assert totals_problem(invoice, proposal.lines) is None
    assert proposal.review_reason is None
    rete = next(ln for ln in proposal.lines if ln.account == "236515")
    assert (rete.base, rete.rate, rete.concept, rete.tax) == (D("1000000.00"), D("0.11"), "honorarios", "retefuente")
    assert "11" in rete.why


def test_non_deductible_iva_goes_to_the_expense() -> None:
    # IVA 190,000 into 511025: 1,190,000 debit; ReteFuente 110,000; payable 1,080,000
    buyer = BuyerProfile("900111222", iva_deductible=False)
    proposal = propose(_invoice(), buyer, PJ)
    assert _by_account(proposal.lines) == {
        "511025": (D("1190000.00"), 0),
        "236515": (0, D("110000")),
        "233525": (0, D("1080000.00")),
    }


def test_xml_withholdings_that_differ_send_the_invoice_to_review_with_both_figures() -> None:
    # the supplier states ReteFuente 100,000 (10 %); the engine computes 110,000 (11 %, persona jurídica)
    invoice = _invoice(taxes=[*_invoice()["taxes"], {"kind": "withholding", "scheme_id": "06", "amount": "100000.00"}])
    proposal = propose(invoice, BUYER, PJ)
    assert _by_account(proposal.lines)["236515"] == (0, D("110000"))
    assert "retefuente: XML 100000.00, calculada 110000" in proposal.review_reason
    agreeing = _invoice(taxes=[*_invoice()["taxes"], {"kind": "withholding", "scheme_id": "06", "amount": "110000.00"}])
    assert propose(agreeing, BUYER, PJ).review_reason is None


def test_credit_note_reverses_its_invoices_withholdings_proportionally() -> None:
    # invoice: honorarios 1,000,000, ReteFuente 110,000. Note for 250,000 + IVA 47,500 = 297,500 (25 %):
    # ReteFuente reversed 110,000 × 0.25 = 27,500 (base 250,000); payable reversed 297,500 − 27,500 = 270,000
    original = {
        "number": "FE-1", "line_extension_amount": "1000000.00",
        "withholdings": [{"tax": "retefuente", "concept": "honorarios", "account": "236515",
                          "base": "1000000.00", "rate": "0.11", "amount": "110000.00"}],
    }  # fmt: skip
    note = _invoice(
        "credit_note",
        number="NC-1",
        line_extension_amount=D("250000.00"),
        tax_inclusive_amount=D("297500.00"),
        lines=[{"account": "511025", "amount": "250000.00"}],
        taxes=[{"kind": "tax", "scheme_id": "01", "amount": "47500.00"}],
    )
    proposal = propose(note, BUYER, PJ, original)
    assert _by_account(proposal.lines) == {
        "511025": (0, D("250000.00")),
        "240810": (0, D("47500.00")),
        "236515": (D("27500"), 0),
        "233525": (D("270000.00"), 0),
    }
    reversal = next(ln for ln in proposal.lines if ln.account == "236515")
    assert (reversal.base, reversal.rate) == (D("250000.00"), D("0.11"))
    assert totals_problem(note, proposal.lines) is None


def test_credit_note_without_its_invoice_is_computed_on_itself() -> None:
    note = _invoice("credit_note", number="NC-2")
    proposal = propose(note, BUYER, PJ)
    assert _by_account(proposal.lines)["236515"] == (D("110000"), 0)
    assert any("not on file" in n for n in proposal.notes)


def test_an_invoice_of_a_year_without_rules_is_balanced_without_withholdings_and_reviewed() -> None:
    invoice = _invoice(issue_date="2019-05-02")
    proposal = propose(invoice, BUYER, PJ)
    assert [ln.account for ln in proposal.lines if ln.tax] == []
    assert totals_problem(invoice, proposal.lines) is None
    assert "no withholding rules for 2019" in proposal.review_reason
