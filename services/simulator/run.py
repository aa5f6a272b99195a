"""A paced run: the plan's steps, each at its time, through the given channels.

The I/O is injected: ``submit`` takes one submission (a dict), ``publish`` one INM
event, and ``clock`` tells time and sleeps, so a test runs a whole simulation
instantly with a fake clock and lists as channels.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from schemas.envelope import Envelope, utc_now
from services.reference import Reference
from services.simulator.inm import InmEvent
from services.simulator.plan import Plan, SendGroup, SimulationConfig, Step
from services.upstream import SubmissionRejected

Submit = Callable[[dict[str, Any]], object]
Publish = Callable[[str, Envelope[Any]], object]
MAX_CONSECUTIVE_FAILURES = 20
RATE_WINDOW = 5


class Clock(Protocol):
    """Monotonic time and sleeping: the real one, or a test's."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class SimulationAborted(RuntimeError):
    """Sending kept failing (for example, nothing listens at the address)."""


@dataclass
class Meter:
    """People sent per second over the last few whole seconds."""

    window: int = RATE_WINDOW
    _buckets: deque[list[int]] = field(default_factory=deque)

    def add(self, now: float, count: int) -> None:
        """Count ``count`` people sent at ``now``."""
        second = int(now)
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += count
        else:
            self._buckets.append([second, count])
        while self._buckets and self._buckets[0][0] <= second - self.window - 1:
            self._buckets.popleft()

    def rate(self, now: float, elapsed: float) -> float:
        """People per second over the last whole seconds (fewer early in a run)."""
        second = int(now)
        done = [count for at, count in self._buckets if second - self.window <= at < second]
        span = min(float(self.window), elapsed) if elapsed >= 1 else 1.0
        return sum(done) / span


@dataclass
class CrossingStats:
    """What one crossing sent so far."""

    sent: int = 0
    groups: int = 0
    rejected: int = 0
    failed: int = 0
    meter: Meter = field(default_factory=Meter)


@dataclass
class RunStats:
    """What a run did so far; read by the live display, returned by :meth:`Simulation.run`."""

    crossings: dict[str, CrossingStats]
    inm: dict[str, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)  # people submitted per source
    elapsed: float = 0.0
    max_lag: float = 0.0
    cut_short: bool = False
    last_error: str | None = None

    @property
    def sent(self) -> int:
        """People submitted (for Kafka: handed to the producer)."""
        return sum(c.sent for c in self.crossings.values())

    @property
    def rejected(self) -> int:
        """People intake refused (HTTP 422/413)."""
        return sum(c.rejected for c in self.crossings.values())

    @property
    def failed(self) -> int:
        """People whose submission failed in transport."""
        return sum(c.failed for c in self.crossings.values())


class Simulation:
    """Runs ``config`` for its duration, sending each step when it is due.

    ``publish`` is required with ``config.inm``. ``start`` is the event time of the
    run's beginning (default: now). :meth:`run` stops by itself after the duration.
    """

    def __init__(
        self,
        config: SimulationConfig,
        reference: Reference,
        submit: Submit,
        *,
        publish: Publish | None = None,
        clock: Clock | None = None,
        start: datetime | None = None,
    ) -> None:
        if config.inm and publish is None:
            raise ValueError("an INM run needs a publish channel")
        self.config = config
        self.plan = Plan(config, reference, start or utc_now())
        self.stats = RunStats({code: CrossingStats() for code in config.crossings})
        self._submit, self._publish = submit, publish
        self._clock = clock or SystemClock()
        self._began = 0.0
        self._failures = 0

    def monotonic(self) -> float:
        """The clock's reading, in the seconds the rate meters count in."""
        return self._clock.monotonic()

    @property
    def offset(self) -> float:
        """Seconds since the run began."""
        return self._clock.monotonic() - self._began

    def run(self) -> RunStats:
        """Send every step at its time; return the totals. Raises :class:`SimulationAborted`."""
        self._began = self._clock.monotonic()
        for step in self.plan.steps():
            if not self._wait_for(step.at):
                self.stats.cut_short = True
                break
            self._execute(step)
        self.stats.elapsed = min(self.offset, self.config.duration)
        return self.stats

    def _wait_for(self, at: float) -> bool:
        """Sleep until ``at`` s into the run; False when the run's time is already up."""
        now = self.offset
        if now >= self.config.duration:
            return False
        if at > now:
            self._clock.sleep(at - now)
        else:
            self.stats.max_lag = max(self.stats.max_lag, now - at)
        return True

    def _execute(self, step: Step) -> None:
        if isinstance(step, SendGroup):
            self._send(step)
        else:
            self._publish_inm(step)

    def _send(self, group: SendGroup) -> None:
        stats = self.stats.crossings[group.crossing]
        stats.groups += group.first
        for record in group.records:
            try:
                self._submit(record)
            except SubmissionRejected:
                stats.rejected += 1
            except Exception as exc:  # any transport failure: count it, give up if it persists
                stats.failed += 1
                self._failed(exc)
            else:
                stats.sent += 1
                source = str(record.get("source"))
                self.stats.sources[source] = self.stats.sources.get(source, 0) + 1
                self._failures = 0
        stats.meter.add(self._clock.monotonic(), len(group.records))

    def _publish_inm(self, event: InmEvent) -> None:
        assert self._publish is not None
        try:
            self._publish(event.topic, event.envelope)
        except Exception as exc:
            self._failed(exc)
            return
        self.stats.inm[event.topic] = self.stats.inm.get(event.topic, 0) + 1

    def _failed(self, exc: Exception) -> None:
        # Only the exception's type and message: transport errors carry no record content.
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        self._failures += 1
        if self._failures >= MAX_CONSECUTIVE_FAILURES:
            raise SimulationAborted(
                f"{self._failures} sends failed in a row; last: {self.stats.last_error}"
            ) from exc
