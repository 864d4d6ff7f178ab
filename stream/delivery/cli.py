"""``floorwatch deliver``: run the delivery service against a floorwatch Redis.

    floorwatch deliver --redis redis://127.0.0.1:6379/0 [--config config/delivery.yaml] [--prefix fw:]

Exit codes: 0 stopped (Ctrl-C / SIGTERM), 1 Redis unreachable, 2 bad configuration.
"""

from __future__ import annotations

import argparse
import re
import sys


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``deliver`` command to floorwatch's sub-commands."""
    d = subparsers.add_parser("deliver", help="send alert notifications (SMS, pager, webhook, email)")
    d.add_argument("--redis", required=True, help="redis://host:port/db of the floor")
    d.add_argument("--config", help="delivery YAML (default config/delivery.yaml)")
    d.add_argument("--prefix", help="Redis key prefix (default $FLOORWATCH_REDIS_PREFIX or fw:)")
    d.add_argument("--quiet-hours-on", choices=("wall", "event"),
                   help="judge quiet hours on the wall clock or the alert's event time (default: the config's, wall)")
    d.add_argument("--for-seconds", type=float, help="stop by itself after this long (demos, tests)")
    d.set_defaults(func=cmd_deliver)


def cmd_deliver(args: argparse.Namespace) -> int:
    # Imported here: every floorwatch command registers this one, and only it needs them.
    import asyncio
    import logging
    import signal

    from stream.delivery.config import ConfigError, load_delivery_config
    from stream.delivery.privacy import install_redaction
    from stream.delivery.service import run_delivery
    from stream.runtime.redis_keys import default_prefix

    try:
        cfg = load_delivery_config(args.config)
    except ConfigError as exc:
        print(f"floorwatch deliver: {exc}", file=sys.stderr)
        return 2
    if args.quiet_hours_on:
        import msgspec

        cfg = msgspec.structs.replace(cfg, settings=msgspec.structs.replace(cfg.settings, quiet_hours_time=args.quiet_hours_on))
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Library loggers (aiohttp, smtplib, redis) are redacted too, at the handlers.
    install_redaction(cfg.secrets(), root_handlers=True)
    prefix = args.prefix if args.prefix is not None else default_prefix()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        if args.for_seconds:
            loop.call_later(args.for_seconds, stop.set)
        await run_delivery(args.redis, None, prefix, stop, config=cfg)

    try:
        asyncio.run(main())
    except (OSError, ConnectionError) as exc:
        print(f"floorwatch deliver: cannot reach Redis at {_safe_url(args.redis)}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # redis.exceptions.ConnectionError is not an OSError
        if type(exc).__module__.startswith("redis"):
            print(f"floorwatch deliver: cannot reach Redis at {_safe_url(args.redis)}: {exc}", file=sys.stderr)
            return 1
        raise
    return 0


def _safe_url(url: str) -> str:
    """The Redis URL without its password."""
    return re.sub(r"//[^@/]*@", "//***@", url)
