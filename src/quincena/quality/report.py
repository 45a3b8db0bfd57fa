"""An evaluation's files: summary, per-line results, confusion (CSV), one HTML page, and a runs history.

``DIR/runs.csv`` gains one row per run written to DIR (same columns every run), so evaluating into
the same folder after a model or prompt change gives the comparison; the HTML shows that history.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

from quincena.core import html, puc
from quincena.core.cells import safe_row
from quincena.core.numbers import plain
from quincena.quality.evaluate import REVIEW, Evaluation


def write_outputs(evaluation: Evaluation, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = evaluation.summary()
    paths = {
        "summary": out_dir / "summary.csv",
        "lines": out_dir / "lines.csv",
        "confusion": out_dir / "confusion.csv",
        "runs": out_dir / "runs.csv",
        "html": out_dir / "report.html",
    }
    _write_csv(paths["summary"], [summary])
    _write_csv(paths["lines"], line_rows(evaluation))
    _write_csv(paths["confusion"], confusion_rows(evaluation))
    history = _append_run(paths["runs"], summary)
    paths["html"].write_text(render_html(evaluation, history), encoding="utf-8")
    return paths


def line_rows(evaluation: Evaluation) -> list[dict[str, Any]]:
    return [
        {
            "line": o.line.line_no,
            "supplier_nit": o.line.supplier_nit,
            "supplier_name": o.line.supplier_name,
            "description": o.line.description,
            "expected_account": o.line.expected_account,
            "predicted_account": o.predicted or "",
            "confidence": "" if o.confidence is None else o.confidence,
            "correct_subaccount": int(o.correct_subaccount),
            "correct_account": int(o.correct_account),
            "review_reason": o.problem or "",
            "model": o.model or "",
            "note": o.line.note,
        }
        for o in evaluation.outcomes
    ]


def confusion_rows(evaluation: Evaluation) -> list[dict[str, Any]]:
    """Long form at the sub-account level: every (expected, predicted) pair that occurred."""
    counts = evaluation.confusion(6)
    return [
        {"expected_account": e, "predicted_account": p, "lines": n, "correct": int(e == p)}
        for (e, p), n in sorted(counts.items())
    ]


def class_rows(evaluation: Evaluation) -> list[dict[str, Any]]:
    """Per expected sub-account: lines, correct, accuracy and the most frequent wrong answer."""
    names = {code: account.name for code, account in puc.purchase_accounts().items()}
    by_class: dict[str, list] = {}
    for outcome in evaluation.outcomes:
        by_class.setdefault(outcome.line.expected_account, []).append(outcome)
    rows = []
    for code, outcomes in sorted(by_class.items()):
        correct = sum(o.correct_subaccount for o in outcomes)
        wrong = Counter(o.predicted_label for o in outcomes if not o.correct_subaccount)
        top = wrong.most_common(1)
        rows.append(
            {
                "cuenta esperada": code,
                "nombre": names.get(code, ""),
                "líneas": len(outcomes),
                "aciertos": correct,
                "exactitud": round(correct / len(outcomes), 4),
                "error más frecuente": f"{top[0][0]} ({top[0][1]})" if top else "",
            }
        )
    return rows


def render_html(evaluation: Evaluation, history: list[dict[str, str]]) -> str:
    s = evaluation.summary()
    figures = [
        {"cifra": "Líneas evaluadas", "valor": s["lines"]},
        {"cifra": "Exactitud subcuenta (6 dígitos)", "valor": _pct(s["accuracy_subaccount"])},
        {"cifra": "Exactitud cuenta (4 dígitos)", "valor": _pct(s["accuracy_account"])},
        {"cifra": "Exactitud subcuenta sobre lo propuesto", "valor": _pct(s["accuracy_subaccount_proposed"])},
        {"cifra": "Enviadas a revisión", "valor": f"{s['review']} ({_pct(s['review_share'])})"},
        {"cifra": "Solicitudes / reintentos de validación", "valor": f"{s['requests']} / {s['validation_retries']}"},
        {"cifra": "Costo USD", "valor": s["cost_usd"]},
        {"cifra": "Costo USD por 100 líneas", "valor": s["cost_usd_per_100_lines"]},
        {"cifra": "Latencia media / p50 / p95 (ms)", "valor": _latency(s)},
        {"cifra": "Duración (s)", "valor": s["wall_seconds"]},
    ]
    counts4 = evaluation.confusion(4)
    rows = sorted({e for e, _ in counts4})
    columns = rows + sorted({p for _, p in counts4} - set(rows) - {REVIEW}) + [REVIEW]
    matrix = html.matrix_chart("Esperada (filas) → propuesta (columnas), cuenta de 4 dígitos", rows, columns, counts4)
    errors = [r for r in confusion_rows(evaluation) if not r["correct"]]
    errors.sort(key=lambda r: -r["lines"])
    trend = [
        {
            k: r.get(k, "")
            for k in (
                "started_at",
                "model",
                "prompt_version",
                "lines",
                "accuracy_subaccount",
                "accuracy_account",
                "review_share",
                "cost_usd",
                "latency_p95_ms",
            )
        }
        for r in history[-20:]
    ]
    sections = [
        ("Resumen", html.table(figures)),
        ("Matriz de confusión (cuentas)", matrix),
        ("Confusiones más frecuentes (subcuentas)", html.table(errors[:25])),
        ("Exactitud por subcuenta esperada", html.table(class_rows(evaluation))),
        ("Ejecuciones anteriores en esta carpeta", html.table(trend)),
    ]
    halted = f" · DETENIDA: {s['halted']}" if s["halted"] else ""
    subtitle = (
        f"Ejecución {s['run_id']} · {s['started_at']} · modelo {s['model'] or '?'} · prompt {s['prompt_version']}"
        f" · conjunto {s['gold_file']}{halted}"
    )
    return html.page("Evaluación de la clasificación PUC", subtitle, sections)


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _latency(s: dict[str, Any]) -> str:
    return f"{s['latency_mean_ms']} / {s['latency_p50_ms']} / {s['latency_p95_ms']}"


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        if not rows:
            return
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(safe_row({k: plain(v) for k, v in row.items()}) for row in rows)


def _append_run(path: Path, summary: dict[str, Any]) -> list[dict[str, str]]:
    """Add this run to runs.csv (a file with other columns is rewritten with the current ones)."""
    history: list[dict[str, str]] = []
    if path.exists():
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames == list(summary):
                history = list(reader)
    history.append({k: str(plain(v)) for k, v in summary.items()})
    _write_csv(path, history)
    return history
