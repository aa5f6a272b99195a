"""Counting every HTTP answer by route template and status: ``returns_http_responses``.

The route label is the template a request matched (``/v1/returns``), never the raw
path, so a caller cannot mint label values; a request that matched no route counts
as ``unmatched``. aiohttp answers requests it cannot parse (a NUL byte in a header,
a broken request line) with 400 before any route runs: those are not counted here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

import faust
from aiohttp import web

from services.runtime import metrics

UNMATCHED = "unmatched"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def count_responses(app: faust.App, service: str) -> None:
    """Count every response of ``app``'s web server (call before the server starts)."""

    @web.middleware
    async def counted(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # aiohttp's own answers: 404, 405, ...
            _count(service, request, exc.status)
            raise
        except Exception:  # becomes aiohttp's 500: counted, so that an alert can see it
            _count(service, request, 500)
            raise
        _count(service, request, response.status)
        return response

    aiohttp_app = cast(Any, app.web).web_app
    aiohttp_app.middlewares.append(counted)


def route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


def _count(service: str, request: web.Request, status: int) -> None:
    metrics.HTTP_RESPONSES.labels(service, route_of(request), str(status)).inc()
