"""`quincena demo start|stop|status`: the newcomer's path (`make demo`, `make demo-stop`)."""

from __future__ import annotations

import argparse

from quincena.cli import UserError


def add_cli(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="a real cycle in the Airflow UI on this machine (embedded everything)")
    demo_sub = demo.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    start = demo_sub.add_parser(
        "start",
        help="start PostgreSQL, the simulator and Airflow; trigger the last closed quincena (re-runnable)",
        description="Flags override QUINCENA_DEMO_COMPANIES, _INVOICES, _API_PORT, _SIMULATOR_PORT, _SEED, _CYCLE.",
    )
    start.add_argument("--companies", type=int, help="sample companies (default 40)")
    start.add_argument("--invoices", type=int, help="sample invoices per company (default 60)")
    start.add_argument("--api-port", type=int, help="Airflow UI / REST port (default 8080)")
    start.add_argument("--simulator-port", type=int, help="DeepSeek simulator port (default 8765)")
    start.add_argument("--seed", type=int, help="sample generator seed (default 2026)")
    start.add_argument(
        "--cycle",
        help="quincena to run, e.g. 2026-11-Q1 (default: the last closed one; with an earlier one the unpaused "
        "schedule also runs the last closed quincena, which books as late arrivals what the earlier run has not "
        "ingested yet)",
    )
    start.add_argument(
        "--wait",
        action="store_true",
        help="block until the run finishes, approving every company unattended; exit 1 unless it succeeds",
    )
    start.set_defaults(handler=_start)
    demo_sub.add_parser("stop", help="stop everything `demo start` started, and nothing else").set_defaults(
        handler=_stop
    )
    demo_sub.add_parser("status", help="what runs, Airflow's health and the demo run's state").set_defaults(
        handler=_status
    )


def _start(args: argparse.Namespace) -> int:
    from quincena.devtools import demo

    try:
        settings = demo.DemoSettings.resolve(
            companies=args.companies,
            invoices=args.invoices,
            api_port=args.api_port,
            simulator_port=args.simulator_port,
            seed=args.seed,
            cycle=args.cycle,
        )
        demo.start(settings, wait=args.wait)
    except (ValueError, demo.DemoError) as exc:
        raise UserError(f"{exc}\n(`make demo-stop` stops whatever was started)") from None
    return 0


def _stop(args: argparse.Namespace) -> int:
    from quincena.devtools import demo

    stopped = demo.stop()
    for item in stopped:
        print(f"[demo] stopped {item}")
    if not stopped:
        print("[demo] nothing was running")
    return 0


def _status(args: argparse.Namespace) -> int:
    from quincena.devtools import demo

    for line in demo.status():
        print(line)
    return 0
