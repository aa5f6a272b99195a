"""The console's pages and actions, each behind the permission it needs."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from services.audit.timeline import timeline_json
from services.console import apidocs, log, pages
from services.console.charts import placement_figures
from services.console.i18n import text
from services.console.layout import Frame, page
from services.console.locations_page import locations_body
from services.console.requests_view import REQUEST_TOPICS, request_rows
from services.console.roles import Permission, allows
from services.console.web import (
    CONSOLE,
    Caller,
    Console,
    Refused,
    caller,
    figures_cached,
    frame_for,
    locations_json,
    locations_view,
    record_lookup,
    require,
)

STATIC = Path(__file__).parent / "static"
routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    ready = request.app[CONSOLE].publisher.connected
    return web.json_response({"ready": ready}, status=200 if ready else 503)


@routes.get("/static/{name}")
async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in {"console.css", "console.js"}:
        raise web.HTTPNotFound()
    response = web.FileResponse(STATIC / name)
    response.headers["Cache-Control"] = "max-age=300"
    return response


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    who = caller(request)
    if who.user is None:
        raise web.HTTPSeeOther("/login")
    for href, permission in (
        ("/locations", Permission.VIEW_LOCATIONS),
        ("/requests", Permission.VIEW_REQUESTS),
        ("/case", Permission.LOOK_UP_CASE),
    ):
        if allows(who.user.role, permission):
            raise web.HTTPSeeOther(href)
    raise Refused(403, "forbidden")


@routes.get("/locations")
async def locations(request: web.Request) -> web.Response:
    console: Console = request.app[CONSOLE]
    who = require(request, Permission.VIEW_LOCATIONS)
    assert who.user is not None
    view = await locations_view(console, who.user)
    if who.bearer:
        return web.json_response(view, status=200 if view is not None else 503)
    frame = frame_for(request, who)
    body = locations_body(frame, view, console.runtime.reference, console.config.poll_seconds)
    return web.Response(text=_page(frame, "nav_locations", body), content_type="text/html")


@routes.get("/api/locations")
async def locations_live(request: web.Request) -> web.Response:
    console: Console = request.app[CONSOLE]
    who = require(request, Permission.VIEW_LOCATIONS)
    assert who.user is not None
    view = await locations_view(console, who.user)
    return web.json_response(locations_json(request, who, view))


@routes.get("/requests")
async def requests_page(request: web.Request) -> web.Response:
    console: Console = request.app[CONSOLE]
    who = require(request, Permission.VIEW_REQUESTS)
    assert console.pages is not None
    notify = console.config.notify_url
    reported, queues = await asyncio.gather(
        console.pages.json(f"{notify}/notify/requests"),
        console.pages.ok_json(f"{notify}/notify/deliveries"),
    )
    from_notify = _notify_requests(reported)
    rows = None
    if from_notify is None:
        try:
            rows = request_rows(
                await asyncio.to_thread(log.read_events, console.source, REQUEST_TOPICS)
            )
        except Exception:  # the broker does not answer: the page says so
            rows = None
    frame = frame_for(request, who)
    body = pages.requests_body(frame, rows, from_notify, queues, datetime.now(UTC))
    return web.Response(text=_page(frame, "requests_title", body), content_type="text/html")


def _notify_requests(answer: tuple[int, Any] | None) -> list[dict[str, Any]] | None:
    """Notify's own list of requests, when it has that page; None sends us to the log."""
    if answer is None or answer[0] != 200:
        return None
    body = answer[1]
    items = body.get("requests") if isinstance(body, dict) else body
    if isinstance(items, list) and all(isinstance(i, dict) for i in items):
        return items
    return None


@routes.get("/case")
async def case(request: web.Request) -> web.Response:
    console: Console = request.app[CONSOLE]
    who = require(request, Permission.LOOK_UP_CASE)
    assert who.user is not None
    personal = allows(who.user.role, Permission.SEE_PERSONAL_DATA)
    wanted = request.query.get("id", "").strip()
    frame = frame_for(request, who)
    if "id" not in request.query:
        body = pages.case_body(frame, "", None, personal, None)
        return web.Response(text=_page(frame, "case_title", body), content_type="text/html")
    if not 1 <= len(wanted) <= 64 or not wanted.isprintable():
        body = pages.case_body(frame, "", None, personal, _t(who, "case_bad_id"))
        return web.Response(
            text=_page(frame, "case_title", body), content_type="text/html", status=422
        )
    try:
        found = await asyncio.to_thread(log.look_up_case, console.source, wanted, personal)
    except Exception:  # the broker does not answer
        body = pages.case_body(frame, wanted, None, personal, _t(who, "log_unreachable"))
        return web.Response(
            text=_page(frame, "case_title", body), content_type="text/html", status=503
        )
    # Recorded before anything is shown: a lookup that cannot be recorded is not answered.
    try:
        await record_lookup(console, who.user, wanted, personal, found)
    except Exception:  # not recorded, so not answered
        body = pages.case_body(frame, wanted, None, personal, _t(who, "access_not_recorded"))
        return web.Response(
            text=_page(frame, "case_title", body), content_type="text/html", status=503
        )
    documents = timeline_json(found.entries, personal)
    if who.bearer:
        return web.json_response({"looked_up": wanted, "timeline": documents})
    body = pages.case_body(frame, wanted, (found.entries, found.chain, documents), personal, None)
    return web.Response(text=_page(frame, "case_title", body), content_type="text/html")


@routes.get("/charts")
async def charts(request: web.Request) -> web.Response:
    console: Console = request.app[CONSOLE]
    who = require(request, Permission.VIEW_CHARTS)
    figures = figures_cached(console)
    if figures is None:
        try:
            events = await asyncio.to_thread(
                log.read_events, console.source, ("placed", "placement-deferred")
            )
            figures = placement_figures(events)
            console.charts_cache = (time.monotonic(), figures)
        except Exception:  # the broker does not answer: the page says so
            figures = None
    frame = frame_for(request, who)
    body = pages.charts_body(frame, figures)
    return web.Response(text=_page(frame, "charts_title", body), content_type="text/html")


@routes.get("/api-docs")
async def api_docs(request: web.Request) -> web.Response:
    console: Console = request.app[CONSOLE]
    who = require(request, Permission.VIEW_API_DOCS)
    path = console.config.asyncapi_file
    topics, problem = None, None
    if path.exists():
        try:
            topics = apidocs.topics(apidocs.parse(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            problem = f"{path.name}: {exc}"[:300]
    assert console.pages is not None
    openapi = await console.pages.ok_json(f"{console.config.intake_url}/openapi.json")
    frame = frame_for(request, who)
    body = pages.api_body(frame, openapi if isinstance(openapi, dict) else None, topics, problem)
    return web.Response(text=_page(frame, "api_title", body), content_type="text/html")


@routes.get("/api-docs/asyncapi.yaml")
async def asyncapi_file(request: web.Request) -> web.StreamResponse:
    console: Console = request.app[CONSOLE]
    require(request, Permission.VIEW_API_DOCS)
    if not console.config.asyncapi_file.exists():
        raise web.HTTPNotFound(text="docs/asyncapi.yaml does not exist yet")
    return web.FileResponse(console.config.asyncapi_file, headers={"Content-Type": "text/yaml"})


@routes.get("/api-docs/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    """Intake's own document, as intake serves it now (its rules change with the date)."""
    console: Console = request.app[CONSOLE]
    require(request, Permission.VIEW_API_DOCS)
    assert console.pages is not None
    document = await console.pages.ok_json(f"{console.config.intake_url}/openapi.json")
    if document is None:
        return web.json_response(
            {"error": "intake_unreachable", "message": "intake does not answer"}, status=503
        )
    return web.json_response(document)


def _page(frame: Frame, title: str, body: str) -> str:
    return page(frame, title, body)


def _t(who: Caller, key: str) -> str:
    return text(who.lang, key)
