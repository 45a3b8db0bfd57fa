from datetime import date
from decimal import Decimal

from quincena.core import es


def test_colombian_numbers_and_dates() -> None:
    assert es.number(Decimal("1234567.891")) == "1.234.567,89"
    assert es.number(Decimal("0.0372"), 8) == "0,03720000"
    assert es.number(-1234, 0) == "-1.234"
    assert es.percent(Decimal("0.12345")) == "12,35 %"
    assert es.long_date(date(2026, 12, 2)) == "2 de diciembre de 2026"
    assert es.month_year(date(2026, 11, 1)) == "noviembre de 2026"
