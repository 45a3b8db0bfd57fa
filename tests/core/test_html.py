"""The reports' HTML helpers: readable headers, money as US$, ratios as %, lists as prose, narrow screens."""

from decimal import Decimal

from quincena.core import html


def test_money_ratios_and_lists_read_as_a_person_expects() -> None:
    assert html.usd(Decimal("0.04538543")) == "US$0,04538543"
    assert html.usd(Decimal("1234567.5")) == "US$1.234.567,50"
    assert html.usd(Decimal("0E-8")) == "US$0,00"
    assert html.percent(Decimal("0.0525")) == "5,3 %"
    assert html.esc([["01:00", "04:00"], ["06:00", "10:00"]]) == "01:00–04:00, 06:00–10:00"
    assert html.esc(["a", "b"]) == "a, b"


def test_tables_have_readable_headers_formatted_cells_and_scroll_sideways() -> None:
    rows = [{"member": "900373115", "cost_usd": Decimal("0.5"), "cache_hit_ratio": 0.25, "calls": 3}]
    page = html.table(rows)
    assert "<th>NIT / clave</th>" in page and "<th>Costo exacto</th>" in page and "<th>Llamadas HTTP</th>" in page
    assert "US$0,50" in page and "25,0 %" in page and "cost_usd" not in page
    assert page.startswith("<div class='scroll'>")
    assert html.header("some_new_column") == "Some new column"
    chart = html.bar_chart("t", ["a"], {"s": [1]})
    assert "viewBox=" in chart  # scales down (max-width:100%) instead of overflowing a laptop screen


def test_numbers_and_dates_in_colombian_notation() -> None:
    from datetime import date

    rows = [{"member": "900373115", "completion_tokens": 1234567, "total_balance": "3.50", "p50_ms": 1234.5,
             "issue_date": date(2026, 12, 2), "year": 2026, "cycle_id": "2026-11-Q1"}]  # fmt: skip
    page = html.table(rows)
    for shown in ("900373115", "1.234.567", "3,50", "1.234,5", "2 de diciembre de 2026", ">2026<", "2026-11-Q1"):
        assert shown in page, shown
