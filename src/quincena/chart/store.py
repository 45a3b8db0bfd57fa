"""A company's chart and map in the database, and what the rest of the product asks of them.

- ``import_chart``: replace the company's chart with a validated file's, all or nothing; a re-import of the
  same accounts changes nothing; every import that changes something is recorded with its differences.
- ``targets``: the accounts a purchase line of the company may take. With a chart: its active accounts that
  accept movements and sit under one of the catalog's purchase sub-accounts (the 6-digit prefix keeps the
  concept, so withholdings and reports keep working). Without one: the catalog's purchase sub-accounts.
- ``import_map`` / ``export_code``: "book 513530 as 51353001", applied when a journal line is exported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quincena.chart.reading import ChartAccount, ChartError, digest, read_chart, read_table
from quincena.core import db, puc


@dataclass(frozen=True)
class Target:
    """An account a purchase line may be booked to, with the catalog sub-account it sits under."""

    code: str
    name: str
    puc_code: str
    puc_name: str


class Targets(dict[str, Target]):
    """``code -> Target``; ``own``: the company's chart (True) or the shipped catalog (False)."""

    def __init__(self, items: dict[str, Target], own: bool) -> None:
        super().__init__(items)
        self.own = own


@dataclass(frozen=True)
class ImportResult:
    program: str
    accounts: int
    added: list[str]
    removed: list[str]
    changed: list[str]
    recorded: bool  # False: the same accounts were already on file


@dataclass(frozen=True)
class MapResult:
    pairs: int
    added: list[str]  # "513530 -> 51353001", new generic codes
    removed: list[str]
    changed: list[str]  # "513530 -> 51353001 (was 51353002)"


class CompanyChart:
    """A company's accounts (empty when it has none) and map, read once for a step."""

    def __init__(self, company_nit: str, accounts: list[dict[str, Any]], mapping: dict[str, str]) -> None:
        self.company_nit = company_nit
        self.accounts = {a["code"]: a for a in accounts}
        self.mapping = mapping

    @property
    def has_chart(self) -> bool:
        return bool(self.accounts)

    def postable(self, code: str) -> bool:
        """An account the company's program accepts a posting to (anything, without a chart)."""
        account = self.accounts.get(code)
        return not self.has_chart or bool(account and account["active"] and account["movements"])

    def targets(self) -> Targets:
        catalog = puc.purchase_accounts()
        if not self.has_chart:
            return Targets({code: Target(code, a.name, code, a.name) for code, a in catalog.items()}, own=False)
        own = {
            code: Target(code, a["name"], code[:6], catalog[code[:6]].name)
            for code, a in self.accounts.items()
            if len(code) >= 6 and code[:6] in catalog and a["active"] and a["movements"]
        }
        return Targets(own, own=True)

    def bookable(self) -> Targets:
        """What a reviewed line may keep or take: the targets, and, with a chart, a catalog sub-account the
        export books to one of them (through the map, or its one postable auxiliary), so that a line classified
        before the chart was imported is approved as it is."""
        own = self.targets()
        if not own.own:
            return own
        generic = {
            code: Target(code, a.name, code, a.name)
            for code, a in puc.purchase_accounts().items()
            if code not in own and self.export_code(code) in own
        }
        return Targets({**own, **generic}, own=True)

    def export_code(self, code: str) -> str | None:
        """The code a journal line is exported with: the map's auxiliary for a generic sub-account, the code
        itself when the company may post to it, else its one postable auxiliary; None when there is none."""
        mapped = self.mapping.get(code)
        if mapped:
            return mapped if self.postable(mapped) else None
        if self.postable(code):
            return code
        under = [c for c in self.accounts if c.startswith(code) and c != code and self.postable(c)]
        return under[0] if len(under) == 1 else None

    def name_of(self, code: str) -> str | None:
        account = self.accounts.get(code)
        if account:
            return account["name"]
        known = {a.code: a.name for a in puc.catalog()}
        return known.get(code)


def in_company_codes(chart: CompanyChart, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Journal lines (``account`` each) with the codes the company's program accepts; ChartError names every
    code that has none (not in its chart, inactive, or several auxiliaries under it and no map), with the
    invoices that use it: such a line is never exported."""
    missing: dict[str, set[str]] = {}
    out = []
    for row in rows:
        code = chart.export_code(row["account"])
        if code is None:
            missing.setdefault(row["account"], set()).add(str(row.get("invoice_number", "")))
        out.append({**row, "account": code})
    if missing:
        raise ChartError("; ".join(_unexportable_reason(chart, code, shown) for code, shown in sorted(missing.items())))
    return out


def _unexportable_reason(chart: CompanyChart, code: str, invoices: set[str]) -> str:
    shown = f"invoices {', '.join(sorted(invoices)[:5])}"
    if code in puc.purchase_accounts() or len(code) == 6:
        return (
            f"account {code} has no postable account in the chart of company {chart.company_nit} ({shown}): "
            "map it (quincena chart map) or re-classify"
        )
    return (
        f"account {code} is no longer an active account that accepts movements in the chart of company "
        f"{chart.company_nit} ({shown}): re-classify those invoices on the review page"
    )


def unexportable(chart: CompanyChart, codes: set[str]) -> list[str]:
    """The codes among ``codes`` that the company's program would refuse (see in_company_codes)."""
    return sorted(code for code in codes if chart.export_code(code) is None)


def load(company_nit: str, conn=None) -> CompanyChart:
    accounts = db.query("chart_accounts", {"company_nit": company_nit}, conn)
    mapping = {r["puc_code"]: r["company_code"] for r in db.query("chart_map", {"company_nit": company_nit}, conn)}
    return CompanyChart(company_nit, accounts, mapping)


def targets(company_nit: str, conn=None) -> Targets:
    return load(company_nit, conn).targets()


def bookable(company_nit: str, conn=None) -> Targets:
    return load(company_nit, conn).bookable()


def import_chart(company_nit: str, path: Path, user: str, program: str | None = None) -> ImportResult:
    """Validate the file, then replace the company's chart with it in one transaction."""
    chosen, accounts = read_chart(path, program)
    if not CompanyChart(company_nit, [a.to_dict() for a in accounts], {}).targets():
        raise ChartError(
            f"{path}: no account of the file may take a purchase line (an active account that accepts movements "
            "under one of the catalog's purchase sub-accounts): every invoice of the company would go to review"
        )
    new_digest = digest(accounts)
    with db.transaction() as cur:
        conn = cur.connection
        _lock_company(company_nit, conn)
        old = {a["code"]: a for a in db.query("chart_accounts", {"company_nit": company_nit}, conn)}
        added, removed, changed = _differences(old, accounts)
        result = ImportResult(chosen.program, len(accounts), added, removed, changed, bool(added or removed or changed))
        if not result.recorded and old:
            return result
        db.execute("chart_accounts_clear", {"company_nit": company_nit}, conn)
        rows = [{"company_nit": company_nit, **a.to_dict()} for a in accounts]
        db.execute_many("chart_account_insert", rows, cur)
        changes = [{"code": c, "change": kind} for kind, codes in
                   (("added", added), ("removed", removed), ("changed", changed)) for c in codes]  # fmt: skip
        record = {
            "company_nit": company_nit, "program": chosen.program, "file_name": path.name[:200],
            "digest": new_digest, "accounts": len(accounts), "added": len(added), "removed": len(removed),
            "changed": len(changed), "changes": json.dumps(changes), "imported_by": user,
        }  # fmt: skip
        db.execute("chart_import_insert", record, conn)
    return result


def _lock_company(company_nit: str, conn) -> None:
    """One writer of a company's chart and map at a time; ChartError for a company not in the registry."""
    if not db.query("ingest_company_get", {"nit": company_nit}, conn):
        raise ChartError(f"company {company_nit} is not in the registry (quincena companies import)")
    db.execute("chart_lock", {"company_nit": company_nit}, conn)


def _differences(old: dict[str, dict[str, Any]], new: list[ChartAccount]) -> tuple[list[str], list[str], list[str]]:
    """Codes added, removed, and changed (name, active or movements) from ``old`` to ``new``."""
    fresh = {a.code: a for a in new}
    added = sorted(set(fresh) - set(old))
    removed = sorted(set(old) - set(fresh))
    changed = sorted(
        code
        for code in set(old) & set(fresh)
        if (old[code]["name"], old[code]["active"], old[code]["movements"])
        != (fresh[code].name, fresh[code].active, fresh[code].movements)
    )
    return added, removed, changed


def broken_by_chart(company_nit: str) -> list[str]:
    """What the company's chart on file leaves without a postable account: accounts its open books use and
    entries of its map, one line each (empty when nothing is)."""
    chart = load(company_nit)
    found = [
        f"{row['code']} is used by {row['invoices']} invoice(s) of {row['cycles']} not yet approved: re-classify "
        "them on the review page" + (" or map it (quincena chart map)" if len(row["code"]) == 6 else "")
        for row in db.query("chart_codes_in_use", {"company_nit": company_nit})
        if chart.export_code(row["code"]) is None
    ]
    found += [
        f"the map books {generic} to {own}, which is no longer an active account that accepts movements: "
        "import the map again"
        for generic, own in sorted(chart.mapping.items())
        if not chart.postable(own)
    ]
    return found


def last_import(company_nit: str) -> dict[str, Any] | None:
    rows = db.query("chart_import_last", {"company_nit": company_nit})
    return rows[0] if rows else None


def mapping(company_nit: str) -> list[dict[str, Any]]:
    return db.query("chart_map", {"company_nit": company_nit})


def import_map(company_nit: str, path: Path) -> MapResult:
    """Replace the company's map with a CSV's (puc_code, company_code), every row validated first:
    the generic code is a catalog sub-account, the company's code sits under it and, when the company has a
    chart, is one of its postable accounts."""
    if not path.is_file():
        raise ChartError(f"{path}: no such file")
    headers, rows = read_table(path)
    if not {"puc_code", "company_code"} <= set(headers):
        raise ChartError(f"{path}: the map needs the columns puc_code and company_code")
    known = {a.code for a in puc.catalog() if a.level == "subaccount"}
    with db.transaction() as cur:
        _lock_company(company_nit, cur.connection)  # the chart the map is checked against cannot change meanwhile
        chart = load(company_nit, cur.connection)
        errors, pairs = [], {}
        for number, row in rows:
            generic, own = (row.get(column, "").replace(".", "") for column in ("puc_code", "company_code"))
            problem = _map_problem(generic, own, known, chart, pairs)
            if problem:
                errors.append(f"row {number}: {problem}")
            else:
                pairs[generic] = own
        if errors:
            raise ChartError("\n".join(errors))
        result = _map_differences(chart.mapping, pairs)
        db.execute("chart_map_clear", {"company_nit": company_nit}, cur.connection)
        db.execute_many(
            "chart_map_insert",
            [{"company_nit": company_nit, "puc_code": g, "company_code": c, "file_name": path.name[:200]}
             for g, c in sorted(pairs.items())],
            cur,
        )  # fmt: skip
    return result


def _map_differences(old: dict[str, str], new: dict[str, str]) -> MapResult:
    """What a map import changes, pair by pair."""
    return MapResult(
        len(new),
        [f"{g} -> {new[g]}" for g in sorted(set(new) - set(old))],
        [f"{g} -> {old[g]}" for g in sorted(set(old) - set(new))],
        [f"{g} -> {new[g]} (was {old[g]})" for g in sorted(set(old) & set(new)) if old[g] != new[g]],
    )


def _map_problem(generic: str, own: str, known: set[str], chart: CompanyChart, seen: dict[str, str]) -> str | None:
    if generic not in known:
        return f"{generic[:24]!r} is not a sub-account of the catalog"
    if generic in seen:
        return f"{generic} is mapped twice"
    if not (own.isascii() and own.isdigit()) or not own.startswith(generic) or len(own) <= len(generic):
        return f"{own[:24]!r} is not an auxiliary under {generic}"
    if chart.has_chart and not chart.postable(own):
        return f"{own} is not an active account of the company's chart that accepts movements"
    return None
