"""When a group's records are submitted, relative to its return, and by whom. Pure.

A group is due at a send time of the schedule. Its delay band (drawn by share) names
the source that submits it and how long after the return: the records are submitted
at the send time, and their ``returned_at`` lies that delay in the past. With
``spread_share``, a family's members are sent apart: each after the first within
``member_spread`` of it. Members go in random order with ``shuffle``.

:data:`IMMEDIATE` is the timing before ADR 16: no delay, families sent whole in the
order drawn, from ``cbp-<crossing>``. It is what a :class:`SimulationConfig` gets
unless told otherwise; ``returns simulate`` uses :func:`timing_from` the profile.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.simulator.profile import DelayBand, Profile
from services.simulator.schedule import ScheduleError, parse_duration
from services.simulator.tables import Weighted

_SPREAD = re.compile(r"^\s*([^.]+?)\s*\.\.\s*([^.]+?)\s*$")


@dataclass(frozen=True)
class Timing:
    """Delay bands, the sources they name, and how a family's members are spread."""

    name: str
    bands: Weighted[DelayBand]
    sources: Mapping[str, str] = field(default_factory=lambda: {"desk": "cbp-{crossing}"})
    spread_share: float = 0.0
    member_spread: tuple[float, float] = (0.0, 0.0)
    shuffle: bool = False

    @property
    def max_delay(self) -> float:
        """The longest delay any band allows."""
        return max(band.max for band in self.bands.values)

    def draw(self, rng: random.Random) -> tuple[str, float]:
        """A source kind and a delay in whole milliseconds."""
        band = self.bands.draw(rng)
        return band.source, round(rng.uniform(band.min, band.max), 3)

    def offsets(self, rng: random.Random, members: int) -> list[float]:
        """Seconds after the first send at which each member is sent (the first: 0)."""
        if members < 2 or rng.random() >= self.spread_share:
            return [0.0] * members
        low, high = self.member_spread
        return [0.0] + [round(rng.uniform(low, high), 3) for _ in range(members - 1)]

    def run_sources(self, locations: Mapping[str, str]) -> set[str]:
        """Every source a run over ``locations`` (crossing -> location) may submit from."""
        kinds = {band.source for band in self.bands.values}
        return {
            name
            for crossing, location in locations.items()
            for kind, name in self.source_names(crossing, location).items()
            if kind in kinds
        }

    def source_names(self, crossing: str, location: str) -> dict[str, str]:
        """Each source kind's name at ``crossing`` (``cbp-elp``, ``inm-desk-cjs``)."""
        values = {"crossing": crossing.lower(), "location": location.lower()}
        return {kind: template.format(**values) for kind, template in self.sources.items()}


IMMEDIATE = Timing(
    "immediate", Weighted.pairs([(DelayBand(source="desk", share=1, min=0, max=0), 1.0)])
)


def timing_from(
    profile: Profile,
    *,
    delays: str | None = None,
    max_delay: float | None = None,
    member_spread: tuple[float, float] | None = None,
    spread_share: float | None = None,
) -> Timing:
    """The profile's timing, with what the command line overrides."""
    name = delays or profile.timing.delays
    if name not in profile.delays:
        known = ", ".join(sorted(profile.delays))
        raise ScheduleError(f"no delay profile {name!r} (the profile has: {known})")
    bands = profile.delays[name]
    if max_delay is not None:
        bands = tuple(capped(band, max_delay) for band in bands)
    share = profile.timing.spread_share if spread_share is None else spread_share
    if not 0.0 <= share <= 1.0:
        raise ScheduleError("--spread-share must be between 0 and 1")
    return Timing(
        name=name,
        bands=Weighted.pairs([(band, band.share) for band in bands]),
        sources=dict(profile.sources),
        spread_share=share,
        member_spread=member_spread or profile.timing.member_spread,
        shuffle=profile.timing.shuffle_members,
    )


def capped(band: DelayBand, limit: float) -> DelayBand:
    """``band`` with both ends at most ``limit`` seconds (``--max-delay``)."""
    return band.model_copy(update={"min": min(band.min, limit), "max": min(band.max, limit)})


def parse_spread(text: str) -> tuple[float, float]:
    """Seconds from ``LOW..HIGH`` (``0s..5m``); a single duration means ``0..HIGH``."""
    match = _SPREAD.match(text)
    try:
        low, high = (match.group(1), match.group(2)) if match else ("0", text)
        spread = (parse_duration(low), parse_duration(high))
    except ScheduleError:
        spread = (1.0, 0.0)
    if spread[0] > spread[1]:
        raise ScheduleError(f"{text!r} is not a spread: use LOW..HIGH, e.g. 0s..5m")
    return spread
