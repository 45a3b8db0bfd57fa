"""The cycle report fits a 1366 px laptop screen: no table needs sideways scrolling, in real Chromium,
with long company names and the widest figures a cycle produces (costs to eight decimals, millions of tokens)."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest

from quincena.costs import cycle_costs

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
NO_BROWSER = "no browser: install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
WIDEST_TABLE = """
return Array.from(document.querySelectorAll('table')).map(t => {
  const box = t.parentElement.getBoundingClientRect();
  return [t.querySelector('th') ? t.querySelector('th').textContent : '', t.scrollWidth, Math.floor(box.width)];
});
"""


def _row(member: str, name: str) -> dict:
    return {
        "member": member, "name": name, "invoices": 1500, "classified": 1480, "review": 15, "pending": 5,
        "quarantined_files": 12, "memory_lines": 123456, "model_lines": 98765, "calls": 123456, "ok_calls": 120000,
        "rate_limited": 3456, "failed_calls": 12, "in_flight_calls": 3, "prompt_cache_hit_tokens": 987654321,
        "prompt_cache_miss_tokens": 123456789, "completion_tokens": 98765432, "cost_usd": Decimal("1234.56789012"),
        "peak_cost_usd": Decimal("234.56789012"), "off_peak_cost_usd": Decimal("1000.00000000"),
        "proportional_cost_usd": Decimal("1111.11111111"), "avg_cost_per_invoice_usd": Decimal("0.82304526"),
        "cache_hit_ratio": 0.8889, "first_call_s": 12345, "last_call_s": 54321, "memory_share_of_lines": 0.5556,
    }  # fmt: skip


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason=NO_BROWSER)
def test_no_table_is_wider_than_a_1366_screen(tmp_path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    companies = [_row(f"90037311{i}", "Distribuidora de Materiales y Ferretería del Caribe S.A.S.") for i in range(3)]
    keys = [_row(f"contab-{i}", f"contab-{i}") for i in range(5)]
    costs = cycle_costs.CycleCosts("2026-11-Q1", companies, keys, _row("all", "all companies"))
    path = tmp_path / "cycle_report.html"
    path.write_text(cycle_costs.render_html(costs), encoding="utf-8")

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1366,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.get(path.as_uri())
        tables = driver.execute_script(WIDEST_TABLE)
        viewport = driver.execute_script("return document.documentElement.clientWidth")
        driver.save_screenshot(str(tmp_path / "cycle_report.png"))
    finally:
        driver.quit()
    assert viewport <= 1366 and len(tables) >= 5
    too_wide = [(head, width, room) for head, width, room in tables if width > room]
    assert too_wide == [], too_wide
