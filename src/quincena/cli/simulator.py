"""`quincena simulator`: run the DeepSeek-compatible simulator in the foreground."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from pathlib import Path
from typing import Any

from quincena.cli import UserError

log = logging.getLogger(__name__)

DEFAULT_KEYS = {f"sim-{n}": f"sk-sim-{n}-local-only" for n in range(1, 6)}
_RATE_FLAGS = ("429", "500", "503", "blank", "truncated", "off-catalog", "never-start")


def add_cli(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulator", help="run a DeepSeek-compatible API simulator (tests, benchmarks, demo)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    keys = p.add_mutually_exclusive_group()
    keys.add_argument("--keys", help="name=secret,name=secret (default: sim-1..sim-5)")
    keys.add_argument("--keys-file", type=Path, help='JSON {"name": "secret"} or name=secret lines')
    p.add_argument("--revoked-keys", default="", help="key names answered with 401")
    p.add_argument("--concurrency", type=int, default=8, help="in-flight requests for the whole account")
    p.add_argument("--latency-ms", type=float, default=800.0, help="mean latency (lognormal)")
    p.add_argument("--latency-sd-ms", type=float, default=300.0)
    p.add_argument("--keepalive-interval", type=float, default=0.5, help="seconds between keep-alive blank lines")
    for name in _RATE_FLAGS:
        p.add_argument(f"--rate-{name}", type=float, default=0.0, metavar="P")
    p.add_argument("--retry-after", type=float, help="Retry-After seconds on 429/503")
    p.add_argument("--spend-limit-usd", help="answer 402 once the spend reaches this")
    p.add_argument("--seed", type=int)
    p.set_defaults(handler=_run)


def parse_keys(text: str | None, path: Path | None) -> dict[str, str]:
    if path is not None:
        if not path.is_file():
            raise UserError(f"{path}: no such file")
        text = path.read_text(encoding="utf-8")
        if text.lstrip().startswith("{"):
            return {str(k): str(v) for k, v in json.loads(text).items()}
        text = ",".join(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    if not text:
        return dict(DEFAULT_KEYS)
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(pair) != 2 or not pair[0].strip() or not pair[1].strip() for pair in pairs):
        raise UserError("keys must look like name=secret,name=secret")
    return {name.strip(): secret.strip() for name, secret in pairs}


def knobs_from_args(args: argparse.Namespace) -> dict[str, Any]:
    knobs: dict[str, Any] = {
        "keys": parse_keys(args.keys, args.keys_file),
        "revoked_keys": [k.strip() for k in args.revoked_keys.split(",") if k.strip()],
        "concurrency": args.concurrency,
        "latency_ms": args.latency_ms,
        "latency_sd_ms": args.latency_sd_ms,
        "keepalive_interval_s": args.keepalive_interval,
        "retry_after_s": args.retry_after,
        "spend_limit_usd": args.spend_limit_usd,
        "seed": args.seed,
    }
    for name in _RATE_FLAGS:
        knobs["rate_" + name.replace("-", "_")] = getattr(args, "rate_" + name.replace("-", "_"))
    return knobs


def _run(args: argparse.Namespace) -> int:
    from quincena.devtools.simulator import start_simulator

    try:
        handle = start_simulator(host=args.host, port=args.port, **knobs_from_args(args))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot listen on {args.host}:{args.port}: {exc}") from None
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    keys = ", ".join(sorted(handle.state.config.keys))
    print(f"DeepSeek simulator on {handle.base_url} (keys: {keys}); admin: /admin/stats /admin/config", flush=True)
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()
    return 0
