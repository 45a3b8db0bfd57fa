"""`quincena keys`: the DeepSeek account's key registry (names only; secrets stay in the connection)."""

from __future__ import annotations

import argparse

from quincena.cli import UserError


def add_cli(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="DeepSeek API keys: rotation state and health")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    keys_sub.add_parser("list", help="every key with status, picks and why it was disabled").set_defaults(handler=_list)
    enable = keys_sub.add_parser("enable", help="put a disabled key back in rotation (after rotating its secret)")
    enable.add_argument("name")
    enable.set_defaults(handler=_enable)


def _list(args: argparse.Namespace) -> int:
    from quincena.cli.db import prepare_database
    from quincena.core import db

    prepare_database()
    rows = db.query("api_key_list")
    if not rows:
        print("no keys registered yet (they are registered on the first DeepSeek call)")
    for row in rows:
        why = (
            f"\tdisabled {row['disabled_at']:%Y-%m-%d %H:%M} UTC: {row['disabled_reason']}"
            if row["disabled_at"]
            else ""
        )
        print(f"{row['name']}\t{row['conn_id']}\t{row['status']}\tpicks={row['picks']}{why}")
    return 0


def _enable(args: argparse.Namespace) -> int:
    from quincena.cli.db import prepare_database
    from quincena.core import db

    prepare_database()
    if not db.query("api_key_enable", {"name": args.name}):
        raise UserError(f"no key named {args.name!r} (see `quincena keys list`)")
    print(f"{args.name}: active")
    return 0
