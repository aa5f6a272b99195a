"""Who takes a legal-aid request its provider declined or did not accept in time.

Pure: the request, the providers at its location, their open requests and capacities
and the time go in; the request that replaces it comes out.

The rule (docs/adr/0017-legal-aid-progress.md): the next suitable provider at the
location is another one with room, chosen as a first request is (its language first,
then the least loaded, ties by id). When no other provider has room, the group is never
left without one: the request goes to the least loaded provider at the location, the
same one included (ties going to another one, then by id), and the fallback is counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from schemas.requests import LegalAidRequested, Priority, ReassignedBecause
from services.notify.deadlines import DeadlinePolicy
from services.notify.requests import NoProviderError, choose_legal_aid_provider, has_room
from services.reference.models import LegalAidProvider


@dataclass(frozen=True)
class Reassignment:
    """The new request, and whether no other provider had room (`fallback`)."""

    request: LegalAidRequested
    fallback: bool


def reassign(
    request: LegalAidRequested,
    replaces: str,
    because: ReassignedBecause,
    providers: Iterable[LegalAidProvider],
    open_requests: Mapping[str, int],
    capacity: Mapping[str, int],
    now: datetime,
    policy: DeadlinePolicy,
) -> Reassignment:
    """The request replacing `request` (event id `replaces`), offered at `now`.

    `providers` may hold every provider; only those at the request's location count.
    `open_requests` must not count `request` any more (it is withdrawn first). The new
    request keeps the group's `due_by` and gets a fresh `accept_by`. Raises
    `NoProviderError` when the location has no provider at all.
    """
    here = [p for p in providers if p.location == request.location]
    if not here:
        raise NoProviderError(f"no legal-aid provider at {request.location}")
    others = [p for p in here if p.id != request.provider_id]
    with_room = [p for p in others if has_room(p, open_requests, capacity)]
    if with_room:
        chosen, why = choose_legal_aid_provider(
            with_room, request.preferred_language, open_requests
        )
        fallback = False
    else:
        chosen = min(
            here,
            key=lambda p: (open_requests.get(p.id, 0), p.id == request.provider_id, p.id),
        )
        why = f"no other provider has room; least loaded ({open_requests.get(chosen.id, 0)} open)"
        fallback = True
    return Reassignment(
        LegalAidRequested(
            group_id=request.group_id,
            purpose=request.purpose,
            priority=request.priority,
            provider_id=chosen.id,
            provider_choice=f"reassigned ({because}): {why}",
            location=request.location,
            shelter_id=request.shelter_id,
            members=list(request.members),
            earliest_hearing_at=request.earliest_hearing_at,
            preferred_language=request.preferred_language,
            interpreter_required=request.interpreter_required,
            due_by=request.due_by,
            accept_by=policy.accept_by(request.purpose, now),
            replaces=replaces,
            reassigned_because=because,
        ),
        fallback,
    )


def amended_request(
    request: LegalAidRequested,
    members: list[str],
    priority: Priority | None,
    shelter_id: str | None,
) -> LegalAidRequested:
    """`request` as a `request-updated` amendment leaves it (members, priority, shelter)."""
    return LegalAidRequested(
        group_id=request.group_id,
        purpose=request.purpose,
        priority=request.priority if priority is None else priority,
        provider_id=request.provider_id,
        provider_choice=request.provider_choice,
        location=request.location,
        shelter_id=shelter_id,
        members=members,
        earliest_hearing_at=request.earliest_hearing_at,
        preferred_language=request.preferred_language,
        interpreter_required=request.interpreter_required,
        due_by=request.due_by,
        accept_by=request.accept_by,
        replaces=request.replaces,
        reassigned_because=request.reassigned_because,
    )
