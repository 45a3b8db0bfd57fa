"""What changed between two versions of a company-cycle's export, and what the accountant must do about it
in the accounting program (which may already hold the earlier vouchers): written next to the files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from quincena.books.export.templates import Template
from quincena.books.export.vouchers import Voucher

ACTIONS = {
    "changed": "anule el comprobante {n} cargado con la versión {old} y cargue el de la versión {new}",
    "added": "cargue el comprobante {n} (nuevo en la versión {new})",
    "removed": "anule el comprobante {n} cargado con la versión {old}: ya no está en los libros aprobados",
}


def between(earlier: dict[str, str], now: dict[str, str], found: list[Voucher]) -> list[dict[str, Any]]:
    """Vouchers changed, added or removed since the earlier version (by number), in number order."""
    invoices = {str(v.number): v.invoice_number for v in found}
    listed = []
    for number in sorted(set(earlier) | set(now), key=int):
        if number not in now:
            kind = "removed"
        elif number not in earlier:
            kind = "added"
        elif earlier[number] != now[number]:
            kind = "changed"
        else:
            continue
        listed.append({"voucher": int(number), "invoice_number": invoices.get(number), "change": kind})
    return listed


def instructions(listed: list[dict[str, Any]], old: int, new: int) -> list[str]:
    """One Spanish line per changed voucher: what to do in the accounting program."""
    lines = []
    for item in listed:
        invoice = f" (factura {item['invoice_number']})" if item["invoice_number"] else ""
        lines.append(ACTIONS[item["change"]].format(n=item["voucher"], old=old, new=new) + invoice)
    return lines


def write(
    out_dir: Path, template: Template, nit: str, cycle_id: str, old: int, new: int, listed: list[dict[str, Any]]
) -> Path:
    """CAMBIOS_<format>_v<new>.txt: the version's change list, for whoever loads the files."""
    path = Path(out_dir) / f"CAMBIOS_{template.format}_v{new}.txt"
    body = [
        f"Empresa {nit}, quincena {cycle_id}, formato {template.format}: versión {new} reemplaza la {old}.",
        "La versión anterior pudo haberse cargado ya en el programa contable. Haga lo siguiente:",
        "",
        *(f"- {line}" for line in instructions(listed, old, new)),
    ]
    if not listed:
        body.append("- ningún comprobante cambió (cambió solo la plantilla o el formato de los archivos)")
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    return path
