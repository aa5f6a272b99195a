"""`verify` when placement catches up on a backlog, as after a broker restart.

While the broker is down nobody can read, so screening's decisions and placement's
commands pile up. Once it is back, screening works through its backlog faster than
placement (which waits for each event's acknowledgement): a family's re-decision (it
grew, or a correction declined it) is on the log before placement has acted on the
decision it replaces. Placement then acts on the first decision, and on the second as
a re-decision: what it emitted for the first must be judged against the first.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from services.audit.events import in_log_order
from services.audit.placement_check import PlacementAuditor
from services.audit.simulation import PlacementSimulator
from services.placement.state import GroupRequest
from services.reference import load_reference
from tests.unit.audit.audit_factories import Log, at
from tests.unit.audit.test_verify_placement import decide, family
from tests.unit.screening.factories import returned

REFERENCE = load_reference()
Pending = tuple[str, Any, Any]  # what placement is yet to act on: (kind, decision, before)


def audited(log: Log) -> list[str]:
    """What the placement check reports over the log in log order (by `occurred_at`)."""
    auditor = PlacementAuditor(REFERENCE)
    for event in in_log_order(log.events):
        auditor.on_event(event)
    ended = auditor.findings(at(10**6), timedelta(minutes=15))
    return [f"{m.category}: {m.detail}" for m in auditor.mismatches] + [
        f"{m.category}: {m.detail}" for m in ended
    ]


def test_a_wait_judged_against_the_decision_placement_acted_on_is_borne_out() -> None:
    # Given Ciudad Juárez with room for 3 more people today, and the Soto family of 4
    log, placement = Log(), PlacementSimulator(REFERENCE)
    _limits(log, placement, cap=3, beds=9)
    soto = family(log, "A212345650", 4, 1)
    first = decide(log, soto, 2)
    # When a correction takes one of them out before placement has caught up (a backlog)
    second = decide(log, soto[:3], 3, before=first)
    # And placement then acts on the first decision (4 > 3: it waits for the cap),
    # and on the second one (3 fit: placed from the queue)
    _emit(log, placement.accept(_request(first), at(4)))
    _emit(log, placement.accept(_request(second), at(4.5), supersedes=first.event_id))
    # Then the audit bears both out: the wait was for 4 people, not the 3 of the later one
    assert [e.topic for e in log.events[-2:]] == ["placement-deferred", "placed"]
    assert audited(log) == []


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_families_re_decided_while_placement_lags_behind_pass_the_check(seed: int) -> None:
    # Given Ciudad Juárez with a cap of 14 and 9 beds, and a stream of families that
    # arrive, grow or are declined, while placement acts on each decision one to four
    # decisions later (it is catching up)
    rng = random.Random(seed)
    log, placement = Log(), PlacementSimulator(REFERENCE)
    _limits(log, placement, cap=14, beds=9)
    live: dict[str, tuple[list[Any], Any]] = {}
    backlog: list[Pending] = []
    for step in range(1, 90):
        minutes = float(step)
        backlog.append(_one_decision(rng, log, live, step, minutes))
        while backlog and (len(backlog) > rng.randint(1, 4) or step == 89):
            kind, screened, before = backlog.pop(0)
            now = at(minutes + 0.5)
            if kind == "accept":
                supersedes = None if before is None else before.event_id
                _emit(log, placement.accept(_request(screened), now, supersedes=supersedes))
            else:
                group = screened.data.group_id
                _emit(
                    log, placement.withdraw(group, "ELP", screened.event_id, before.event_id, now)
                )
    # Then every placement, wait and withdrawal that placement emitted is borne out
    assert audited(log) == []
    assert {e.topic for e in log.events} >= {"placed", "placement-deferred", "placement-withdrawn"}


def _limits(log: Log, placement: PlacementSimulator, cap: int, beds: int) -> None:
    log.status("CJS", "normal", cap, 0)
    placement.status("CJS", "normal", cap, at(0))
    for shelter in REFERENCE.shelters_at("CJS"):
        count = beds if shelter.id == "CJS-S05" else 0
        log.capacity("CJS", shelter.id, count, 0)
        placement.capacity("CJS", shelter.id, count, at(0))


def _one_decision(
    rng: random.Random, log: Log, live: dict[str, tuple[list[Any], Any]], step: int, minutes: float
) -> Pending:
    """Screening decides one family: a new one, a grown one, or declines one."""
    choice = rng.random()
    if not live or choice < 0.5:
        members = family(log, f"A2123{step:04d}0", rng.randint(1, 4), minutes)
        screened = decide(log, members, minutes)
        live[screened.data.group_id] = (members, screened)
        return ("accept", screened, None)
    group = rng.choice(sorted(live))
    members, before = live[group]
    if choice < 0.8 and len(members) < 6:
        case = f"{members[0].data.case_id[:-1]}{len(members)}"
        grown = [*members, log.person(returned(case, group_id=group), minutes)]
        screened = decide(log, grown, minutes, before=before)
        live[group] = (grown, screened)
        return ("accept", screened, before)
    screened = decide(log, members, minutes, before=before, decision="declined")
    del live[group]
    return ("withdraw", screened, before)


def _emit(log: Log, envelopes: list[Any]) -> None:
    for envelope in envelopes:
        log.add(envelope.event_type, envelope)


def _request(screened: Any) -> GroupRequest:
    data = screened.data
    ids = tuple(member.case_id for member in data.members)
    return GroupRequest(data.group_id, "ELP", ids, len(ids), data.returned_at, screened.event_id)
