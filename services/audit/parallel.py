"""`verify` on two cores: the screening audit in this process, the follow-up audit in another.

The two halves of `verify` share no state (`services.audit.verify_parts`), and each reads
its own replay: this process `person-returned` and `screened`, a child process every
other topic and `screened` again. A replay merges its partitions greedily by their
heads' order keys, so each half sees exactly the events of its topics that one replay
of every topic would give it, in the same order (docs/adr/0038-verify-on-two-cores.md).

What would cross the halves is handled here:

- counts: `screened` is counted by this process alone (`Replay(counted=...)`);
- the log's problems (undecodable records, conflicting repeats) are interleaved by the
  running maximum of the order keys each replay had yielded when it met them, which is
  where the one replay of every topic would have met them (`merge_stats`);
- an `event_id` on two topics: one replay drops the later as a repeat, two replays may
  not see both. Legitimate event ids never cross topics (they are UUIDv5 of the event
  type and its cause); when some do, a forged or damaged log, the whole verify runs
  again in one process, so the report is always the one-process report.
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.context import ForkContext, SpawnContext
from typing import Any

from kafka.errors import KafkaError

from services.audit.assembly import KEEP_DECIDED
from services.audit.events import Conflict, OrderKey, ReplayStats
from services.audit.reader import Opener, ProgressSink, Replay, ReplayError, ReplaySource
from services.audit.screening_check import RuleSets
from services.audit.verify import VERIFY_TOPICS, Verifier, VerifyReport, assemble_report
from services.audit.verify_parts import SCREENING_TOPICS, FollowUpAudit, ScreeningAudit
from services.reference import Reference

FOLLOW_UP_TOPICS = tuple(topic for topic in VERIFY_TOPICS if topic != "person-returned")
"""What the follow-up audit reads."""

FOLLOWED_ONLY = tuple(topic for topic in FOLLOW_UP_TOPICS if topic not in SCREENING_TOPICS)
"""What the child counts: `screened` is this process's."""

DEFAULT_WORKERS = min(2, os.cpu_count() or 1)
"""One process per half, on a machine with two cores or more."""


@dataclass(frozen=True)
class VerifyRun:
    """Everything a verify needs but the end of the audit, which is known only at the end."""

    source: ReplaySource
    reference: Reference
    grace: timedelta
    from_timestamp: datetime | None = None
    keep_decided: int = KEEP_DECIDED
    rule_sets: RuleSets | None = None
    opener: Opener | None = None
    consumer_factory: Callable[..., Any] | None = None
    """kafka-python's `KafkaConsumer` but in tests."""


@dataclass
class Verified:
    report: VerifyReport
    stats: ReplayStats


ProgressBar = Callable[[], AbstractContextManager[ProgressSink]]
"""Shows the progress while it is entered: entered only once the child process runs, as
a progress bar's thread would make forking unsafe."""


def verify_replayed(
    run: VerifyRun,
    as_of: Callable[[], datetime],
    *,
    workers: int = DEFAULT_WORKERS,
    progress_bar: ProgressBar | None = None,
) -> Verified:
    """Replay the verify topics and verify them, in one process or two (`workers`).

    `as_of` is called once the replay is over: the end of the audit. Raises
    `ReplayError` (or kafka-python's `KafkaError`) when a replay fails.
    """
    bar = progress_bar or _no_progress
    if workers > 1:
        verified = _in_two_processes(run, as_of, bar)
        if verified is not None:
            return verified
    with bar() as progress:
        return _in_one_process(run, as_of, progress)


@contextmanager
def _no_progress() -> Iterator[ProgressSink]:
    yield lambda done, total: None


def _in_one_process(
    run: VerifyRun, as_of: Callable[[], datetime], progress: ProgressSink
) -> Verified:
    verifier = Verifier(run.reference, run.rule_sets, run.keep_decided)
    replay = _replay(run, VERIFY_TOPICS, progress=progress, opener=run.opener)
    for event in replay:
        verifier.feed(event)
    return Verified(verifier.finish(replay.stats, as_of(), run.grace), replay.stats)


def _replay(run: VerifyRun, topics: tuple[str, ...], **options: Any) -> Replay:
    return Replay(
        run.source,
        topics,
        from_timestamp=run.from_timestamp,
        consumer_factory=run.consumer_factory,
        **options,
    )


def _context() -> ForkContext | SpawnContext:
    """Fork while this process has no other thread (no imports to repeat), else spawn."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _in_two_processes(
    run: VerifyRun, as_of: Callable[[], datetime], bar: ProgressBar
) -> Verified | None:
    """The report, or None when event ids cross topics (then one process must do it)."""
    context = _context()
    here, there = context.Pipe()
    counts = context.Array("q", 2)  # the child's records replayed, and in its replay
    child = context.Process(
        target=_follow_up_child,
        args=(there, replace(run, opener=None, rule_sets=None), counts),  # its own are not needed
        name="returns-audit-follow-up",
        daemon=True,
    )
    child.start()
    there.close()
    with bar() as progress:
        verified = _beside(run, as_of, here, child, counts, progress)
    return verified


def _beside(
    run: VerifyRun,
    as_of: Callable[[], datetime],
    here: Connection,
    child: Any,
    counts: Any,
    progress: ProgressSink,
) -> Verified | None:
    """The screening half here, beside the child's follow-up half."""

    def advance(done: int, total: int) -> None:
        progress(done + counts[0], total + counts[1])

    try:
        replay = _replay(run, SCREENING_TOPICS, progress=advance, opener=run.opener)
        audit = ScreeningAudit(run.rule_sets, run.keep_decided)
        for event in replay:
            audit.feed(event)
        child_stats, child_ids, child_crossed = _receive(here, child, "fed")
        advance(replay.stats.read, replay.total)
        if (
            child_crossed
            or replay.seen.crossed_topics
            or child_ids & replay.seen.ids_on(SCREENING_TOPICS)
        ):
            return None
        end = as_of()
        here.send(end)
        (follow_up,) = _receive(here, child, "found")
    except BaseException:
        child.terminate()  # its half is of no use now
        raise
    finally:
        here.close()
        child.join(timeout=5)
        if child.is_alive():
            child.terminate()
            child.join()
    stats = merge_stats(replay.stats, child_stats)
    return Verified(assemble_report(stats, audit.finish(end, run.grace), follow_up), stats)


def _receive(connection: Connection, child: Any, expected: str) -> tuple[Any, ...]:
    """The child's next message, or the `ReplayError` it met, or why it is gone."""
    try:
        kind, *payload = connection.recv()
    except EOFError:
        child.join(timeout=5)
        raise ReplayError(f"the follow-up replay stopped (exit code {child.exitcode})") from None
    if kind == "failed":
        raise ReplayError(payload[0])
    if kind != expected:
        raise ReplayError(f"the follow-up replay sent {kind!r}, not {expected!r}")
    return tuple(payload)


def _follow_up_child(connection: Connection, run: VerifyRun, counts: Any) -> None:
    """The child: replay every topic but `person-returned` into the follow-up audit."""

    def advance(done: int, total: int) -> None:
        counts[0], counts[1] = done, total

    try:
        replay = _replay(run, FOLLOW_UP_TOPICS, progress=advance, counted=FOLLOWED_ONLY)
        audit = FollowUpAudit(run.reference)
        for event in replay:
            audit.feed(event)
        ids = replay.seen.ids_on(FOLLOWED_ONLY)
        connection.send(("fed", replay.stats, ids, replay.seen.crossed_topics))
        end = connection.recv()
        connection.send(("found", audit.finish(end, run.grace)))
    except (ReplayError, KafkaError) as exc:
        connection.send(("failed", str(exc)))
    except (EOFError, BrokenPipeError):
        pass  # the parent gave up on this half: nothing to say
    finally:
        connection.close()


def merge_stats(first: ReplayStats, second: ReplayStats) -> ReplayStats:
    """The stats of one replay of both replays' topics (each counted by one of them)."""
    undecodable = heapq.merge(
        zip(first.undecodable_at, first.undecodable, strict=True),
        zip(second.undecodable_at, second.undecodable, strict=True),
        key=lambda pair: pair[0],
    )
    at, problems = [], []
    for key, problem in undecodable:
        at.append(key)
        problems.append(problem)
    return ReplayStats(
        read=first.read + second.read,
        duplicates=first.duplicates + second.duplicates,
        by_topic={**first.by_topic, **second.by_topic},
        conflicts=list(heapq.merge(first.conflicts, second.conflicts, key=_conflict_at)),
        undecodable=problems,
        undecodable_at=at,
    )


def _conflict_at(conflict: Conflict) -> OrderKey:
    if conflict.at is None:
        raise ValueError(f"conflict {conflict.repeated_at} has no place in its replay")
    return conflict.at
