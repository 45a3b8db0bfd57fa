"""`quincena eval --gold FILE.csv --out DIR`: the classifier measured against a labelled gold set."""

from __future__ import annotations

import argparse
from pathlib import Path

from quincena.cli import UserError


def add_cli(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "eval",
        help="classify a gold set through the pipeline's classifier and report accuracy, review share, cost",
        description="Runs the real classification path (batching, validation, the DeepSeek hook of the "
        "connection; supplier memory off) over the gold lines and writes summary.csv, lines.csv, "
        "confusion.csv, report.html and appends to runs.csv in DIR. The connection decides what is "
        "measured: the simulator (a regression test) or a real DeepSeek account (the measurement).",
    )
    parser.add_argument("--gold", type=Path, required=True, help="the labelled CSV (e.g. include/eval/gold.csv)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the results (runs.csv accumulates)")
    parser.add_argument("--model", default=None, help="model to ask for (default: the connection's)")
    parser.add_argument("--prompt-version", default=None, help="fail unless the code's prompt is this version")
    parser.add_argument("--conn-id", default=None, help="Airflow connection of the DeepSeek account")
    parser.add_argument("--invoices-per-request", type=int, default=8, help="batch size, as in the pipeline (8)")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="requests in flight at once (4; keep it under the account's limit)"
    )
    parser.set_defaults(handler=_eval)


def _eval(args: argparse.Namespace) -> int:
    from quincena.classify import classifier
    from quincena.cli.db import prepare_database
    from quincena.core import config
    from quincena.deepseek.store import pipeline_hook
    from quincena.ops import connections
    from quincena.quality import evaluate, gold, report

    try:
        version = evaluate.check_prompt_version(args.prompt_version)
        lines = gold.read_gold(args.gold)  # read first: a bad file needs no database
        settings = classifier.Settings(
            invoices_per_request=args.invoices_per_request,
            model=(args.model or "").strip() or None,
            concurrency=args.concurrency,
        )
    except (evaluate.EvalError, gold.GoldError, ValueError) as exc:
        raise UserError(str(exc)) from None
    conn_id = args.conn_id or config.DEEPSEEK_CONN_ID
    try:
        connections.ensure_connection(conn_id)  # before the database: one line when it is missing
    except connections.MissingConnection as exc:
        raise UserError(str(exc)) from None
    prepare_database()
    hook = pipeline_hook(conn_id)
    result = evaluate.run_evaluation(lines, hook, settings, gold_file=args.gold.name, prompt_version=version)
    paths = report.write_outputs(result, args.out)
    s = result.summary()
    print(
        f"{s['run_id']}: {s['lines']} lines, model {s['model'] or '?'}, prompt {s['prompt_version']}: "
        f"sub-account accuracy {s['accuracy_subaccount']:.1%}, account accuracy {s['accuracy_account']:.1%}, "
        f"review {s['review_share']:.1%}, cost USD {s['cost_usd']}, p95 latency {s['latency_p95_ms']} ms"
    )
    print(f"report: {paths['html']}")
    if s["halted"]:
        print(f"halted: {s['halted']}")
        return 1
    return 0
