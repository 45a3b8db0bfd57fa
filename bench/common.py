"""Shared pieces of the benchmarks: a private embedded PostgreSQL, the simulator, the hook."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CYCLE = "2026-11-Q1"
PERIOD_END = "2026-11-16"
KEYS = {f"bench-{i}": f"sk-bench-{i}-{'x' * 24}" for i in range(1, 6)}


def private_local(prefix: str) -> Path:
    """A throwaway QUINCENA_LOCAL (own PostgreSQL data dir, inbox, reports), set in this process."""
    local = Path(tempfile.mkdtemp(prefix=f"quincena-bench-{prefix}-"))
    os.environ["QUINCENA_LOCAL"] = str(local)
    os.environ["QUINCENA_INBOX"] = str(local / "inbox")
    os.environ["QUINCENA_REPORTS"] = str(local / "reports")
    os.environ.setdefault("AIRFLOW_HOME", str(local / "airflow"))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    return local


def fresh_database() -> str:
    """Embedded PostgreSQL under QUINCENA_LOCAL (stopped when this process exits), migrated."""
    from quincena.core import db
    from quincena.devtools import embedded

    uri = embedded.start(persistent=False, database="quincena")
    os.environ[db.CONN_ENV] = uri
    db.prepare()
    return uri


def use_simulator(sim: Any, **extra: Any) -> None:
    """Point the deepseek_default connection at ``sim`` with the bench keys (backoff scaled down)."""
    sim.configure(keys=KEYS)
    conn = {
        "conn_type": "deepseek",
        "host": sim.base_url,
        "extra": {"api_keys": KEYS, "timeout": 30, "deadline": 300, "backoff_base": 0.01, "backoff_max": 0.2, **extra},
    }
    os.environ["AIRFLOW_CONN_DEEPSEEK_DEFAULT"] = json.dumps(conn)


def settings(concurrency: int = 4, invoices_per_request: int = 8) -> Any:
    from quincena.classify import classifier

    return classifier.Settings(invoices_per_request=invoices_per_request, concurrency=concurrency)


def target(nit: str) -> dict[str, Any]:
    return {
        "company_nit": nit,
        "cycle_id": CYCLE,
        "period_end": PERIOD_END,
        "settings": {"invoices_per_request": 8, "dry_run": False, "model": None},
    }


def count(sql: str, params: Any = None) -> int:
    from quincena.core import db

    return int(db.query_text(sql, params)[0]["n"])


class InFlightSampler:
    """Samples a stats function's in_flight every ``interval_s`` in a thread: (t, in_flight, requests)."""

    def __init__(self, stats: Any, interval_s: float = 0.1) -> None:
        self.stats = stats
        self.interval_s = interval_s
        self.samples: list[tuple[float, int, int]] = []
        self.last_stats: dict | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.t0 = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # a missed sample is fine
                s = self.stats()
                self.last_stats = s
                self.samples.append((time.monotonic() - self.t0, int(s["in_flight"]), int(s["requests"])))
            self._stop.wait(self.interval_s)

    def __enter__(self) -> InFlightSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(5)

    def busy_window(self) -> list[tuple[float, int, int]]:
        """Samples from the first to the last one with a request in flight."""
        busy = [i for i, s in enumerate(self.samples) if s[1] > 0]
        return self.samples[busy[0] : busy[-1] + 1] if busy else []


def svg_chart(samples: list[tuple[float, int, int]], slots: int, title: str, path: Path) -> None:
    """A small SVG line chart of requests in flight over time, with the pool size as a line."""
    width, height, pad = 800, 240, 40
    if not samples:
        path.write_text(f"<svg xmlns='http://www.w3.org/2000/svg'><text x='10' y='20'>{title}: no data</text></svg>")
        return
    t_max = max(s[0] for s in samples) or 1.0
    y_max = max(slots, max(s[1] for s in samples)) or 1

    def xy(t: float, v: float) -> str:
        return f"{pad + (width - 2 * pad) * t / t_max:.1f},{height - pad - (height - 2 * pad) * v / y_max:.1f}"

    points = " ".join(xy(t, v) for t, v, _ in samples)
    pool_y = xy(0, slots).split(",")[1]
    path.write_text(
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' font-family='sans-serif' "
        f"font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n"
        f"<text x='{pad}' y='20'>{title}</text>\n"
        f"<line x1='{pad}' y1='{pool_y}' x2='{width - pad}' y2='{pool_y}' stroke='red' stroke-dasharray='4'/>\n"
        f"<text x='{width - pad - 90}' y='{float(pool_y) - 4}' fill='red'>pool = {slots}</text>\n"
        f"<polyline fill='none' stroke='steelblue' points='{points}'/>\n"
        f"<line x1='{pad}' y1='{height - pad}' x2='{width - pad}' y2='{height - pad}' stroke='black'/>\n"
        f"<text x='{pad}' y='{height - 10}'>0 s</text>"
        f"<text x='{width - pad - 40}' y='{height - 10}'>{t_max:.0f} s</text>\n"
        f"<text x='5' y='{pad}'>{y_max}</text><text x='5' y='{height - pad}'>0</text>\n</svg>\n"
    )


def text_chart(samples: list[tuple[float, int, int]], slots: int, buckets: int = 30) -> str:
    """Requests in flight over time as text: one row per time bucket, mean in-flight as a bar."""
    if not samples:
        return "(no samples)"
    t_max = max(s[0] for s in samples) or 1.0
    rows = []
    for b in range(buckets):
        lo, hi = t_max * b / buckets, t_max * (b + 1) / buckets
        vals = [v for t, v, _ in samples if lo <= t < hi or (b == buckets - 1 and t == t_max)]
        mean = sum(vals) / len(vals) if vals else 0.0
        rows.append(f"{lo:7.1f}s |{'#' * round(mean * 40 / slots):<40}| {mean:5.1f}/{slots}")
    return "\n".join(rows)
