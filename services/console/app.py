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
from services.intake.responses import Handler, route_of
from services.runtime import metrics
from services.runtime.context import Runtime

log = logging.getLogger("returns.console")
CONNECT_RETRY_S = 2.0
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what render() writes


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
    app = web.Application(middlewares=[_counted, guard], client_max_size=MAX_BODY_BYTES)
    app[CONSOLE] = console
    app.add_routes(routes.routes)
    app.add_routes(action_routes.routes)
    app.router.add_get("/metrics", _metrics)
    app.cleanup_ctx.append(_lifetime)
    return app


async def _metrics(request: web.Request) -> web.Response:
    """The process's registry, as every service serves it: codes only, so no login."""
    return web.Response(body=metrics.render(), headers={"Content-Type": METRICS_CONTENT_TYPE})


@web.middleware
async def _counted(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer, refusals and redirects included, in ``returns_http_responses``."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # the login redirect, aiohttp's 404 and 405
        _count(request, exc.status)
        raise
    except Exception:  # becomes aiohttp's 500: counted, so that an alert can see it
        _count(request, 500)
        raise
    _count(request, response.status)
    return response


def _count(request: web.Request, status: int) -> None:
    metrics.HTTP_RESPONSES.labels("console", route_of(request), str(status)).inc()


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
