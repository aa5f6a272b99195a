"""Notify's request rules (docs/CONTRACT.md, "Notify rules"): whom to ask, how urgently, for what.

Pure functions: decisions, reference data, open-request counts and time go in, request
events come out. Nothing here reads a clock, a topic or the network, so replaying a
topic re-derives the very same requests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Literal

from schemas.decisions import Placed, Screened, ScreenedMember
from schemas.envelope import event_id_for
from schemas.registry import TOPICS
from schemas.requests import CareRequested, LegalAidRequested, Purpose
from services.notify.deadlines import DEFAULT_POLICY, INTERVIEW_DUE_WITHIN, DeadlinePolicy
from services.reference.models import Crossing, HealthProvider, LegalAidProvider

URGENT_WITHIN_DAYS = 14
"""A hearing at most this many calendar days after the return makes a request urgent."""

REFERRAL_DUE_WITHIN = INTERVIEW_DUE_WITHIN
"""A non-refoulement interview is due this long after the group's return."""

DEFAULT_LANGUAGE = "spa"
"""The group's language when no member needs an interpreter."""

_NOTIFY_EVENT_TYPES = frozenset(spec.name for spec in TOPICS.values() if spec.writer == "notify")


class NoProviderError(LookupError):
    """No provider at a location can take the request; the message names location and service."""


def choose_legal_aid_provider(
    providers: Iterable[LegalAidProvider],
    preferred_language: str,
    open_requests: Mapping[str, int],
    capacity: Mapping[str, int] | None = None,
) -> tuple[LegalAidProvider, str]:
    """The provider to ask among `providers` (those of one location), and why.

    A provider at its capacity (open requests >= `capacity[id]`, else its reference
    capacity; every provider has room when `capacity` is None) is skipped while another
    has room; when none has, all are considered, so that a group is never left without
    one. Among those, providers working in `preferred_language` come first; among them
    (or among all, when none does) the one with the fewest open requests wins, ties going
    to the lowest id. `open_requests` maps provider id to its open requests; a missing id
    counts as 0. Raises `NoProviderError` when `providers` is empty.
    """
    candidates = tuple(providers)
    if not candidates:
        raise NoProviderError("no legal-aid provider to choose from")
    with_room = [p for p in candidates if has_room(p, open_requests, capacity)]
    pool = with_room or list(candidates)
    speaking = [p for p in pool if preferred_language in p.languages]
    chosen = min(speaking or pool, key=lambda p: (open_requests.get(p.id, 0), p.id))
    load = _open_requests(open_requests.get(chosen.id, 0))
    full = "" if with_room else "; every provider at capacity"
    if speaking:
        return chosen, f"covers {preferred_language}; {load}{full}"
    if any(preferred_language in p.languages for p in candidates):
        skipped = f"every provider covering {preferred_language} at capacity"
        return chosen, f"{skipped}; least loaded ({load})"
    return chosen, f"no provider covers {preferred_language}; least loaded ({load}){full}"


def has_room(
    provider: LegalAidProvider,
    open_requests: Mapping[str, int],
    capacity: Mapping[str, int] | None,
) -> bool:
    """Whether `provider` holds fewer open requests than its capacity (the changed one
    in `capacity`, else its reference capacity); always, when `capacity` is None."""
    if capacity is None:
        return True
    limit = capacity.get(provider.id, provider.capacity)
    return open_requests.get(provider.id, 0) < limit


def hearing_priority(
    earliest_hearing_at: datetime | None, returned_at: datetime
) -> Literal["urgent", "normal"]:
    """`urgent` when the hearing is at most 14 days (inclusive) after the return, else `normal`.

    Days are calendar days in `returned_at`'s own UTC offset, as for ages in the screening
    rules: the hearing is converted to that offset and the difference of the two local dates
    is compared with 14, whatever the hours. A hearing on or before the return date is
    urgent too. No known hearing is `normal`. Both datetimes must be timezone-aware.
    """
    if earliest_hearing_at is None:
        return "normal"
    offset = returned_at.utcoffset()
    if offset is None or earliest_hearing_at.utcoffset() is None:
        raise ValueError("hearing_priority needs timezone-aware datetimes")
    hearing_date = earliest_hearing_at.astimezone(timezone(offset)).date()
    days = (hearing_date - returned_at.date()).days
    return "urgent" if days <= URGENT_WITHIN_DAYS else "normal"


def group_language(members: Iterable[ScreenedMember]) -> str:
    """The most common interpreter language among `members` (ties by code), else Spanish."""
    counts = Counter(m.interpreter_language for m in members if m.interpreter_language)
    if not counts:
        return DEFAULT_LANGUAGE
    return min(counts, key=lambda code: (-counts[code], code))


def interpreter_required(members: Iterable[ScreenedMember]) -> bool:
    """Whether any member needs an interpreter (an interpreter language, or the need itself)."""
    return any(m.interpreter_language is not None or "interpreter" in m.needs for m in members)


def legal_aid_for_placement(
    placed: Placed,
    screened: Screened,
    providers: Iterable[LegalAidProvider],
    open_requests: Mapping[str, int],
    *,
    capacity: Mapping[str, int] | None = None,
    issued_at: datetime | None = None,
    policy: DeadlinePolicy = DEFAULT_POLICY,
) -> LegalAidRequested:
    """The `immigration_hearing` request for a placed group, to a provider at its location.

    `providers` may hold every provider; only those at `placed.location` are considered,
    those at `capacity` skipped while another has room. Its priority is
    `placement_priority`; given `issued_at`, its `due_by` and `accept_by` follow `policy`
    from then (else both are None).
    """
    _same_group(placed, screened)
    language = group_language(screened.members)
    provider, why = _choose_at(placed.location, providers, language, open_requests, capacity)
    priority = placement_priority(placed, screened)
    due_by = accept_by = None
    if issued_at is not None:
        due_by = policy.due_by("immigration_hearing", priority, issued_at, issued_at)
        accept_by = policy.accept_by("immigration_hearing", issued_at)
    return LegalAidRequested(
        group_id=placed.group_id,
        purpose="immigration_hearing",
        priority=priority,
        provider_id=provider.id,
        provider_choice=why,
        location=placed.location,
        shelter_id=placed.shelter_id,
        members=list(placed.members),
        earliest_hearing_at=screened.earliest_hearing_at,
        preferred_language=language,
        interpreter_required=interpreter_required(screened.members),
        due_by=due_by,
        accept_by=accept_by,
    )


def placement_priority(placed: Placed, screened: Screened) -> Literal["urgent", "normal"]:
    """The hearing priority of a placed group: from `screened.returned_at` (else
    `placed.returned_at`); when neither is known, a known hearing is treated as urgent
    rather than risk missing it."""
    returned_at = screened.returned_at or placed.returned_at
    hearing = screened.earliest_hearing_at
    if returned_at is not None:
        return hearing_priority(hearing, returned_at)
    return "normal" if hearing is None else "urgent"


def referred_for_fear(screened: Screened) -> bool:
    """Whether the decision is `referred` with a `FEAR_OF_RETURN` reason (a group referred
    only as incomplete is not)."""
    fear = any(reason.code == "FEAR_OF_RETURN" for reason in screened.reasons)
    return screened.decision == "referred" and fear


def legal_aid_for_referral(
    screened: Screened,
    providers: Iterable[LegalAidProvider],
    open_requests: Mapping[str, int],
    event_time: datetime,
    *,
    crossing: Crossing,
    capacity: Mapping[str, int] | None = None,
    issued_at: datetime | None = None,
    policy: DeadlinePolicy = DEFAULT_POLICY,
) -> LegalAidRequested | None:
    """The urgent `non_refoulement_interview` request for a group referred for fear of return.

    None unless the decision is `referred` with at least one `FEAR_OF_RETURN` reason (a
    group referred only as incomplete gets none). The provider is chosen at the designated
    location of the group's `crossing`; `members` lists the whole group, whose return
    waits on the interview. `due_by` is 24 hours after `screened.returned_at`, or after
    `event_time` (the screened event's time, never the wall clock) when that is unknown.
    Given `issued_at`, `accept_by` follows `policy` from then (else it is None).
    """
    if not referred_for_fear(screened):
        return None
    if event_time.utcoffset() is None:
        raise ValueError("event_time must be timezone-aware")
    language = group_language(screened.members)
    provider, why = _choose_at(crossing.location, providers, language, open_requests, capacity)
    purpose: Purpose = "non_refoulement_interview"
    returned_at = screened.returned_at or event_time
    accept_by = None if issued_at is None else policy.accept_by(purpose, issued_at)
    return LegalAidRequested(
        group_id=screened.group_id,
        purpose=purpose,
        priority="urgent",
        provider_id=provider.id,
        provider_choice=why,
        location=crossing.location,
        shelter_id=None,
        members=[member.case_id for member in screened.members],
        earliest_hearing_at=screened.earliest_hearing_at,
        preferred_language=language,
        interpreter_required=interpreter_required(screened.members),
        due_by=policy.due_by(purpose, "urgent", returned_at, returned_at),
        accept_by=accept_by,
    )


def care_requests_for_placement(
    placed: Placed, screened: Screened, health_providers: Iterable[HealthProvider]
) -> list[CareRequested]:
    """One `covid_vaccination` request per placed member who needs it, sorted by case id.

    The provider is the first, by id, at `placed.location` that gives Covid-19 vaccination.
    Raises `NoProviderError` when someone needs it and no provider there gives it.
    """
    _same_group(placed, screened)
    placed_here = set(placed.members)
    needing = sorted(
        m.case_id
        for m in screened.members
        if "covid_vaccination" in m.needs and m.case_id in placed_here
    )
    if not needing:
        return []
    here = (p for p in health_providers if p.location == placed.location)
    vaccinating = sorted(p.id for p in here if "covid_vaccination" in p.services)
    if not vaccinating:
        raise NoProviderError(f"no covid_vaccination provider at {placed.location}")
    return [
        CareRequested(
            group_id=placed.group_id,
            case_id=case_id,
            kind="covid_vaccination",
            provider_id=vaccinating[0],
            location=placed.location,
            shelter_id=placed.shelter_id,
        )
        for case_id in needing
    ]


def request_event_id(kind: str, causation_event_id: str, *parts: str) -> str:
    """The deterministic event id of a notify event of type `kind` caused by an event.

    `kind` is an event type notify writes (`legal-aid-requested`, `care-requested`,
    `request-updated`, `notification-delivered`, `notification-failed`); `parts` tell
    apart several events of one kind from one cause (the case id of a care request, the
    request a `request-updated` changes, a partner id). The same
    cause always yields the same id, so a reprocessed event is recognised as a duplicate.
    """
    if kind not in _NOTIFY_EVENT_TYPES:
        raise ValueError(f"{kind!r} is not an event type notify writes")
    return event_id_for(kind, causation_event_id, *parts)


def _choose_at(
    location: str,
    providers: Iterable[LegalAidProvider],
    language: str,
    open_requests: Mapping[str, int],
    capacity: Mapping[str, int] | None,
) -> tuple[LegalAidProvider, str]:
    at_location = [p for p in providers if p.location == location]
    if not at_location:
        raise NoProviderError(f"no legal-aid provider at {location}")
    return choose_legal_aid_provider(at_location, language, open_requests, capacity)


def _same_group(placed: Placed, screened: Screened) -> None:
    if placed.group_id != screened.group_id:
        raise ValueError("placed and screened events belong to different groups")


def _open_requests(count: int) -> str:
    return f"{count} open request{'' if count == 1 else 's'}"
