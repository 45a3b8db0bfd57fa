"""Which withholding concept a purchase line falls under: include/tax/concepts.json (account prefix → concept)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from quincena.books.withholdings.rules import RulesError, rules_dir


@dataclass(frozen=True)
class ConceptMap:
    default: str
    prefixes: dict[str, str]
    labels: dict[str, str]
    ica_activities: dict[str, str | None]
    declarante_default: dict[str, bool]

    def concept_of(self, account: str) -> str:
        """Longest matching prefix of the account; ``default`` when none matches."""
        for size in range(len(account), 0, -1):
            concept = self.prefixes.get(account[:size])
            if concept:
                return concept
        return self.default

    def label(self, concept: str) -> str:
        return self.labels.get(concept, concept)


@functools.cache
def concept_map() -> ConceptMap:
    path = rules_dir() / "concepts.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        concepts = data["concepts"]
        prefixes = {str(k): str(v) for k, v in data["prefixes"].items()}
        unknown = sorted({v for v in prefixes.values()} - set(concepts)) + (
            [data["default"]] if data["default"] not in concepts else []
        )
        if unknown:
            raise RulesError(f"{path.name}: prefixes name unknown concept(s) {', '.join(unknown)}")
        defaults = data["declarante_default"]
        return ConceptMap(
            default=data["default"],
            prefixes=prefixes,
            labels={k: v["label"] for k, v in concepts.items()},
            ica_activities={k: v.get("ica_activity") for k, v in concepts.items()},
            declarante_default={k: bool(defaults[k]) for k in ("juridica", "natural", "unknown")},
        )
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise RulesError(f"{path.name}: cannot read the concept map ({type(exc).__name__}: {exc})") from None
