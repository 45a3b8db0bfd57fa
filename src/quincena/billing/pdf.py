"""The statements as PDF (fpdf2, pure Python: no browser or system library at run time).

Spanish for the client; the built-in Helvetica covers Latin-1, which holds every Spanish letter.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from quincena.core import es

if TYPE_CHECKING:
    from quincena.billing.statement import MonthStatements, Statement

_FONT = "Helvetica"
_LINE = 6


def _usd(value: Decimal) -> str:
    return f"US$ {es.number(value, 8)}"  # exact: the ledger keeps eight decimals


def _cop(month: MonthStatements, value: Decimal) -> str:
    return f"$ {es.number(month.rate.cop(value))}" if month.rate else "-"


def _document(title: str) -> FPDF:
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(title)
    pdf.set_author("quincena")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    return pdf


def _text(pdf: FPDF, text: str, size: int = 10, style: str = "") -> None:
    pdf.set_font(_FONT, style, size)
    pdf.multi_cell(0, _LINE, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _header(pdf: FPDF, month: MonthStatements, title: str) -> None:
    _text(pdf, month.firm, 14, "B")
    _text(pdf, title, 12, "B")
    _text(pdf, f"Mes: {es.month_year(month.month)} (días UTC, como factura DeepSeek)")
    _text(pdf, f"Emitido el {es.long_date(month.issued)}")
    pdf.ln(2)


def _table(pdf: FPDF, head: list[str], rows: list[list[str]], widths: tuple[int, ...]) -> None:
    pdf.set_font(_FONT, "", 8)
    with pdf.table(col_widths=widths, text_align=("LEFT", *("RIGHT",) * (len(widths) - 1)),
                   line_height=5, first_row_as_headings=True) as table:  # fmt: skip
        for values in [head, *rows]:
            row = table.row()
            for value in values:
                row.cell(value)
    pdf.ln(3)


def _figures(month: MonthStatements, label: str, line: dict[str, Any]) -> list[str]:
    tokens_in = line["prompt_cache_hit_tokens"] + line["prompt_cache_miss_tokens"]
    cost = Decimal(line["cost_usd"])
    return [label, es.number(line["invoices"], 0), es.number(line["ok_calls"], 0), es.number(tokens_in, 0),
            es.number(line["completion_tokens"], 0), _usd(cost), _cop(month, cost)]  # fmt: skip


_HEAD = ["Quincena", "Facturas", "Llamadas", "Tokens de entrada", "Tokens de salida", "Costo (US$)", "Costo (COP)"]
_WIDTHS = (26, 18, 20, 30, 28, 36, 32)


def _footer(pdf: FPDF, month: MonthStatements) -> None:
    _text(pdf, f"Tasa de cambio: {month.rate.label()}" if month.rate else
          "Tasa de cambio: no configurada (valores solo en US$).")  # fmt: skip
    _text(pdf, f"Conciliación del mes: {month.reconciliation_status()}")
    pdf.ln(2)
    _text(pdf, "El costo es el exacto de cada llamada a DeepSeek registrada para la empresa (tokens de caché, "
               "sin caché y de salida por su precio vigente a la hora de la llamada).", 8)  # fmt: skip


def statement_pdf(month: MonthStatements, statement: Statement, path: Path) -> Path:
    pdf = _document(f"Estado de costos DeepSeek {statement.nit}")
    _header(pdf, month, "Estado de costos de clasificación con DeepSeek")
    nit = f"{statement.nit}-{statement.dv}" if statement.dv is not None else statement.nit
    _text(pdf, f"Cliente: {statement.name}", 11, "B")
    _text(pdf, f"NIT: {nit}")
    pdf.ln(2)
    rows = [_figures(month, line["cycle_id"] or "sin quincena", line) for line in statement.lines]
    rows.append(_figures(month, "Total del mes", statement.total))
    _table(pdf, _HEAD, rows, _WIDTHS)
    _text(pdf, f"Total a trasladar: {_usd(statement.cost_usd)}"
               + (f" = {_cop(month, statement.cost_usd)} COP" if month.rate else ""), 11, "B")  # fmt: skip
    _text(pdf, f"Participación en el gasto del mes de la cuenta: {es.percent(statement.share)} "
               f"(total de la cuenta {_usd(month.total_usd)})")  # fmt: skip
    if statement.total["in_flight_calls"]:
        _text(pdf, f"{statement.total['in_flight_calls']} llamada(s) sin respuesta registrada: su costo no se "
                   "conoce y no está incluido.", 9)  # fmt: skip
    pdf.ln(2)
    _footer(pdf, month)
    pdf.output(str(path))
    return path


def summary_pdf(month: MonthStatements, path: Path) -> Path:
    pdf = _document("Resumen de costos DeepSeek")
    _header(pdf, month, "Resumen de la firma: costos de DeepSeek por cliente")
    everyone = [*month.statements, *([month.unattributed] if month.unattributed else [])]
    rows = [[f"{s.nit or ''} {s.name}".strip(), es.number(s.total["invoices"], 0), es.number(s.total["ok_calls"], 0),
             _usd(s.cost_usd), _cop(month, s.cost_usd), es.percent(s.share)] for s in everyone]  # fmt: skip
    rows.append(["Total de la cuenta", es.number(sum(s.total["invoices"] for s in everyone), 0),
                 es.number(sum(s.total["ok_calls"] for s in everyone), 0), _usd(month.total_usd),
                 _cop(month, month.total_usd), es.percent(1 if month.total_usd else 0)])  # fmt: skip
    _table(pdf, ["Cliente", "Facturas", "Llamadas", "Costo (US$)", "Costo (COP)", "Participación"], rows,
           (62, 18, 20, 36, 32, 22))  # fmt: skip
    found = month.reconciliation
    if found and found.get("deepseek_usd") is not None:
        _text(pdf, f"Total según el reporte de uso de DeepSeek: {_usd(Decimal(found['deepseek_usd']))}")
    _footer(pdf, month)
    pdf.output(str(path))
    return path
