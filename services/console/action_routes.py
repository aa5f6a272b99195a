"""Signing in and out, and the actions that publish: status changes, beds, departures.

Each action checks its permission and the form's CSRF token itself; the event it makes
is published, and acknowledged, before the answer says so.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime

from aiohttp import web

from services.console import actions, pages
from services.console.i18n import text
from services.console.roles import Permission
from services.console.sessions import COOKIE
from services.console.web import (
    CONSOLE,
    LOGIN_CSRF_COOKIE,
    Caller,
    Console,
    Refused,
    after_action,
    caller,
    checked_form,
    frame_for,
    html,
    invalid_action,
    now_ms,
    require,
)
from services.reference import Reference

routes = web.RouteTableDef()


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    token = secrets.token_urlsafe(24)
    who = caller(request)
    next_path = _safe_next(request.query.get("next"))
    body = pages.login_body(frame_for(request, who, login_csrf=token), next_path, failed=False)
    response = html(request, who, "login_title", body, login_csrf=token)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict")
    return response


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    console: Console = request.app[CONSOLE]
    form = await request.post()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, str(form.get("csrf", ""))):
        raise Refused(403, "forbidden")
    name, password = str(form.get("user", "")), str(form.get("password", ""))
    user = await asyncio.to_thread(console.users.by_password, name, password)
    if user is None:
        who = caller(request)
        frame = frame_for(request, who, login_csrf=expected)
        body = pages.login_body(frame, _safe_next(str(form.get("next", "/"))), failed=True)
        return html(request, who, "login_title", body, status=401, login_csrf=expected)
    sid, _ = console.sessions.open(user)
    response = web.HTTPSeeOther(_safe_next(str(form.get("next", "/"))))
    response.set_cookie(COOKIE, sid, httponly=True, samesite="Strict")
    response.del_cookie(LOGIN_CSRF_COOKIE)
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    console: Console = request.app[CONSOLE]
    who = caller(request)
    if who.session is not None:
        await checked_form(request, who)
        console.sessions.close(who.sid)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE)
    raise response


@routes.post("/locations/{code}/status")
async def set_status(request: web.Request) -> web.Response:
    console: Console = request.app[CONSOLE]
    who = require(request, Permission.SET_LOCATION_STATUS)
    form = await checked_form(request, who)
    code = request.match_info["code"].upper()
    assert who.user is not None
    if not who.user.may_act_on(code):
        raise Refused(403, "error_not_your_location")
    result = actions.status_change(form, code, who.user.name, now_ms(), console.runtime.reference)
    return await _publish(request, who, result)


@routes.post("/shelters/beds")
async def update_beds(request: web.Request) -> web.Response:
    return await _shelter_report(request, actions.beds_update)


@routes.post("/shelters/departure")
async def record_departure(request: web.Request) -> web.Response:
    return await _shelter_report(request, actions.departure)


ShelterReport = Callable[
    [Mapping[str, str], str, datetime, Reference], actions.Outgoing | actions.Invalid
]
"""A shelter's report made from the form, the user's name, now and the reference data."""


async def _shelter_report(request: web.Request, report: ShelterReport) -> web.Response:
    """What a shelter reports (its beds, a departure): allowed, the form checked, published."""
    console: Console = request.app[CONSOLE]
    who = require(request, Permission.REPORT_SHELTER)
    form = await checked_form(request, who)
    assert who.user is not None
    result = report(form, who.user.name, now_ms(), console.runtime.reference)
    return await _publish(request, who, result)


async def _publish(
    request: web.Request, who: Caller, result: actions.Outgoing | actions.Invalid
) -> web.Response:
    console: Console = request.app[CONSOLE]
    if isinstance(result, actions.Invalid):
        return await invalid_action(request, who, result)
    location = getattr(result.envelope.data, "location", "")
    assert who.user is not None
    if not who.user.may_act_on(location):
        raise Refused(403, "error_not_your_location")
    try:
        await console.publisher.publish(result)
    except Exception:  # the broker did not acknowledge: say so, keep the form
        if who.bearer or who.session is None:
            return web.json_response({"error": "publish_failed"}, status=503)
        who.session.flash.append(text(who.lang, "publish_failed"))
        raise web.HTTPSeeOther("/locations") from None
    return after_action(request, who, result)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: ``//evil`` or a full URL would be an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target
