"""Wiring: the console's aiohttp application, built from its settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from schemas.registry import TOPICS
from services.console import action_routes, routes
from services.console.access import AccessRecorder, FileAccessLog, TopicAccessLog
from services.console.backends import Pages, Publisher
from services.console.config import ConsoleConfig
from services.console.sessions import SessionStore
from services.console.users import UserDirectory
from services.console.web import CONSOLE, MAX_BODY_BYTES, Console, guard
from services.runtime.context import Runtime

log = logging.getLogger("returns.console")
CONNECT_RETRY_S = 2.0


def build_console(config: ConsoleConfig, runtime: Runtime) -> Console:
    """Reads the users file (raises ``UsersFileError`` with the fix when it is wrong)."""
    publisher = Publisher(runtime)
    access: AccessRecorder = (
        TopicAccessLog(publisher) if "access-logged" in TOPICS else FileAccessLog(config.access_log)
    )
    return Console(
        config=config,
        runtime=runtime,
        users=UserDirectory.from_file(config.users_file),
        sessions=SessionStore(),
        publisher=publisher,
        access=access,
    )


def build_app(console: Console) -> web.Application:
    app = web.Application(middlewares=[guard], client_max_size=MAX_BODY_BYTES)
    app[CONSOLE] = console
    app.add_routes(routes.routes)
    app.add_routes(action_routes.routes)
    app.cleanup_ctx.append(_lifetime)
    return app


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    console: Console = app[CONSOLE]
    async with aiohttp.ClientSession() as session:
        console.pages = console.pages or Pages(session)
        connecting = asyncio.create_task(_connect(console))
        yield
        connecting.cancel()
        await asyncio.to_thread(console.publisher.close)


async def _connect(console: Console) -> None:
    """Ready once the broker answers; until then ``/readyz`` says 503."""
    while not console.publisher.connected:
        try:
            await asyncio.to_thread(console.publisher.connect)
        except Exception as exc:  # kafka-python raises several kinds while the broker is down
            log.warning("broker not reachable yet (%s); retrying", type(exc).__name__)
            await asyncio.sleep(CONNECT_RETRY_S)
    log.info("connected to the broker")
