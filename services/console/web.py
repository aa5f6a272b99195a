"""Who is asking, what they may do, and how the console answers them.

Browsers log in at ``/login`` and get a session cookie; tools send ``Authorization:
Bearer`` and get JSON. Each route names the permission it needs (``roles``): without it
the action is refused with 403 whatever the page showed. Bad input gets a specific
4xx, never a 500.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from services.audit.reader import ReplaySource
from services.console import actions, log
from services.console.access import Access, AccessRecorder
from services.console.backends import Pages, Publisher
from services.console.charts import PlacementFigures
from services.console.config import ConsoleConfig
from services.console.i18n import Lang, pick_lang, text
from services.console.layout import Frame, page
from services.console.locations_page import freshness, live_fragment, locations_body
from services.console.roles import Permission, allows
from services.console.sessions import COOKIE, Session, SessionStore, csrf_ok
from services.console.users import User, UserDirectory
from services.runtime.context import Runtime

LANG_COOKIE = "returns_console_lang"
LOGIN_CSRF_COOKIE = "returns_console_login_csrf"
MAX_BODY_BYTES = 64 * 1024
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass
class Console:
    """Everything the routes share, built once by ``build_console``."""

    config: ConsoleConfig
    runtime: Runtime
    users: UserDirectory
    sessions: SessionStore
    publisher: Publisher
    access: AccessRecorder
    pages: Pages | None = None
    charts_cache: tuple[float, PlacementFigures] | None = None
    background: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def source(self) -> ReplaySource:
        settings = self.runtime.settings
        return ReplaySource(settings.bootstrap_servers, settings.topic_prefix)


CONSOLE = web.AppKey("console", Console)


@dataclass(frozen=True)
class Caller:
    user: User | None
    session: Session | None
    sid: str | None
    bearer: bool
    lang: Lang


def caller(request: web.Request) -> Caller:
    console: Console = request.app[CONSOLE]
    lang = pick_lang(request.query.get("lang"), request.cookies.get(LANG_COOKIE))
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        return Caller(console.users.by_bearer(authorization), None, None, True, lang)
    sid = request.cookies.get(COOKIE)
    session = console.sessions.get(sid)
    return Caller(session.user if session else None, session, sid, False, lang)


def frame_for(
    request: web.Request, who: Caller, errors: tuple[str, ...] = (), login_csrf: str = ""
) -> Frame:
    """The page frame; the session's messages are shown once, here."""
    messages: tuple[str, ...] = ()
    if who.session is not None:
        messages, who.session.flash[:] = tuple(who.session.flash), []
    csrf = who.session.csrf if who.session else login_csrf
    return Frame(who.lang, who.user, csrf, request.path, messages, errors)


def html(
    request: web.Request,
    who: Caller,
    title: str,
    body: str,
    status: int = 200,
    login_csrf: str = "",
) -> web.Response:
    return web.Response(
        text=page(frame_for(request, who, login_csrf=login_csrf), title, body),
        content_type="text/html",
        status=status,
    )


class Refused(Exception):
    def __init__(self, status: int, key: str) -> None:
        super().__init__(key)
        self.status, self.key = status, key


def require(request: web.Request, permission: Permission) -> Caller:
    """The caller, if logged in and holding ``permission``; else a 401 or 403."""
    who = caller(request)
    if who.user is None:
        raise Refused(401, "login_failed")
    if not allows(who.user.role, permission):
        raise Refused(403, "forbidden")
    return who


async def checked_form(request: web.Request, who: Caller) -> dict[str, str]:
    """The posted form; a browser's must carry its session's CSRF token."""
    raw = await request.post()
    form = {key: value for key, value in raw.items() if isinstance(value, str)}
    if not who.bearer and (who.session is None or not csrf_ok(who.session, form.get("csrf"))):
        raise Refused(403, "forbidden")
    return form


@web.middleware
async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refusals as 401/403 (a login redirect for a browser's page), security headers."""
    try:
        response: web.StreamResponse = await handler(request)
    except Refused as refused:
        response = _refusal(request, refused)
    if request.query.get("lang") in ("es", "en"):
        response.set_cookie(
            LANG_COOKIE, request.query["lang"], max_age=365 * 86400, samesite="Strict"
        )
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _refusal(request: web.Request, refused: Refused) -> web.StreamResponse:
    who = caller(request)
    wants_json = who.bearer or request.path.startswith("/api/")
    if refused.status == 401 and request.method == "GET" and not wants_json:
        raise web.HTTPSeeOther("/login?" + urlencode({"next": request.path_qs}))
    if wants_json or (request.method != "GET" and who.user is None):
        error = "unauthorized" if refused.status == 401 else "forbidden"
        return web.json_response(
            {"error": error, "message": text(who.lang, refused.key)}, status=refused.status
        )
    return html(request, who, "forbidden", f"<p>{text(who.lang, refused.key)}</p>", refused.status)


def now_ms() -> datetime:
    """Now, to the millisecond: what the envelope keeps of a moment on the wire."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


async def locations_view(console: Console, user: User) -> dict[str, Any] | None:
    """Placement's view of every location, read in ``user``'s name (placement records it)."""
    assert console.pages is not None
    url = f"{console.config.placement_url}/v1/locations"
    body = await console.pages.ok_json(url, principal=user.name)
    return body if isinstance(body, dict) else None


def locations_json(request: web.Request, who: Caller, view: dict[str, Any] | None) -> Any:
    """What the page's script needs to refresh itself: each location's live fragment."""
    console: Console = request.app[CONSOLE]
    frame = frame_for(request, who)
    by_code = {loc.get("location"): loc for loc in (view or {}).get("locations", [])}
    reference = console.runtime.reference
    return {
        "ok": view is not None,
        "as_of": (view or {}).get("as_of"),
        "complete": (view or {}).get("complete", False),
        "state": freshness(frame, view),
        "locations": {
            loc.code: {
                "html": live_fragment(frame, loc.code, by_code.get(loc.code), reference),
                "security_level": (by_code.get(loc.code) or {}).get("security_level"),
                "daily_cap": (by_code.get(loc.code) or {}).get("daily_cap"),
            }
            for loc in reference.locations
        },
    }


def after_action(request: web.Request, who: Caller, outgoing: actions.Outgoing) -> web.Response:
    envelope = outgoing.envelope
    if who.bearer:
        return web.json_response(
            {"status": "published", "topic": outgoing.topic, "event_id": envelope.event_id},
            status=202,
        )
    assert who.session is not None
    who.session.flash.append(
        text(who.lang, "published", event_type=envelope.event_type, event_id=envelope.event_id)
    )
    raise web.HTTPSeeOther(f"/locations#loc-{getattr(envelope.data, 'location', '')}")


async def invalid_action(
    request: web.Request, who: Caller, invalid: actions.Invalid
) -> web.Response:
    problems = {name: text(who.lang, key) for name, key in invalid.problems.items()}
    if who.bearer:
        return web.json_response({"error": "invalid_form", "problems": problems}, status=422)
    console: Console = request.app[CONSOLE]
    errors = tuple(f"{name}: {message}" for name, message in problems.items())
    frame = frame_for(request, who, (text(who.lang, "form_invalid"), *errors))
    assert who.user is not None
    view = await locations_view(console, who.user)
    body = locations_body(frame, view, console.runtime.reference, 0)
    return web.Response(
        text=page(frame, "nav_locations", body), content_type="text/html", status=422
    )


def figures_cached(console: Console) -> PlacementFigures | None:
    cached = console.charts_cache
    if cached is not None and time.monotonic() - cached[0] < console.config.charts_cache_seconds:
        return cached[1]
    return None


async def record_lookup(
    console: Console, user: User, wanted: str, personal: bool, found: log.CaseFound
) -> None:
    groups = {g for e in found.entries if (g := getattr(e.event.data, "group_id", None))}
    access = Access(
        datetime.now(UTC),
        user.name,
        user.role,
        wanted,
        personal,
        len(found.entries),
        tuple(sorted(groups)),
    )
    await console.access.record(access)
