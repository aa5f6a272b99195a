"""Reading the topics for the console, with the audit's replay (no consumer group, no commit).

Blocking (kafka-python): the web layer calls these in a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from kafka import KafkaConsumer

from services.audit.events import Logged
from services.audit.reader import Opener, Replay, ReplaySource, opening_with
from services.audit.timeline import (
    CASE_TOPICS,
    CaseCollector,
    ChainStep,
    TimelineEntry,
    build_timeline,
    decision_chain,
)
from services.keys import KeyStore, key_store
from services.runtime.security import kafka_python_options

IDLE_TIMEOUT_S = 10.0
log = logging.getLogger("returns.console")


@dataclass(frozen=True)
class CaseFound:
    entries: list[TimelineEntry]
    chain: list[ChainStep]


def read_events(source: ReplaySource, topics: Sequence[str]) -> list[Logged]:
    """Every event of ``topics`` up to now, each once, in log order. Topics not created yet
    are left out: a fresh stack has not written them."""
    present = [t for t in topics if source.physical(t) in _existing_topics(source)]
    return list(Replay(source, present, idle_timeout=IDLE_TIMEOUT_S)) if present else []


def look_up_case(source: ReplaySource, wanted: str, show_personal_data: bool) -> CaseFound:
    """The timeline of a case or group, as ``returns audit case`` shows it."""
    # Opened as `returns audit case` opens them, so that an erased case reads as erased;
    # the timeline shows the personal data only with `show_personal_data`.
    opener = opening_with(_StackKeys(source))
    collector = CaseCollector(wanted)
    for event in _replay(source, opener):
        collector.feed(event)
    if collector.chain_cut():  # the group was decided before the case came: read it whole
        collector = collector.again()
        for event in _replay(source, opener):
            collector.feed(event)
    entries = build_timeline(collector.events, show_personal_data)
    return CaseFound(entries, decision_chain(entries))


def _replay(source: ReplaySource, opener: Opener | None) -> Replay:
    present = _existing_topics(source)
    topics = [t for t in CASE_TOPICS if source.physical(t) in present]
    return Replay(source, topics, idle_timeout=IDLE_TIMEOUT_S, opener=opener)


class _StackKeys:
    """The stack's data keys, read once and only when a sealed record needs one.

    A key that cannot be had leaves the record sealed: the timeline is still answered,
    without the personal data (an erased case's data stays shut too).
    """

    def __init__(self, source: ReplaySource) -> None:
        self.source = source
        self._store: KeyStore | None = None

    def lookup(self, case_id: str) -> tuple[str, bytes] | None:
        try:
            if self._store is None:
                self._store = key_store(self.source.bootstrap_servers, self.source.topic_prefix)
                self._store.refresh()
            return self._store.lookup(case_id)
        except Exception as exc:  # no KEK file, key topic unreadable: stays sealed
            log.warning(
                "personal data stays sealed: data keys unavailable (%s)", type(exc).__name__
            )
            return None


def _existing_topics(source: ReplaySource) -> set[str]:
    consumer = KafkaConsumer(
        bootstrap_servers=source.bootstrap_servers, group_id=None, **kafka_python_options()
    )
    try:
        return set(consumer.topics())
    finally:
        consumer.close()
