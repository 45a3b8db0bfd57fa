"""`make bench`: run every benchmark, print each figure with its target, write bench/RESULTS.md.

Each benchmark runs in its own process (own temporary QUINCENA_LOCAL and embedded PostgreSQL) and
prints one JSON line; ratios are taken side by side within one run. ``--quick`` scales down.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(script: str, *args: str, timeout: float = 900) -> dict:
    began = time.monotonic()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, str(HERE / script), *args], capture_output=True, text=True, timeout=timeout, env=env
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-15:])
        return {"error": f"{script} {' '.join(args)} exited {proc.returncode}:\n{tail}"}
    result = json.loads(lines[-1])
    result["bench_s"] = time.monotonic() - began
    return result


def machine() -> str:
    mem_kb = next(
        (int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")), 0
    )
    cpus = os.cpu_count()
    return (
        f"{cpus} CPUs (nproc), {mem_kb / 2**20:.1f} GiB RAM, Python {platform.python_version()}, {platform.platform()}"
    )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller scales (a few minutes)")
    args = parser.parse_args()
    flag = ["--quick"] if args.quick else []
    began = time.monotonic()
    rows: list[tuple[str, str, str, str, str]] = []  # benchmark, figure, value, target, verdict
    notes: list[str] = []

    def row(bench: str, figure: str, value: str, target: str, ok: bool | None) -> None:
        status = "—" if ok is None else verdict(ok)
        rows.append((bench, figure, value, target, status))
        print(f"{bench:14} {figure:48} {value:>22}  target {target:10} {status}", flush=True)

    print("1. pool efficiency (real scheduler, LocalExecutor) ...", flush=True)
    pool = run("pool.py", *flag, timeout=1200)
    if "error" in pool:
        notes.append(pool["error"])
        row("1 pool", "error", "see notes", ">= 0.90", False)
    else:
        row("1 pool", f"calls/s ÷ (N/L), busy window [{pool['scale']}]", f"{pool['efficiency']:.2f}", ">= 0.90",
            pool["efficiency"] >= 0.90)  # fmt: skip
        row("1 pool", "calls/s ÷ (N/L), trigger to run end", f"{pool['efficiency_whole_run']:.2f}", "(info)", None)
        row("1 pool", "mean pool occupancy, busy window", f"{pool['occupancy']:.0%}", "(info)", None)
        row("1 pool", "time to finish: run / ideal (calls·L/N)",
            f"{pool['run_s']:.0f} s / {pool['ideal_s']:.0f} s", "(info)", None)  # fmt: skip
        row("1 pool", "requests; N slots; L", f"{pool['calls']}; {pool['slots']}; {pool['latency_ms']:.0f} ms",
            "(info)", None)  # fmt: skip
        row("5 scale", f"scheduler RSS max [{pool['scale']}]", f"{pool['scheduler_rss_mb_max']:.0f} MB", "(info)", None)
        row("5 scale", f"run time per task instance ({pool['task_instances']} TIs)",
            f"{pool['s_per_task_instance']:.2f} s", "(info)", None)  # fmt: skip

    print("2. cost per 1,000 invoices ...", flush=True)
    cost = run("inprocess.py", "cost", *flag)
    if "error" in cost:
        notes.append(cost["error"])
        row("2 cost", "error", "see notes", "<= 0.25", False)
    else:
        o, n = cost["ours"], cost["naive"]
        row("2 cost", f"USD per 1,000 ours ÷ naive [{cost['scale']}]", f"{cost['usd_ratio']:.3f}", "<= 0.25",
            cost["usd_ratio"] <= 0.25)  # fmt: skip
        row(
            "2 cost",
            "tokens per 1,000 ours ÷ naive",
            f"{cost['token_ratio']:.3f}",
            "<= 0.25",
            cost["token_ratio"] <= 0.25,
        )
        row(
            "2 cost",
            "ours: USD / tokens per 1,000",
            f"${o['usd_per_1000']:.4f} / {o['tokens_per_1000']:.0f}",
            "(info)",
            None,
        )
        row(
            "2 cost",
            "naive: USD / tokens per 1,000",
            f"${n['usd_per_1000']:.4f} / {n['tokens_per_1000']:.0f}",
            "(info)",
            None,
        )
        row("2 cost", "requests ours / naive", f"{o['requests']} / {n['requests']}", "(info)", None)
        row("2 cost", "prompt cache-hit share ours / naive", f"{o['cache_hit_share']:.0%} / {n['cache_hit_share']:.0%}",
            "(info)", None)  # fmt: skip
        row("2 cost", "lines classified from supplier memory", f"{cost['memory_line_share']:.0%}", "(info)", None)

    print("3. storm loss (30 % 429 + 5 % 5xx) ...", flush=True)
    storm = run("inprocess.py", "storm", *flag)
    if "error" in storm:
        notes.append(storm["error"])
        row("3 storm", "error", "see notes", "0", False)
    else:
        row("3 storm", f"ours: invoices left unclassified [{storm['scale']}]", str(storm["ours_lost"]), "0",
            storm["ours_lost"] == 0)  # fmt: skip
        row("3 storm", "ours: sent to review (decided, not lost)", str(storm["ours_review"]), "(info)", None)
        row("3 storm", "seed loop: invoices lost", f"{storm['seed_lost']} ({storm['seed_loss_share']:.1%})",
            "(report)", None)  # fmt: skip

    print("4. DAG parse time ...", flush=True)
    parse = run("parse_time.py")
    if "error" in parse:
        notes.append(parse["error"])
        row("4 parse", "error", "see notes", "< 0.5 s", False)
    else:
        for name, fig in parse.items():
            if name != "bench_s":
                row("4 parse", f"import {name} (median of 3; max)", f"{fig['median_s']:.3f} s; {fig['max_s']:.3f} s",
                    "< 0.5 s", fig["max_s"] < 0.5)  # fmt: skip

    print("5. scale: ingest + classify directly (no scheduler) ...", flush=True)
    scale = run("inprocess.py", "scale", *flag, timeout=1200)
    if "error" in scale:
        notes.append(scale["error"])
        row("5 scale", "error", "see notes", "completes", False)
    else:
        row("5 scale", f"completes: invoices left pending [{scale['scale']}]", str(scale["pending_left"]), "0",
            scale["pending_left"] == 0)  # fmt: skip
        row("5 scale", f"pool occupancy while work waits (L={scale['latency_ms']:.0f} ms)", f"{scale['occupancy']:.0%}",
            ">= 90 %", scale["occupancy"] >= 0.90)  # fmt: skip
        row("5 scale", "ingest s / classify s / requests",
            f"{scale['ingest_s']:.0f} / {scale['classify_s']:.0f} / {scale['requests']}", "(info)", None)  # fmt: skip

    total = time.monotonic() - began
    print(f"total {total:.0f} s", flush=True)
    write_results(args, rows, notes, total, pool, scale)
    return 0 if not notes else 1


def write_results(args, rows, notes, total, pool, scale) -> None:
    command = "make bench" if not args.quick else "python bench/run_all.py --quick"
    lines = [
        "# Benchmark results",
        "",
        f"- date: {datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- command: `{command}` ({total:.0f} s in all)",
        f"- machine: {machine()}",
        "- how: each benchmark in its own process against the project's DeepSeek simulator; "
        "every ratio is taken side by side within this one run.",
        "",
        "| benchmark | figure | value | target | verdict |",
        "|---|---|---|---|---|",
        *[f"| {' | '.join(r)} |" for r in rows],
        "",
    ]
    if "text_chart" in pool:
        lines += [f"## Pool occupancy over time ({pool['scale']}, chart: `{pool['chart']}`)", "", "```",
                  pool["text_chart"], "```", ""]  # fmt: skip
    if "text_chart" in scale:
        lines += [
            f"## Requests in flight, direct scale run ({scale['scale']})",
            "",
            "```",
            scale["text_chart"],
            "```",
            "",
        ]
    if notes:
        lines += ["## Errors", "", *[f"```\n{n}\n```" for n in notes], ""]
    (HERE / "RESULTS.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    sys.exit(main())
