"""Production agreement: how often the accountants kept the model's proposed account.

From the review audit trail (``classification_history``): for each reviewed line, the accountant's
first action on it is the verdict on the model's proposal: **kept** (the proposal stands; an
approved invoice's untouched lines count as kept), **changed** (another account) or **filled**
(the model proposed nothing, the line went to review). Agreement = kept / (kept + changed + filled).
Only model proposals count (supplier-memory lines are not the model's answer). Figures come per
cycle x company, per cycle (the trend), per model x prompt version, with the most corrected accounts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from quincena.core import db

TREND_CYCLES = 6
# A model or prompt version is compared with the previous one only with this many reviewed lines each.
MIN_LINES_TO_COMPARE = 20


def verdict(row: Mapping[str, Any]) -> str:
    """kept | changed | filled for one reviewed line (a 'change' to the same account is a keep)."""
    if row["action"] == "filled" or row["old_account"] is None:
        return "filled"
    if row["action"] == "kept" or row["new_account"] == row["old_account"]:
        return "kept"
    return "changed"


def counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """kept / changed / filled counts and shares; agreement is the kept share (None without lines)."""
    tally = Counter(verdict(r) for r in rows)
    reviewed = sum(tally.values())
    result: dict[str, Any] = {"reviewed": reviewed}
    for name in ("kept", "changed", "filled"):
        result[name] = tally[name]
        result[f"{name}_share"] = round(tally[name] / reviewed, 4) if reviewed else None
    result["agreement"] = result["kept_share"]
    return result


def top_corrections(rows: Iterable[Mapping[str, Any]], limit: int = 10) -> list[dict[str, Any]]:
    """The most frequent (proposed -> chosen) corrections, filled lines as '' -> chosen."""
    pairs = Counter(
        (r["old_account"] or "", r["new_account"] or "") for r in rows if verdict(r) in ("changed", "filled")
    )
    return [
        {"proposed": old, "chosen": new, "lines": n}
        for (old, new), n in sorted(pairs.items(), key=lambda item: (-item[1], item[0]))[:limit]
    ]


def most_corrected_accounts(rows: Iterable[Mapping[str, Any]], limit: int = 10) -> list[dict[str, Any]]:
    """Proposed accounts the accountants changed most often, with how often they were kept."""
    by_account: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        if r["old_account"]:
            by_account[r["old_account"]][verdict(r)] += 1
    ranked = sorted(by_account.items(), key=lambda item: (-item[1]["changed"], item[0]))
    return [
        {"account": code, "proposed": sum(c.values()), "changed": c["changed"], "kept": c["kept"]}
        for code, c in ranked[:limit]
        if c["changed"]
    ]


def figures_for(cycles: Sequence[str]) -> dict[str, Any]:
    """Every agreement figure over ``cycles`` (oldest first in the trend); plain JSON-able values."""
    rows = db.query("agreement_lines", {"cycles": list(cycles)}) if cycles else []
    by_cycle: dict[str, list] = defaultdict(list)
    by_company: dict[tuple[str, str], list] = defaultdict(list)
    names: dict[str, str] = {}
    by_version: dict[tuple[str, str], list] = defaultdict(list)
    first_cycle: dict[tuple[str, str], str] = {}
    for r in rows:
        by_cycle[r["cycle_id"]].append(r)
        by_company[(r["cycle_id"], r["company_nit"])].append(r)
        names[r["company_nit"]] = r["company_name"] or ""
        if r["model"] or r["prompt_version"]:
            key = (r["model"] or "?", r["prompt_version"] or "?")
            by_version[key].append(r)
            first_cycle[key] = min(first_cycle.get(key, r["cycle_id"]), r["cycle_id"])
    latest = max(cycles) if cycles else None
    latest_rows = by_cycle.get(latest, []) if latest else []
    return {
        "cycles": sorted(cycles),
        "latest_cycle": latest,
        "latest": counts(latest_rows),
        "trend": [{"cycle_id": c, **counts(by_cycle.get(c, []))} for c in sorted(cycles)],
        "companies": [
            {"cycle_id": c, "nit": nit, "name": names.get(nit, ""), **counts(group)}
            for (c, nit), group in sorted(by_company.items())
        ],
        "versions": [
            {"model": m, "prompt_version": v, "first_cycle": first_cycle[(m, v)], **counts(group)}
            for (m, v), group in sorted(by_version.items(), key=lambda item: (first_cycle[item[0]], item[0]))
        ],
        "top_corrections": top_corrections(latest_rows),
        "most_corrected_accounts": most_corrected_accounts(latest_rows),
        "min_lines": MIN_LINES_TO_COMPARE,
    }


def recent_cycles(
    cycle: str | None = None, before: datetime | date | None = None, limit: int = TREND_CYCLES
) -> list[str]:
    rows = db.query("agreement_cycles", {"cycle": cycle, "before": before, "limit": limit})
    return sorted(r["cycle_id"] for r in rows)


def cycle_figures(cycle_id: str, limit: int = TREND_CYCLES) -> dict[str, Any]:
    """The cycle report's view: this cycle's figures and the cycles before it."""
    cycles = recent_cycles(cycle=cycle_id, limit=limit)
    figures = figures_for(cycles)
    if cycle_id not in cycles:  # not reviewed yet: the trend stays, this cycle has no figures
        figures.update(latest_cycle=cycle_id, latest=counts([]), top_corrections=[], most_corrected_accounts=[])
    return figures


def weekly_figures(before: datetime | date, limit: int = TREND_CYCLES) -> dict[str, Any]:
    """The weekly report's view: the latest cycles with review actions before the week's end."""
    return figures_for(recent_cycles(before=before, limit=limit))


def agreement_html(figures: Mapping[str, Any]) -> str:
    """The agreement section of the cycle and weekly reports (trend chart, tables)."""
    from quincena.core import html

    trend = figures["trend"]
    latest = figures["latest"]
    if latest["reviewed"]:
        head = (
            f"<p class='meta'>Quincena {html.esc(figures['latest_cycle'])}: los contadores mantuvieron "
            f"{latest['kept']} de {latest['reviewed']} propuestas del modelo (acuerdo "
            f"{html.esc(html.percent(latest['agreement']))}), cambiaron {latest['changed']} y completaron "
            f"{latest['filled']} que el modelo dejó vacías.</p>"
        )
    else:
        head = (
            f"<p class='meta'>Quincena {html.esc(figures['latest_cycle'])}: todavía no hay propuestas del modelo "
            "revisadas.</p>"
        )
    chart = html.bar_chart(
        "Acuerdo por quincena (propuestas del modelo mantenidas)",
        [t["cycle_id"] for t in trend],
        {"acuerdo": [t["agreement"] or 0 for t in trend]},
    )
    columns = ["reviewed", "kept", "changed", "filled", "agreement", "changed_share", "filled_share"]
    latest_companies = [c for c in figures["companies"] if c["cycle_id"] == figures["latest_cycle"]]
    return "".join(
        [
            head,
            chart,
            html.table(trend, ["cycle_id", *columns]),
            "<h3>Por empresa (esta quincena)</h3>",
            html.table(latest_companies, ["nit", "name", *columns]),
            "<h3>Correcciones más frecuentes (propuesta → elegida)</h3>",
            html.table(figures["top_corrections"]),
            "<h3>Cuentas propuestas más corregidas</h3>",
            html.table(figures["most_corrected_accounts"]),
            "<h3>Por modelo y versión del prompt</h3>",
            html.table(figures["versions"], ["model", "prompt_version", "first_cycle", *columns]),
        ]
    )
