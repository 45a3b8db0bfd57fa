"""The withholding rules in force on a date: include/tax/rules-YYYY.json, one file per tax year.

Every figure lives in data with its ``source``; a rule list inside a year carries ``from`` dates so a
mid-year change (Decreto 0572: new bases from 2025-06-01) is one more entry, not code.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from quincena.core import config


class RulesError(ValueError):
    """No rules for a date, or a rules file that does not hold together (the message names the file)."""


@dataclass(frozen=True)
class ReteFuenteRule:
    concept: str
    valid_from: date
    base_uvt: Decimal
    rates: dict[str, Decimal]  # declarante, no_declarante, optionally juridica and above_annual
    account: str
    source: str
    # A natural person paid more than this many UVT in the year by the buyer (this payment included) is
    # withheld at rates["above_annual"] (honorarios: 11 % above 3,300 UVT); None: no such rule.
    annual_uvt: Decimal | None = None
    # The base is the AIU (the line's IVA-taxable amount), at least this share of the service (aseo,
    # vigilancia, temporary staff: 0.10, Estatuto Tributario art. 462-1); None: the whole line.
    aiu_min_share: Decimal | None = None


@dataclass(frozen=True)
class ReteIvaRule:
    valid_from: date
    rate: Decimal
    account: str
    agents: tuple[str, ...]  # buyer responsibilities that make it a ReteIVA agent (O-13, O-23)
    none_between: tuple[str, ...]  # no ReteIVA when buyer and supplier both hold one of these (O-13)
    source: str


@dataclass(frozen=True)
class IcaActivity:
    per_mil: Decimal
    base_uvt: Decimal


@dataclass(frozen=True)
class ReteIcaRule:
    city: str  # DIVIPOLA code
    name: str
    valid_from: date
    account: str
    activities: dict[str, IcaActivity]
    exempt_supplier_responsibilities: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class TaxRules:
    """The rules of one day: what an invoice issued that day is computed with."""

    on: date
    year: int
    uvt: Decimal
    uvt_source: str
    retefuente: dict[str, ReteFuenteRule]
    exempt_supplier_responsibilities: tuple[str, ...]
    exempt_buyer_regimes: tuple[str, ...]
    reteiva: ReteIvaRule
    reteica: dict[str, ReteIcaRule]

    def threshold(self, base_uvt: Decimal) -> Decimal:
        return base_uvt * self.uvt

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready view of what is in force (``quincena tax rules``)."""
        return {
            "in_force_on": self.on.isoformat(),
            "uvt": {"value": str(self.uvt), "source": self.uvt_source},
            "retefuente": {
                "exempt_supplier_responsibilities": list(self.exempt_supplier_responsibilities),
                "exempt_buyer_regimes": list(self.exempt_buyer_regimes),
                "concepts": {
                    name: {
                        "from": r.valid_from.isoformat(),
                        "base_uvt": str(r.base_uvt),
                        "base_cop": str(self.threshold(r.base_uvt)),
                        "rates": {k: str(v) for k, v in r.rates.items()},
                        **(
                            {"annual_uvt": str(r.annual_uvt), "annual_cop": str(self.threshold(r.annual_uvt))}
                            if r.annual_uvt is not None
                            else {}
                        ),
                        **({"aiu_min_share": str(r.aiu_min_share)} if r.aiu_min_share is not None else {}),
                        "account": r.account,
                        "source": r.source,
                    }
                    for name, r in self.retefuente.items()
                },
            },
            "reteiva": {
                "from": self.reteiva.valid_from.isoformat(),
                "rate": str(self.reteiva.rate),
                "account": self.reteiva.account,
                "agents": list(self.reteiva.agents),
                "none_between": list(self.reteiva.none_between),
                "source": self.reteiva.source,
            },
            "reteica": {
                city: {
                    "name": r.name,
                    "from": r.valid_from.isoformat(),
                    "account": r.account,
                    "activities": {
                        k: {"per_mil": str(a.per_mil), "base_uvt": str(a.base_uvt)} for k, a in r.activities.items()
                    },
                    "exempt_supplier_responsibilities": list(r.exempt_supplier_responsibilities),
                    "source": r.source,
                }
                for city, r in self.reteica.items()
            },
        }


def rules_dir() -> Path:
    return config.include_dir() / "tax"


def available_years() -> list[int]:
    return sorted(int(p.stem.split("-")[1]) for p in rules_dir().glob("rules-*.json") if p.stem[6:].isdigit())


@functools.cache
def _year_file(year: int) -> dict[str, Any]:
    path = rules_dir() / f"rules-{year}.json"
    if not path.is_file():
        years = ", ".join(map(str, available_years())) or "none"
        raise RulesError(f"no withholding rules for {year} ({path.name} is missing; years available: {years})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RulesError(f"{path.name}: not valid JSON ({exc})") from None
    if data.get("year") != year:
        raise RulesError(f"{path.name}: says year {data.get('year')!r}, expected {year}")
    return data


def change_dates(year: int) -> list[date]:
    """Every date of the year on which some rule starts (1 January at least): one set of rules per period."""
    data = _year_file(year)
    starts = {date(year, 1, 1)}
    lists = [*data["retefuente"]["concepts"].values(), data["reteiva"], *data.get("reteica", {}).values()]
    for versions in lists:
        starts.update(date.fromisoformat(v["from"]) for v in versions)
    return sorted(d for d in starts if d.year == year)


def rules_for(on: date) -> TaxRules:
    """The rules in force on ``on`` (an invoice's issue date)."""
    return _rules_for(on)


@functools.cache
def _rules_for(on: date) -> TaxRules:
    data = _year_file(on.year)
    name = f"rules-{on.year}.json"
    try:
        rf = data["retefuente"]
        concepts = {}
        for concept, versions in rf["concepts"].items():
            v = _in_force(versions, on, f"{name} retefuente.{concept}")
            if v is not None:
                concepts[concept] = _retefuente_rule(concept, v, name)
        iva = _in_force(data["reteiva"], on, f"{name} reteiva")
        if iva is None:
            raise RulesError(f"{name}: no ReteIVA rule in force on {on}")
        ica = {}
        for city, versions in data.get("reteica", {}).items():
            v = _in_force(versions, on, f"{name} reteica.{city}")
            if v is not None:
                ica[city] = ReteIcaRule(
                    city=city,
                    name=v.get("name", city),
                    valid_from=date.fromisoformat(v["from"]),
                    account=str(v["account"]),
                    activities={
                        k: IcaActivity(_dec(a["per_mil"], name, city), _dec(a["base_uvt"], name, city))
                        for k, a in v["activities"].items()
                    },
                    exempt_supplier_responsibilities=tuple(v.get("exempt_supplier_responsibilities", ())),
                    source=_source(v, name, f"reteica.{city}"),
                )
        return TaxRules(
            on=on,
            year=on.year,
            uvt=_dec(data["uvt"]["value"], name, "uvt"),
            uvt_source=_source(data["uvt"], name, "uvt"),
            retefuente=concepts,
            exempt_supplier_responsibilities=tuple(rf["exempt_supplier_responsibilities"]["codes"]),
            exempt_buyer_regimes=tuple(rf["exempt_buyer_regimes"]["regimes"]),
            reteiva=ReteIvaRule(
                valid_from=date.fromisoformat(iva["from"]),
                rate=_dec(iva["rate"], name, "reteiva"),
                account=str(iva["account"]),
                agents=tuple(iva["agents"]),
                none_between=tuple(iva["none_between"]),
                source=_source(iva, name, "reteiva"),
            ),
            reteica=ica,
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, RulesError):
            raise
        raise RulesError(f"{name}: malformed rules ({type(exc).__name__}: {exc})") from None


def _retefuente_rule(concept: str, version: dict[str, Any], name: str) -> ReteFuenteRule:
    rates = {k: _dec(r, name, concept) for k, r in version["rates"].items()}
    annual = version.get("annual_uvt")
    if annual is not None and "above_annual" not in rates:
        raise RulesError(f"{name}: retefuente.{concept} has 'annual_uvt' but no 'above_annual' rate")
    return ReteFuenteRule(
        concept=concept,
        valid_from=date.fromisoformat(version["from"]),
        base_uvt=_dec(version["base_uvt"], name, concept),
        rates=rates,
        account=str(version["account"]),
        source=_source(version, name, concept),
        annual_uvt=None if annual is None else _dec(annual, name, concept),
        aiu_min_share=_share(version.get("aiu_min_share"), name, concept),
    )


def _share(value: Any, name: str, concept: str) -> Decimal | None:
    if value is None:
        return None
    share = _dec(value, name, concept)
    if share > 1:
        raise RulesError(f"{name}: retefuente.{concept} aiu_min_share {value!r} must be a fraction (0.10 = 10 %)")
    return share


def _in_force(versions: list[dict[str, Any]], on: date, where: str) -> dict[str, Any] | None:
    """The last version whose ``from`` is on or before ``on``."""
    dated = sorted(((date.fromisoformat(v["from"]), i) for i, v in enumerate(versions)), reverse=True)
    for start, index in dated:
        if start.year != on.year:
            raise RulesError(f"{where}: 'from' {start} is outside the file's year")
        if start <= on:
            return versions[index]
    return None


def _dec(value: Any, name: str, where: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise RulesError(f"{name}: {where}: {value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise RulesError(f"{name}: {where}: {value!r} must be a non-negative number")
    return number


def _source(entry: dict[str, Any], name: str, where: str) -> str:
    source = (entry.get("source") or "").strip()
    if not source:
        raise RulesError(f"{name}: {where} has no 'source': every figure must say where it comes from")
    return source
