"""Documents nobody here wrote (../shared/corpus/dian-real/): each yields a supplier profile and a balanced entry."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from quincena.books import causacion
from quincena.books.withholdings.engine import BuyerProfile, SupplierProfile
from quincena.books.withholdings.rules import available_years
from quincena.ingest.dian import parse_file


def _corpus() -> Path | None:
    override = os.environ.get("QUINCENA_CORPUS")
    if override:
        return Path(override)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "corpus" / "dian-real"
        if candidate.is_dir():
            return candidate
    return None


CORPUS = _corpus()
FILES = sorted(CORPUS.glob("*.xml")) if CORPUS else []
BUYERS = [
    BuyerProfile("900111222"),
    BuyerProfile("900111222", gran_contribuyente=True, ica_city="11001", iva_deductible=False),
]


@pytest.mark.skipif(not FILES, reason="the real DIAN corpus (shared/corpus/dian-real) is not present")
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_real_document_yields_a_balanced_entry(path: Path) -> None:
    for doc in parse_file(path):
        supplier = causacion.supplier_of(doc)
        assert supplier.person_type in ("juridica", "natural", None)
        for buyer in BUYERS:
            accounts = {line.line_no: "513595" if i % 2 else "143501" for i, line in enumerate(doc.lines)}
            entry = causacion.proposal_dict(doc, buyer, supplier, accounts)
            debit, credit = Decimal(entry["totals"]["debit"]), Decimal(entry["totals"]["credit"])
            assert debit == credit, (path.name, entry["lines"])
            if doc.issue_date.year in available_years():
                assert not (entry["review"] or "").startswith("retenciones sin calcular"), entry["review"]
            for line in entry["lines"]:
                if line["tax"]:
                    assert line["base"] is not None and line["rate"] is not None, line


@pytest.mark.skipif(not FILES, reason="the real DIAN corpus (shared/corpus/dian-real) is not present")
def test_supplier_profiles_read_from_the_corpus() -> None:
    # d14: a gran contribuyente issuer (TaxLevelCode O-13); r03: a persona natural (R-99-PN) in 76520;
    # d01: persona jurídica in Bogotá (11001)
    [d14] = parse_file(CORPUS / "d14_dian_impuestos_saludables.xml")
    assert d14.supplier.tax_level_codes == ("O-13",)
    [r03] = parse_file(CORPUS / "r03_apidiango_setp990000003_signed.xml")
    assert causacion.supplier_of(r03) == SupplierProfile(r03.supplier.nit, "natural", ("R-99-PN",), "76520")
    [d01] = parse_file(CORPUS / "d01_dian_generica.xml")
    profile = causacion.supplier_of(d01)
    assert (profile.person_type, profile.city) == ("juridica", "11001")
