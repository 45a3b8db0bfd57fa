"""`quincena` command line: one entry point, sub-commands registered by feature modules.

Each module in COMMAND_MODULES exposes ``add_cli(subparsers)``, adding its sub-commands with
``set_defaults(handler=...)``; a handler takes the parsed args and returns an exit code.
Modules are imported only to register, so keep their top-level imports light.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMAND_MODULES = (
    "quincena.cli.db",
    "quincena.cli.companies",
    "quincena.cli.simulator",
    "quincena.cli.keys",
    "quincena.cli.demo",
    "quincena.cli.ingest",
    "quincena.cli.reconcile",
    "quincena.cli.tax",
)


class UserError(Exception):
    """A problem the user can fix (bad file, bad argument): printed as one line, exit 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quincena", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args) or 0)
    except UserError as exc:
        print(f"quincena {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
