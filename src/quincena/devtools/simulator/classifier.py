"""The simulator's stand-in for the model: keyword rules from Spanish invoice text to PUC accounts.

It answers only the classification wire format (a contract any DeepSeek-compatible server can be
tested against): the LAST user message holds ``{"items": [{"id": ..., "description": ...,
"supplier_name": ..., ...}]}``; the answer is ``{"classifications": [{"id", "account", "confidence"}]}``.
A system message listing a company's own accounts (lines ``code name [sub-account]``, as
``classify.prompt.company_block`` writes them) makes it answer with one of those accounts: the one under
the sub-account its rules chose whose name shares most words with the line.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

FALLBACK_ACCOUNT = "519595"  # Diversos: otros
FALLBACK_CONFIDENCE = 0.35
# Plausible-looking codes that are not in the PUC catalog: what a hallucinating model answers.
OFF_CATALOG_ACCOUNTS = ("519597", "513599", "512099")

# Most specific first: the first matching rule wins. Patterns run on lower-case text without accents.
RULES: tuple[tuple[str, str], ...] = (
    ("511010", r"revisoria fiscal|revisor fiscal"),
    ("511025", r"asesoria juridica|asesoria legal|abogad|juridic"),
    ("511030", r"asesoria (contable|financiera|tributaria)|contabilidad|contador"),
    ("514525", r"mantenimiento.*(computador|equipo(s)? de computo|impresora|portatil|servidor)"),
    ("514540", r"mantenimiento.*(vehiculo|moto|camion|camioneta|carro)|cambio de aceite|llantas"),
    ("513040", r"(poliza|seguro).*(vehiculo|auto|moto|camioneta)|\bsoat\b"),
    ("513095", r"\bpoliza|\bseguro"),
    ("512010", r"arriendo|arrendamiento|canon de"),
    ("513530", r"energia|electricidad|\bkwh\b"),
    ("513525", r"acueducto|alcantarillado|agua potable"),
    ("513555", r"gas natural"),
    ("513535", r"telefonia|internet|plan de datos|celular|fibra optica"),
    ("519525", r"cafeteria|\bcafe\b|azucar|aromatica|elementos de aseo|jabon|detergente"),
    ("513505", r"vigilancia|seguridad privada|\baseo\b|limpieza"),
    ("515515", r"pasaje|tiquete|\bvuelo"),
    ("515505", r"hotel|alojamiento|hospedaje"),
    ("513540", r"correo certificado"),
    ("513550", r"flete|mensajeria|courier|\benvio|transporte de (carga|mercancia)|\btransporte"),
    ("513520", r"software|licencia|hosting|dominio web|\bnube\b|suscripcion"),
    ("519530", r"papeleria|resma|toner|cartucho|esfero|lapicero|fotocopia"),
    ("519535", r"combustible|gasolina|\bacpm\b|diesel|lubricante"),
    ("152805", r"computador|portatil|laptop"),
    ("152405", r"escritorio|silla|archivador|mueble"),
    ("519560", r"restaurante|almuerzo|\bcena\b|desayuno|refrigerio"),
    ("519565", r"parqueadero|parqueo|estacionamiento"),
    ("519545", r"\btaxi"),
    ("530515", r"comision bancaria|cuota de manejo|comision"),
    ("513510", r"temporales|personal en mision|\btemporal\b"),
    ("143501", r"mercancia|para la venta|inventario"),
)
_COMPILED = tuple((account, re.compile(pattern)) for account, pattern in RULES)
_CHART_LINE = re.compile(r"^(\d{6,12}) (.+) \[(\d{6})\]$", re.MULTILINE)


def normalize(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def classify_line(description: str, supplier_name: str = "") -> tuple[str, float]:
    """(account, confidence): the line's own words count more than the supplier's name."""
    for text, confidence in ((normalize(description), 0.92), (normalize(supplier_name), 0.74)):
        for account, pattern in _COMPILED:
            if pattern.search(text):
                return account, confidence
    return FALLBACK_ACCOUNT, FALLBACK_CONFIDENCE


def extract_items(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
    """The items of the last user message, or None when it does not carry the wire format."""
    users = [m for m in messages if m.get("role") == "user"]
    if not users:
        return None
    text = str(users[-1].get("content") or "")
    for candidate in (text, text[text.find("{") : text.rfind("}") + 1]):
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("items"), list):
            return [item for item in data["items"] if isinstance(item, dict)]
    return None


def company_accounts(messages: Sequence[Mapping[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """A company's own accounts listed in the system messages: sub-account -> [(code, name)]."""
    found: dict[str, list[tuple[str, str]]] = {}
    for message in messages:
        if message.get("role") == "system":
            for code, name, parent in _CHART_LINE.findall(str(message.get("content") or "")):
                found.setdefault(parent, []).append((code, normalize(name)))
    return found


def own_account(account: str, text: str, accounts: dict[str, list[tuple[str, str]]]) -> str:
    """The company's account under ``account`` whose name shares most words with ``text`` (first on a tie);
    the sub-account itself (which the caller then refuses) when the company has none under it."""
    under = accounts.get(account)
    if not under:
        return account
    words = set(normalize(text).split())
    return max(under, key=lambda entry: (len(words & set(entry[1].split())), -under.index(entry)))[0]


def answer(messages: Sequence[Mapping[str, Any]], rng: random.Random, off_catalog_rate: float = 0.0) -> str:
    """The model's content for a request (JSON text)."""
    items = extract_items(messages)
    if items is None:
        return json.dumps({"answer": "Solo clasifico líneas de factura en el PUC."}, ensure_ascii=False)
    chart = company_accounts(messages)
    results = []
    for item in items:
        description = str(item.get("description", ""))
        account, confidence = classify_line(description, str(item.get("supplier_name", "")))
        if chart:
            account = own_account(account, description, chart)
        if off_catalog_rate and rng.random() < off_catalog_rate:
            account = rng.choice(OFF_CATALOG_ACCOUNTS)
        results.append({"id": str(item.get("id", "")), "account": account, "confidence": confidence})
    return json.dumps({"classifications": results}, ensure_ascii=False)
