"""How simulated legal-aid partners handle the requests they get. Pure.

A partner takes a while to answer a request (`accept_delay`), declines a share of
them (`decline_share`, the answer then being `declined`), and, for those it accepts,
makes first contact after `contact_delay` and closes the case after `close_delay`.
A share (`silent_share`) never answers: notify reassigns those once their `accept_by`
passes. Delays are drawn from distributions (`parse_delay`) and are in simulated time:
on a compressed clock (`clock_scale` simulated seconds per real second) a 2-hour delay
at scale 60 passes in 2 real minutes, and the report's `status_at` is that real moment.

Each request's plan comes from its own generator, seeded by the run's seed and the
request's event id: a request seen twice (at-least-once reading) gets the same plan,
and one run's plans do not depend on the order requests were seen in.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from services.simulator.schedule import ScheduleError, parse_duration

DelayKind = Literal["fixed", "uniform", "exponential", "lognormal"]
Status = Literal["accepted", "declined", "first_contact", "closed"]

_Z95 = 1.6448536269514722  # the standard normal's 95th percentile
_RANGE = re.compile(r"^\s*(.+?)\s*\.\.\s*(.+?)\s*$")


@dataclass(frozen=True)
class Delay:
    """A distribution of delays in seconds.

    `fixed` is `low`; `uniform` lies between `low` and `high`; `exponential` has mean
    `low`; `lognormal` has median `low` and 95th percentile `high`.
    """

    kind: DelayKind
    low: float
    high: float = 0.0

    def draw(self, rng: random.Random) -> float:
        """One delay, in whole milliseconds."""
        if self.kind == "fixed":
            value = self.low
        elif self.kind == "uniform":
            value = rng.uniform(self.low, self.high)
        elif self.kind == "exponential":
            value = rng.expovariate(1.0 / self.low) if self.low > 0 else 0.0
        else:
            sigma = math.log(self.high / self.low) / _Z95
            value = rng.lognormvariate(math.log(self.low), sigma)
        return round(value, 3)

    def __str__(self) -> str:
        if self.kind == "fixed":
            return f"{self.low:g}s"
        if self.kind == "exponential":
            return f"exp:{self.low:g}s"
        prefix = "lognormal:" if self.kind == "lognormal" else ""
        return f"{prefix}{self.low:g}s..{self.high:g}s"


def parse_delay(text: str) -> Delay:
    """`2h` (fixed), `10m..4h` (uniform), `exp:2h` (mean), `lognormal:2h..8h` (median..p95)."""
    raw = text.strip()
    kind, _, rest = raw.partition(":") if ":" in raw else ("", "", raw)
    try:
        if kind == "exp":
            mean = parse_duration(rest)
            return Delay("exponential", mean)
        match = _RANGE.match(rest)
        if kind == "lognormal":
            if match is None:
                raise ScheduleError(f"{text!r}: lognormal needs MEDIAN..P95, e.g. 2h..8h")
            median, p95 = parse_duration(match.group(1)), parse_duration(match.group(2))
            if not 0 < median < p95:
                raise ScheduleError(f"{text!r}: need 0 < median < p95")
            return Delay("lognormal", median, p95)
        if kind:
            raise ScheduleError(f"{text!r}: unknown distribution {kind!r} (exp, lognormal)")
        if match is None:
            return Delay("fixed", parse_duration(rest))
        low, high = parse_duration(match.group(1)), parse_duration(match.group(2))
    except ScheduleError as exc:
        raise ScheduleError(f"not a delay: {exc}") from None
    if low > high:
        raise ScheduleError(f"{text!r}: LOW..HIGH with LOW <= HIGH")
    return Delay("uniform", low, high)


@dataclass(frozen=True)
class PartnerBehaviour:
    """What simulated partners do with a request; delays in simulated seconds."""

    accept_delay: Delay = Delay("lognormal", 1800.0, 4 * 3600.0)
    decline_share: float = 0.1
    contact_delay: Delay = Delay("lognormal", 6 * 3600.0, 36 * 3600.0)
    close_delay: Delay = Delay("uniform", 2 * 86_400.0, 10 * 86_400.0)
    silent_share: float = 0.0
    clock_scale: float = 1.0

    def __post_init__(self) -> None:
        for name in ("decline_share", "silent_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ScheduleError(f"--{name.replace('_', '-')} must be between 0 and 1")
        if self.decline_share + self.silent_share > 1.0:
            raise ScheduleError("--decline-share and --silent-share add up to more than 1")
        if self.clock_scale <= 0:
            raise ScheduleError("--clock-scale must be positive")


@dataclass(frozen=True)
class PlannedReport:
    """Report `status` on a request, `after` simulated seconds from its issue."""

    status: Status
    after: float


def plan(request_event_id: str, behaviour: PartnerBehaviour, seed: int) -> list[PlannedReport]:
    """The reports a partner will make on one request, in order (none: it stays silent)."""
    rng = random.Random(f"{seed}:partner:{request_event_id}")  # noqa: S311 (simulated data)
    answer = rng.random()
    answered_after = behaviour.accept_delay.draw(rng)
    if answer < behaviour.silent_share:
        return []
    if answer < behaviour.silent_share + behaviour.decline_share:
        return [PlannedReport("declined", answered_after)]
    contact = answered_after + behaviour.contact_delay.draw(rng)
    closed = contact + behaviour.close_delay.draw(rng)
    return [
        PlannedReport("accepted", answered_after),
        PlannedReport("first_contact", contact),
        PlannedReport("closed", closed),
    ]


def real_moment(issued_at: datetime, after: float, clock_scale: float) -> datetime:
    """When `after` simulated seconds from `issued_at` fall on the real clock (whole ms)."""
    return issued_at + timedelta(milliseconds=round(after * 1000 / clock_scale))
