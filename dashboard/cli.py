"""``floorwatch dashboard``: run the wall dashboard alone against a running Redis.

    floorwatch dashboard --redis redis://127.0.0.1:6379/0 [--http-port 8080] [--host 0.0.0.0] [--kafka URL]
                         [--redis-prefix fw:] [--tokens-file FILE] [--config config/floor.yaml [--config MORE.yaml]]

Tokens come from ``--tokens-file`` (its ``tokens:`` section) or
``FLOORWATCH_TOKENS``; with neither, fresh ones are made and the wall's URL is
printed once on the terminal (or, when stdout is not one, written to a private file
whose path is logged).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``dashboard`` subcommand to floorwatch's parser."""
    d = subparsers.add_parser("dashboard", help="serve the wall dashboard from a running Redis")
    d.add_argument("--redis", required=True, help="redis://host:port/db the workers publish to")
    d.add_argument("--redis-prefix", help="key prefix (default FLOORWATCH_REDIS_PREFIX or fw:)")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--http-port", type=int, default=8080)
    d.add_argument("--tokens-file", help="YAML with a tokens: section (default: FLOORWATCH_TOKENS)")
    d.add_argument("--config", action="append", default=None, metavar="FILE",
                   help="floor YAML: thresholds, queues, pools (default config/floor.yaml); repeat it to add the "
                        "sites of further files, as the workers are given them (e.g. config/anonbank.yaml)")
    d.add_argument("--client-queue", type=int, default=64,
                   help="messages queued per wall before it is sent a full snapshot instead (default 64)")
    d.add_argument("--allowed-origin", action="append", default=None, metavar="URL",
                   help="a page origin besides the dashboard's own that may open the websocket, e.g. "
                        "https://wall.example.cn (repeatable; default FLOORWATCH_ALLOWED_ORIGINS, else same origin only)")
    d.add_argument("--kafka", help="kafka://host:port: accept events on POST /api/events (ingest tokens)")
    d.add_argument("--db", help="history database for /reports and /api/history (postgresql://... or sqlite:///...)")
    d.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    d.set_defaults(func=cmd_dashboard)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from dashboard.app import serve
    from dashboard.auth import TokenConfigError, load_tokens_file, tokens_from_env
    from stream.contracts.floor_config import ConfigError, load_config

    try:
        tokens = load_tokens_file(args.tokens_file) if args.tokens_file else tokens_from_env()
        config = load_config(args.config)
    except (TokenConfigError, ConfigError) as exc:
        print(f"floorwatch dashboard: {exc}", file=sys.stderr)
        return 2
    if args.kafka:
        import os

        os.environ["FLOORWATCH_KAFKA"] = args.kafka  # read by dashboard/ingest.py
    serve(args.redis, args.host, args.http_port, prefix=args.redis_prefix, tokens=tokens or None,
          config=config, log_level=args.log_level, client_queue=args.client_queue, history_db=args.db,
          allowed_origins=frozenset(args.allowed_origin) if args.allowed_origin else None)
    return 0
