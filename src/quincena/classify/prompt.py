"""Prompts built for DeepSeek's prefix cache.

The system message is long and byte-identical for every request of every company (instructions,
rules, the catalog): DeepSeek bills a repeated prefix at the cache-hit price. Everything that
varies (the company's invoices) goes last, in the JSON wire format the provider issue defines:
``{"items": [{"id": ..., ...}]}`` in, ``{"classifications": [{"id", "account", "confidence"}]}`` out.
Never put a date, a run id or a company in the system message.

A company with its own chart of accounts gets a second system message after the shared one: its accounts
that may take a purchase line, each with the catalog sub-account it sits under. The shared prefix stays
byte-identical across companies (cached account-wide) and the company's block is identical across that
company's requests (cached after its first); only the invoices vary.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from quincena.core import puc

# The version of the prompt text below. Change it whenever _INSTRUCTIONS or the message layout
# changes: every model classification records it, and the evaluation and the agreement figures
# compare quality per version (tests pin the system prompt's hash to this value).
PROMPT_VERSION = "p1"
# The same prompt with a company's own accounts after it (recorded on classifications into a company chart).
CHART_PROMPT_VERSION = "p1-chart1"

_INSTRUCTIONS = """\
Eres el auxiliar contable de una firma de contadores en Colombia. Haces la causación de facturas \
electrónicas de compra (DIAN, UBL 2.1): para cada línea de factura eliges la subcuenta del PUC \
(Plan Único de Cuentas, Decreto 2650 de 1993) que se debita.

Reglas:
1. Responde solo con un objeto JSON (json) con la forma exacta del ejemplo; sin texto adicional.
2. Una entrada en "classifications" por cada "id" recibido en "items", con el mismo "id".
3. "account" es un código de 6 dígitos tomado SOLO del catálogo de abajo. No inventes códigos.
4. "confidence" es un número entre 0 y 1: tu certeza de que la subcuenta es la correcta.
5. Usa la descripción de la línea, el proveedor y el tipo de documento. Una nota crédito usa la \
misma cuenta que la compra que revierte.
6. Activos: solo equipos, muebles o mercancía para la venta se debitan a cuentas de la clase 1; \
los consumibles y servicios son gasto (clase 5).
7. Si dudas entre dos cuentas, elige la más específica y baja la confianza.
8. Si la solicitud trae "previous_errors", corrige exactamente esos errores.

Ejemplo de entrada:
{"items": [{"id": "L1", "description": "Arriendo local comercial", "supplier_name": "Inmobiliaria \
Andina SAS", "supplier_nit": "900123456", "doc_type": "invoice", "amount": "2500000.00"}]}
Ejemplo de salida (json):
{"classifications": [{"id": "L1", "account": "512010", "confidence": 0.95}]}
"""


@functools.cache
def system_prompt() -> str:
    """Instructions plus the purchase catalog, sorted by code: stable bytes run after run."""
    lines = [f"{a.code} {a.name}" for a in sorted(puc.purchase_accounts().values(), key=lambda a: a.code)]
    return _INSTRUCTIONS + "\nCatálogo de subcuentas permitidas (código nombre):\n" + "\n".join(lines) + "\n"


CHART_HEADING = "Plan de cuentas propio de la empresa"


def company_block(targets: Mapping[str, Any]) -> str:
    """The company's accounts a purchase line may take (``code -> Target``), sorted by code: stable bytes."""
    lines = [f"{code} {t.name} [{t.puc_code}]" for code, t in sorted(targets.items())]
    return (
        f'{CHART_HEADING}. Esta empresa lleva sus propias cuentas auxiliares: para sus facturas, "account" es '
        "uno de los códigos de esta lista (nunca la subcuenta de 6 dígitos entre corchetes, que solo dice bajo "
        "qué subcuenta del catálogo está la cuenta). Formato: código nombre [subcuenta del catálogo].\n"
        + "\n".join(lines)
        + "\n"
    )


def user_message(items: Sequence[dict[str, Any]], previous_errors: Sequence[str] = ()) -> str:
    """The varying part: one JSON object with the items (and, on the one retry, what was wrong)."""
    payload: dict[str, Any] = {"items": list(items)}
    if previous_errors:
        payload["previous_errors"] = list(previous_errors)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def messages(
    items: Sequence[dict[str, Any]], previous_errors: Sequence[str] = (), chart: str | None = None
) -> list[dict[str, str]]:
    """The shared system prompt, the company's chart block when it has one, then the invoices."""
    head = [{"role": "system", "content": system_prompt()}]
    if chart:
        head.append({"role": "system", "content": chart})
    return [*head, {"role": "user", "content": user_message(items, previous_errors)}]
