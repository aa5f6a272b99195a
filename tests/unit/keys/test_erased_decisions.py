"""Decisions over people whose personal data was erased: screening and the audit."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import Envelope, Screened, encode
from services.audit.events import Logged, decode_event
from services.audit.reader import opening_with
from services.audit.verify import verify_events
from services.keys import KeyStore, open_raw
from services.keys.sealing import seal_for_log
from services.reference import load_reference
from services.screening.desk import ScreeningDesk
from services.screening.ruleset import load_rule_set
from tests.unit.audit.audit_factories import Log, at
from tests.unit.screening.factories import returned

NOON = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def grandmother_and_grandson(log: Log) -> list[Envelope[Any]]:
    return [
        log.person(returned("A212345678", born="1960-01-15", group_size=2), 0),
        log.person(
            returned(
                "A212345679",
                born="2001-02-02",
                given_names="Kevin",
                role="relative",
                group_size=2,
                submission_id="cbp-elp-kevin",
            ),
            1,
        ),
    ]


def sealed(log: Log, store: KeyStore) -> list[tuple[str, bytes]]:
    """The log as intake and screening write it: personal data sealed."""
    written = []
    for event in log.events:
        envelope = event.envelope
        if event.topic == "person-returned":
            envelope = seal_for_log(store, envelope)
        written.append((event.topic, encode(envelope)))
    return written


def read_back(written: list[tuple[str, bytes]], store: KeyStore) -> list[Logged]:
    """The log as the audit reads it: opened with the keys there are now."""
    opener = opening_with(store)
    read = []
    for n, (topic, raw) in enumerate(written):
        envelope, erased = opener(topic, decode_event(topic, raw))
        read.append(dataclasses.replace(Logged.of(topic, envelope), offset=n, erased=erased))
    return read


def test_verify_reports_an_erased_member_as_erased_not_as_a_mismatch(store: KeyStore) -> None:
    log = Log()
    family = grandmother_and_grandson(log)
    decision = log.screen(family, 2)
    assert decision.data.decision == "declined"  # OLDER_PERSON
    written = sealed(log, store)
    before = verify_events(read_back(written, store), load_reference(), as_of=at(10))
    assert (before.mismatches, before.erased) == ([], [])

    store.erase("A212345678")
    after = verify_events(read_back(written, store), load_reference(), as_of=at(10))
    assert after.mismatches == []
    assert after.erased == [f"{decision.data.group_id}: A212345678"]
    assert after.decisions_rechecked == 1


async def test_screening_decides_on_the_members_still_readable(store: KeyStore) -> None:
    sent: list[Envelope[Screened]] = []

    async def emit(envelope: Envelope[Any]) -> None:
        sent.append(envelope)

    tables: dict[str, dict[str, bytes]] = {"groups": {}, "open": {}, "watermarks": {}}
    desk = ScreeningDesk(
        load_rule_set("2021-12"),
        timedelta(minutes=10),
        tables,  # type: ignore[arg-type]
        emit,
        open_member=lambda raw: open_raw(raw, store),
    )
    first, second = grandmother_and_grandson(Log())
    sealed = seal_for_log(store, first)
    await desk.take_member(first, encode(sealed), 3, None)
    store.erase("A212345678")  # before her group is complete
    sealed = seal_for_log(store, second)
    await desk.take_member(second, encode(sealed), 3, None)
    [decision] = [e.data for e in sent]
    assert [m.case_id for m in decision.members] == ["A212345679"]
    # Nobody can vouch for the erased member: the group is short of its size.
    assert (decision.decision, [r.code for r in decision.reasons]) == (
        "referred",
        ["GROUP_INCOMPLETE"],
    )
    assert b"1960-01-15" not in tables["groups"][decision.group_id]  # stored sealed
