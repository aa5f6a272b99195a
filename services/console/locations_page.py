"""The locations page: per location its status, cap, count, beds, queue and rerouting,
and the forms the user's role allows. Pure: placement's view in, HTML out.

``live_fragment`` is the part the page's script replaces every few seconds (from
``/api/locations``); the forms sit outside it, so a note being typed is never lost.
"""

from __future__ import annotations

from typing import Any

from services.console.layout import Frame, csrf_field, duration, e, table
from services.console.roles import Permission, allows
from services.reference import Reference


def locations_body(
    frame: Frame, view: dict[str, Any] | None, reference: Reference, poll_seconds: float
) -> str:
    """Every location as a section, or a clear notice when placement does not answer."""
    by_code = {loc.get("location"): loc for loc in (view or {}).get("locations", [])}
    sections = [
        _section(frame, location.code, by_code.get(location.code), reference)
        for location in sorted(reference.locations, key=lambda loc: loc.code)
    ]
    return (
        f'<p class="live" data-poll="{poll_seconds:g}">'
        f'<span id="live-state" role="status" aria-live="polite">{freshness(frame, view)}</span>'
        f"</p>"
        f'<div class="locations">{"".join(sections)}</div>'
    )


def freshness(frame: Frame, view: dict[str, Any] | None) -> str:
    """Whether the figures are live, and as of when."""
    if view is None:
        return frame.t("placement_unreachable")
    note = "" if view.get("complete", True) else " " + frame.t("incomplete")
    return f"{frame.t('live')} · {frame.t('last_update')} {e(view.get('as_of', ''))[11:19]}{note}"


def _section(frame: Frame, code: str, view: dict[str, Any] | None, reference: Reference) -> str:
    location = reference.location(code)
    level = (view or {}).get("security_level", "")
    heading = f"{e(code)} · {e(location.city)}"
    return (
        f'<section class="location" id="loc-{e(code)}" aria-labelledby="h-{e(code)}" '
        f'data-location="{e(code)}"><h2 id="h-{e(code)}">{heading}</h2>'
        f'<div class="live-part">{live_fragment(frame, code, view, reference)}</div>'
        f"{_inm_form(frame, code, view, level)}{_shelter_forms(frame, code, reference)}"
        "</section>"
    )


def live_fragment(
    frame: Frame, code: str, view: dict[str, Any] | None, reference: Reference
) -> str:
    """Status, figures, shelters and queue of one location."""
    if view is None or "error" in view:
        return f'<p class="stale">{frame.t("placement_unreachable")}</p>'
    level = str(view.get("security_level", ""))
    alternate = reference.location(code).alternate
    reroute = ""
    if alternate is not None:
        key = "rerouting_active" if level == "suspended" else "reroutes_to"
        reroute = f'<p class="reroute">{frame.t(key)} <strong>{e(alternate)}</strong></p>'
    figures = (
        f'<dl class="figures"><div><dt>{frame.t("status")}</dt>'
        f'<dd><span class="badge {e(level)}" data-field="status">'
        f"{frame.t('status_' + level) if level else '—'}</span></dd></div>"
        f'<div><dt>{frame.t("daily_cap")}</dt><dd data-field="daily_cap">'
        f"{e(view.get('daily_cap'))}</dd></div>"
        f'<div><dt>{frame.t("placed_today")}</dt><dd data-field="placed_today">'
        f"{e(view.get('placed_today'))}</dd></div>"
        f"<div><dt>{frame.t('free_beds')}</dt><dd>{e(view.get('free_beds'))}</dd></div>"
        f'<div><dt>{frame.t("queue")}</dt><dd data-field="queue_length">'
        f"{e(view.get('queue_length'))}</dd></div>"
        f"<div><dt>{frame.t('oldest_wait')}</dt>"
        f"<dd>{duration(view.get('oldest_waiting_age_seconds'))}</dd></div></dl>"
    )
    return figures + reroute + _queue(frame, code, view) + _shelters(frame, code, view)


def _queue(frame: Frame, code: str, view: dict[str, Any]) -> str:
    waiting = view.get("waiting") or []
    if not waiting:
        return f'<p class="queue empty">{frame.t("no_queue")}</p>'
    rows = [
        [e(w["position"]), e(w["group_id"]), e(w["beds"]), e(w["reason"]), e(w["deferred_since"])]
        for w in waiting
    ]
    headers = ["#", frame.t("group"), frame.t("beds"), frame.t("reason"), frame.t("since")]
    return f'<div class="queue">{table(frame.t("queue") + " · " + e(code), headers, rows)}</div>'


def _shelters(frame: Frame, code: str, view: dict[str, Any]) -> str:
    shelters = view.get("shelters") or []
    rows = [[e(s["shelter_id"]), e(s["beds"]), e(s["occupied"]), e(s["free"])] for s in shelters]
    headers = [frame.t("shelter"), frame.t("beds"), frame.t("occupied"), frame.t("free")]
    return (
        '<details class="shelters"><summary>'
        f"{frame.t('shelters')} ({len(shelters)})</summary>"
        f"{table(frame.t('shelters') + ' · ' + e(code), headers, rows)}</details>"
    )


def _inm_form(frame: Frame, code: str, view: dict[str, Any] | None, level: str) -> str:
    user = frame.user
    if user is None or not allows(user.role, Permission.SET_LOCATION_STATUS):
        return ""
    if not user.may_act_on(code):
        return ""
    cap = (view or {}).get("daily_cap", "")
    suffix = e(code)
    return (
        f'<form method="post" action="/locations/{suffix}/status" class="action inm">'
        f"<fieldset><legend>{frame.t('inm_actions')}</legend>{csrf_field(frame)}"
        f'<input type="hidden" name="current_level" value="{e(level)}" data-field="level">'
        f'<label for="note-{suffix}">{frame.t("note")}</label>'
        f'<textarea id="note-{suffix}" name="note" required maxlength="500" rows="2"></textarea>'
        f'<label for="cap-{suffix}">{frame.t("daily_cap")}</label>'
        f'<input id="cap-{suffix}" name="daily_cap" type="number" min="0" max="10000" '
        f'inputmode="numeric" value="{e(cap)}" required>'
        '<div class="buttons">'
        f'<button type="submit" name="action" value="suspend">{frame.t("suspend")}</button>'
        f'<button type="submit" name="action" value="reopen">{frame.t("reopen")}</button>'
        f'<button type="submit" name="action" value="elevate">{frame.t("elevate")}</button>'
        f'<button type="submit" name="action" value="set_cap">{frame.t("set_cap")}</button>'
        "</div></fieldset></form>"
    )


def _shelter_forms(frame: Frame, code: str, reference: Reference) -> str:
    user = frame.user
    if user is None or not allows(user.role, Permission.REPORT_SHELTER):
        return ""
    if not user.may_act_on(code):
        return ""
    shelters = reference.shelters_at(code)
    if not shelters:
        return ""
    suffix = e(code)
    options = "".join(
        f'<option value="{e(s.id)}">{e(s.id)} · {e(s.name)}</option>' for s in shelters
    )
    return (
        f'<form method="post" action="/shelters/beds" class="action shelter">'
        f"<fieldset><legend>{frame.t('update_beds')}</legend>{csrf_field(frame)}"
        f'<label for="beds-shelter-{suffix}">{frame.t("shelter")}</label>'
        f'<select id="beds-shelter-{suffix}" name="shelter_id">{options}</select>'
        f'<label for="beds-{suffix}">{frame.t("beds")}</label>'
        f'<input id="beds-{suffix}" name="beds" type="number" min="0" max="100000" required '
        'inputmode="numeric">'
        f'<div class="buttons"><button type="submit">{frame.t("update_beds")}</button></div>'
        "</fieldset></form>"
        f'<form method="post" action="/shelters/departure" class="action shelter">'
        f"<fieldset><legend>{frame.t('record_departure')}</legend>{csrf_field(frame)}"
        f'<label for="dep-shelter-{suffix}">{frame.t("shelter")}</label>'
        f'<select id="dep-shelter-{suffix}" name="shelter_id">{options}</select>'
        f'<label for="dep-group-{suffix}">{frame.t("group")}</label>'
        f'<input id="dep-group-{suffix}" name="group_id" required maxlength="64">'
        f'<div class="buttons"><button type="submit">{frame.t("record_departure")}</button>'
        "</div></fieldset></form>"
    )
