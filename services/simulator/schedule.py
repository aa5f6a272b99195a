"""When each return is due: per-crossing rates, surges and send times. Pure, no clock.

Send times are computed, not slept towards: the k-th send of a crossing is due when
the integral of its rate since the start reaches k (plus a phase). A runner that
falls behind catches up instead of drifting, and a test can count the sends in any
window without waiting for them.

Surge syntax (``--surge``, repeatable)::

    CODE:FACTORx@START[+LENGTH]

``ELP:10x@60s`` multiplies El Paso's rate by 10 from 60 s into the run to its end;
``ELP:10x@60s+30s`` for 30 s only; ``SAN:0.5x@2m+1m`` halves Tijuana's for a minute.
Times take ``s``, ``m`` or ``h`` (a bare number is seconds); the ``x`` is optional.
Overlapping surges of one crossing multiply.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_SURGE = re.compile(
    r"^(?P<code>[A-Za-z]{3}):(?P<factor>\d+(?:\.\d+)?)x?@(?P<start>[^+]+)(?:\+(?P<length>.+))?$"
)
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}


class ScheduleError(ValueError):
    """A surge, duration or weight that cannot be understood; the message shows the syntax."""


@dataclass(frozen=True)
class Surge:
    """``crossing``'s rate times ``factor`` from ``start`` s for ``length`` s (None: to the end)."""

    crossing: str
    factor: float
    start: float
    length: float | None = None

    @property
    def end(self) -> float:
        """When the surge ends (infinity: at the end of the run)."""
        return math.inf if self.length is None else self.start + self.length

    def active(self, at: float) -> bool:
        """Whether the surge applies ``at`` seconds into the run."""
        return self.start <= at < self.end

    def __str__(self) -> str:
        length = "" if self.length is None else f"+{self.length:g}s"
        return f"{self.crossing}:{self.factor:g}x@{self.start:g}s{length}"


def parse_duration(text: str) -> float:
    """Seconds in ``90``, ``90s``, ``1.5m``, ``2h`` or ``1d``."""
    match = _DURATION.match(text)
    if not match:
        raise ScheduleError(f"{text!r} is not a duration (examples: 90, 90s, 1.5m, 2h)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def parse_surge(text: str) -> Surge:
    """A :class:`Surge` from ``CODE:FACTORx@START[+LENGTH]``, e.g. ``ELP:10x@60s+30s``."""
    match = _SURGE.match(text.strip())
    try:
        if not match:
            raise ScheduleError("no match")
        length = match.group("length")
        return Surge(
            crossing=match.group("code").upper(),
            factor=float(match.group("factor")),
            start=parse_duration(match.group("start")),
            length=None if length is None else parse_duration(length),
        )
    except ScheduleError:
        raise ScheduleError(
            f"{text!r} is not a surge: use CODE:FACTORx@START[+LENGTH], e.g. ELP:10x@60s+30s"
        ) from None


def parse_weights(items: Iterable[str]) -> dict[str, float]:
    """Weights from ``CODE=W`` items, e.g. ``["ELP=3", "SAN=1"]``."""
    weights: dict[str, float] = {}
    for item in items:
        code, _, value = item.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = -1.0
        if len(code.strip()) != 3 or weight < 0:
            raise ScheduleError(f"{item!r} is not a weight: use CODE=W, e.g. ELP=3")
        weights[code.strip().upper()] = weight
    return weights


def split_rate(
    total: float, weights: Mapping[str, float], crossings: Sequence[str]
) -> dict[str, float]:
    """``total`` returns per second shared among ``crossings`` in proportion to ``weights``."""
    chosen = {code: weights.get(code, 0.0) for code in crossings}
    whole = sum(chosen.values())
    if whole <= 0:
        raise ScheduleError(f"the weights of {', '.join(crossings)} add up to zero")
    return {code: total * weight / whole for code, weight in chosen.items()}


def rate_at(base: float, surges: Iterable[Surge], at: float) -> float:
    """The rate at ``at`` s into the run, given the crossing's own surges."""
    rate = base
    for surge in surges:
        if surge.active(at):
            rate *= surge.factor
    return rate


def segments(
    base: float, surges: Sequence[Surge], duration: float
) -> list[tuple[float, float, float]]:
    """``(start, end, rate)`` pieces of constant rate covering ``[0, duration)``."""
    cuts = {0.0, duration}
    for surge in surges:
        cuts.update(t for t in (surge.start, surge.end) if 0 < t < duration)
    edges = sorted(cuts)
    return [(a, b, rate_at(base, surges, a)) for a, b in itertools.pairwise(edges)]


def send_times(
    base: float, surges: Sequence[Surge], duration: float, phase: float = 0.5
) -> Iterator[float]:
    """Offsets (s) of one crossing's sends in ``[0, duration)``, in order.

    The k-th send (from 0) is due when the integral of the rate reaches ``k + phase``;
    computed per piece from its start, so no rounding accumulates.
    """
    owed = phase  # sends' worth of rate still to integrate before the next send
    for start, end, rate in segments(base, surges, duration):
        if rate <= 0:
            continue
        available = (end - start) * rate
        count = 0
        while owed + count < available:
            yield start + (owed + count) / rate
            count += 1
        owed = owed + count - available


def merged_sends(
    rates: Mapping[str, float], surges: Sequence[Surge], duration: float
) -> Iterator[tuple[float, str]]:
    """``(offset, crossing)`` of every send of every crossing, in time order."""
    streams = [
        _labelled(code, send_times(rate, [s for s in surges if s.crossing == code], duration))
        for code, rate in sorted(rates.items())
    ]
    return heapq.merge(*streams)


def _labelled(code: str, times: Iterator[float]) -> Iterator[tuple[float, str]]:
    for at in times:
        yield at, code


def count_between(times: Iterable[float], start: float, end: float) -> int:
    """How many of ``times`` fall in ``[start, end)``."""
    return sum(1 for at in times if start <= at < end)
