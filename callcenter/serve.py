"""``callcenter serve``: run the server until SIGTERM / Ctrl-C.

The store is migrated to the newest schema on start (``--no-migrate`` refuses to
start on an out-of-date store instead), so a fresh machine needs no extra step.
SIGTERM drains (see :mod:`callcenter.app`): new contacts get 503, writes finish,
sockets close with a reason, the router takes a final snapshot.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiohttp import web

from callcenter.app import create_app
from callcenter.config import Config
from callcenter.errors import CallCenterError
from callcenter.ivr import FlowSetInvalid
from callcenter.logs import configure_logging, get_logger
from callcenter.store.migrate import current_revision, head_revision, upgrade

log = get_logger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="listen address (default: server.host)")
    parser.add_argument("--port", type=int, help="listen port (default: server.port)")
    parser.add_argument("--no-migrate", action="store_true",
                        help="do not migrate the store; refuse to start if it is not current")


async def prepare_store(url: str, migrate: bool) -> None:
    """Migrate the store, or check that it is current."""
    if migrate:
        await upgrade(url)
        return
    current = await current_revision(url)
    if current != head_revision():
        raise CallCenterError(
            f"the store is at revision {current or 'base (empty)'}, this server needs "
            f"{head_revision()}: run 'callcenter migrate' (or serve without --no-migrate)",
            code="store.not_migrated")


def run(args: argparse.Namespace, config: Config) -> int:
    configure_logging(config.log.level, json=config.log.json)
    changes = {}
    if args.host:
        changes["server__host"] = args.host
    if args.port is not None:
        changes["server__port"] = args.port
    if changes:
        config = config.replace(**changes)
    asyncio.run(prepare_store(config.store.url, not args.no_migrate))
    try:
        app = create_app(config)
    except FlowSetInvalid as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"callcenter serve: refusing to start: {len(exc.errors)} error(s) in the IVR "
              f"flows at {config.ivr.flows_dir}", file=sys.stderr)
        return 1
    log.info("server.listening", host=config.server.host, port=config.server.port)
    web.run_app(app, host=config.server.host, port=config.server.port,
                shutdown_timeout=config.server.drain_timeout_s, print=None,
                access_log=None, handle_signals=True)
    return 0
