"""Benchmark 4: each DAG file's import time, in a fresh interpreter where Airflow is already imported."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROBE = """
import importlib.util, sys, time
import airflow, airflow.sdk  # already imported: only the DAG module is timed
spec = importlib.util.spec_from_file_location("bench_dag", sys.argv[1])
module = importlib.util.module_from_spec(spec)
t = time.perf_counter()
spec.loader.exec_module(module)
print(time.perf_counter() - t)
"""


def main(repeats: int = 3) -> dict:
    figures = {}
    for path in sorted((REPO / "dags").glob("*.py")):
        runs = []
        for _ in range(repeats):
            out = subprocess.run(
                [sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, check=True, cwd=REPO
            )
            runs.append(float(out.stdout.strip().splitlines()[-1]))
        figures[path.name] = {"median_s": statistics.median(runs), "max_s": max(runs)}
    return figures


if __name__ == "__main__":
    print(json.dumps(main()))
