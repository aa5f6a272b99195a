"""One line per event for an auditor: decisions, flags, codes; personal data only on request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from services.audit.events import Logged


def summary(event: Logged, show_personal_data: bool = False) -> str:
    """What `event` says, in a line. Names and declarations only with `show_personal_data`."""
    describe = _SUMMARIES.get(event.topic)
    text = describe(event.data) if describe is not None else event.envelope.event_type
    if event.topic == "person-returned" and event.erased:
        return f"{text}; PERSONAL DATA ERASED (the data key was deleted)"
    if event.topic == "person-returned" and _sealed(event.data):
        return f"{text}; personal data sealed (no key here)"
    if show_personal_data and event.topic == "person-returned":
        text = f"{text}; {_personal(event.data)}"
    return text


def _sealed(d: Any) -> bool:
    # A record read without its key stays sealed (not opened by this replay).
    personal = getattr(d, "personal", None)
    return getattr(personal, "scheme", None) == "aes-256-gcm"


def _person_returned(d: Any) -> str:
    hearing = d.hearing.scheduled_at.isoformat() if d.hearing else "none"
    return (
        f"{d.case_id} returned at {d.crossing} {d.returned_at.isoformat()}, "
        f"group {d.group_id} of {d.group_size}, {d.person.role_in_group}; hearing {hearing}"
    )


def _personal(d: Any) -> str:
    declared = [name for name, value in d.declared.model_dump().items() if value]
    return (
        f"{d.person.given_names} {d.person.family_names}, born {d.person.date_of_birth}, "
        f"{d.person.sex}, {d.person.nationality}, languages {','.join(d.person.languages)}, "
        f"declared {','.join(declared) or 'nothing'}, covid doses {d.covid_vaccination.doses}"
    )


def _screened(d: Any) -> str:
    members = "; ".join(
        f"{m.case_id}: flags {','.join(m.flags) or '-'} needs {','.join(m.needs) or '-'}"
        + (f" interpreter {m.interpreter_language}" if m.interpreter_language else "")
        for m in d.members
    )
    reasons = ", ".join(f"{r.case_id or 'group'}:{r.code}" for r in d.reasons) or "-"
    late = f" (member after decision {d.decided_after})" if d.decided_after else ""
    chain = f" revision {d.revision}" if d.revision else ""
    chain += f" superseding {d.supersedes[:8]}" if d.supersedes else ""
    window = f"; {window_text(d.window)}" if d.window else ""
    return (
        f"{d.decision.upper()} under {d.rule_set}{late}{chain}{window}; "
        f"reasons {reasons}; {members}"
    )


def window_text(w: Any) -> str:
    """A gathering window in a few words (arrival times, UTC)."""
    return (
        f"window {_clock(w.opened_at)}+{w.minutes:g}min "
        f"closed by {w.closed_by} at {_clock(w.closed_at)}"
    )


def _clock(moment: Any) -> str:
    return str(moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"))


def _placed(d: Any) -> str:
    reroute = f", rerouted from {d.rerouted_from} with transport" if d.rerouted_from else ""
    waited = f", waiting since {d.deferred_since.isoformat()}" if d.deferred_since else ""
    return f"PLACED at {d.location}/{d.shelter_id}, {d.beds} bed(s){reroute}{waited}"


def _withdrawn(d: Any) -> str:
    place = f"{d.location}/{d.shelter_id}" if d.shelter_id else f"the queue at {d.location}"
    return (
        f"WITHDRAWN from {place} ({d.reason}), {d.beds_released} bed(s) released, "
        f"after decision {d.screened_event_id[:8]}"
    )


def _request_updated(d: Any) -> str:
    members = " ".join(d.members) or "-"
    return (
        f"{d.request_type} {d.request_event_id[:8]} {d.change} ({d.reason}) "
        f"to {d.provider_id}; members {members}"
    )


def _deferred(d: Any) -> str:
    position = f", queue position {d.queue_position}" if d.queue_position else ""
    return f"DEFERRED at {d.location}: {d.reason} since {d.deferred_since.isoformat()}{position}"


def _legal_aid(d: Any) -> str:
    due = f", due by {d.due_by.isoformat()}" if d.due_by else ""
    accept = getattr(d, "accept_by", None)
    due += f", to accept by {accept.isoformat()}" if accept else ""
    replaces = getattr(d, "replaces", None)
    if replaces:
        because = getattr(d, "reassigned_because", None) or "unstated"
        due += f"; reassigned ({because}), replaces {replaces[:8]}"
    return f"legal aid {d.purpose} ({d.priority}) to {d.provider_id}{due}"


def _legal_aid_updated(d: Any) -> str:
    reason = f" ({d.reason_code})" if d.reason_code else ""
    return (
        f"legal aid {d.request_event_id[:8]} {d.status.upper()}{reason} at "
        f"{d.status_at.isoformat()}, reported by {d.partner_id} for {d.provider_id}"
    )


def _provider_capacity(d: Any) -> str:
    return f"{d.provider_id} takes {d.capacity} open request(s), set by {d.changed_by}"


def _care(d: Any) -> str:
    return f"care {d.kind} for {d.case_id} to {d.provider_id}"


def _departed(d: Any) -> str:
    return f"left {d.location}/{d.shelter_id} at {d.departed_at.isoformat()}"


def _rejected(d: Any) -> str:
    return "REJECTED at intake: " + ", ".join(f"{p.field or 'record'}:{p.code}" for p in d.reasons)


def _delivered(d: Any) -> str:
    return f"delivered {d.notified_event_type} to {d.partner_id} (HTTP {d.status_code})"


def _failed(d: Any) -> str:
    return f"delivery of {d.notified_event_type} to {d.partner_id} failed after {d.attempts}"


def _status(d: Any) -> str:
    return f"{d.location} {d.security_level}, daily cap {d.daily_cap}"


def _capacity(d: Any) -> str:
    return f"{d.shelter_id} at {d.location}: {d.beds} beds"


_SUMMARIES: dict[str, Callable[[Any], str]] = {
    "person-returned": _person_returned,
    "screened": _screened,
    "placed": _placed,
    "placement-deferred": _deferred,
    "placement-withdrawn": _withdrawn,
    "request-updated": _request_updated,
    "legal-aid-requested": _legal_aid,
    "legal-aid-updated": _legal_aid_updated,
    "provider-capacity-changed": _provider_capacity,
    "care-requested": _care,
    "shelter-departed": _departed,
    "intake-rejected": _rejected,
    "notification-delivered": _delivered,
    "notification-failed": _failed,
    "location-status-changed": _status,
    "capacity-updated": _capacity,
}
