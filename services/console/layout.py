"""The page frame every console page shares: language, navigation, the user, messages.

Plain server-rendered HTML5 with landmarks (header, nav, main), a skip link and one
``h1`` per page. Styles and the one script are served by the console itself
(``/static``): it works offline, and the Content-Security-Policy allows nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode

from services.console.i18n import LANGS, Lang, text
from services.console.roles import Permission, allows
from services.console.users import User

NAV: tuple[tuple[str, str, Permission], ...] = (
    ("/locations", "nav_locations", Permission.VIEW_LOCATIONS),
    ("/requests", "nav_requests", Permission.VIEW_REQUESTS),
    ("/case", "nav_case", Permission.LOOK_UP_CASE),
    ("/charts", "nav_charts", Permission.VIEW_CHARTS),
    ("/api-docs", "nav_api", Permission.VIEW_API_DOCS),
)


@dataclass(frozen=True)
class Frame:
    """What a page needs to know about who looks at it."""

    lang: Lang
    user: User | None
    csrf: str
    path: str
    messages: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()

    def t(self, key: str, **values: str) -> str:
        return escape(text(self.lang, key, **values))


def e(value: object) -> str:
    return escape("" if value is None else str(value))


def page(frame: Frame, title_key: str, body: str) -> str:
    title = frame.t(title_key)
    return (
        f'<!doctype html><html lang="{frame.lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="csrf-token" content="{e(frame.csrf)}">'
        f"<title>{title} · {frame.t('title')}</title>"
        '<link rel="stylesheet" href="/static/console.css">'
        '<script src="/static/console.js" defer></script></head><body>'
        f'<a class="skip" href="#main">{frame.t("skip")}</a>'
        f"{_header(frame)}"
        f'<main id="main" tabindex="-1"><h1>{title}</h1>'
        f"{_notices(frame)}{body}</main></body></html>"
    )


def _header(frame: Frame) -> str:
    links = []
    if frame.user is not None:
        for href, key, permission in NAV:
            if allows(frame.user.role, permission):
                current = ' aria-current="page"' if frame.path.startswith(href) else ""
                links.append(f'<li><a href="{href}"{current}>{frame.t(key)}</a></li>')
    langs = " ".join(
        f'<a href="{e(frame.path)}?{urlencode({"lang": lang})}" hreflang="{lang}" lang="{lang}"'
        + (' aria-current="true"' if lang == frame.lang else "")
        + f">{lang.upper()}</a>"
        for lang in LANGS
    )
    who = ""
    if frame.user is not None:
        who = (
            f'<p class="who">{frame.t("signed_in_as")} <strong>{e(frame.user.name)}</strong> '
            f"({frame.t('role_' + frame.user.role)})</p>"
            f'<form method="post" action="/logout" class="logout">{csrf_field(frame)}'
            f'<button type="submit">{frame.t("logout")}</button></form>'
        )
    nav = f'<nav aria-label="{frame.t("title")}"><ul>{"".join(links)}</ul></nav>' if links else ""
    return (
        f'<header><p class="brand">{frame.t("title")}</p>{nav}'
        f'<p class="langs" aria-label="{frame.t("language")}">{langs}</p>{who}</header>'
    )


def _notices(frame: Frame) -> str:
    parts = [f'<p class="notice" role="status">{e(m)}</p>' for m in frame.messages]
    if frame.errors:
        items = "".join(f"<li>{e(err)}</li>" for err in frame.errors)
        parts.append(f'<div class="error" role="alert"><ul>{items}</ul></div>')
    return "".join(parts)


def csrf_field(frame: Frame) -> str:
    return f'<input type="hidden" name="csrf" value="{e(frame.csrf)}">'


def table(caption: str, headers: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """A table of already-escaped cells, scrollable on a phone."""
    head = "".join(f'<th scope="col">{h}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<div class="scroll"><table><caption>{caption}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
