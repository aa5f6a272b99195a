"""Weighted choices prepared once from a profile, so that drawing is cheap."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from services.simulator.profile import AgeBand, Profile

T = TypeVar("T")


@dataclass(frozen=True)
class Weighted(Generic[T]):
    """Values with weights; :meth:`draw` picks one in proportion to its weight."""

    values: tuple[T, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, weights: Mapping[T, float]) -> Weighted[T]:
        """From a mapping of value to weight; zero weights are left out."""
        positive = [(value, weight) for value, weight in weights.items() if weight > 0]
        if not positive:
            raise ValueError("needs at least one positive weight")
        values, shares = zip(*positive, strict=True)
        return cls(tuple(values), tuple(itertools.accumulate(shares)))

    @classmethod
    def pairs(cls, pairs: Sequence[tuple[T, float]]) -> Weighted[T]:
        """From (value, weight) pairs, for values that cannot be keys."""
        values = tuple(value for value, weight in pairs if weight > 0)
        shares = [weight for _, weight in pairs if weight > 0]
        if not values:
            raise ValueError("needs at least one positive weight")
        return cls(values, tuple(itertools.accumulate(shares)))

    def draw(self, rng: random.Random) -> T:
        """One value, in proportion to its weight."""
        point = rng.random() * self.cumulative[-1]
        return self.values[bisect.bisect_right(self.cumulative, point)]

    def share(self, value: T) -> float:
        """The normalised share of ``value`` (0 when absent)."""
        total, previous = self.cumulative[-1], 0.0
        for candidate, upto in zip(self.values, self.cumulative, strict=True):
            if candidate == value:
                return (upto - previous) / total
            previous = upto
        return 0.0


def age_bands(bands: Sequence[AgeBand]) -> Weighted[tuple[int, int]]:
    """Age bands as (min, max) pairs, weighted by their shares."""
    return Weighted.pairs([((band.min, band.max), band.share) for band in bands])


def draw_age(rng: random.Random, bands: Weighted[tuple[int, int]]) -> int:
    """An age drawn from a band chosen by weight."""
    low, high = bands.draw(rng)
    return rng.randint(low, high)


@dataclass(frozen=True)
class Tables:
    """Every weighted choice of a profile, built once."""

    nationality: Weighted[str]
    languages: dict[str, Weighted[tuple[str, ...]]]
    group_size: Weighted[int]
    lone_sex: Weighted[str]
    head_sex: Weighted[str]
    lone_age: Weighted[tuple[int, int]]
    head_age: Weighted[tuple[int, int]]
    doses: Weighted[int]

    @classmethod
    def of(cls, profile: Profile) -> Tables:
        """Every table of ``profile``."""
        people = profile.people
        return cls(
            nationality=Weighted.of({k: v.share for k, v in profile.nationalities.items()}),
            languages={
                code: Weighted.pairs([(option.codes, option.share) for option in n.languages])
                for code, n in profile.nationalities.items()
            },
            group_size=Weighted.of(profile.groups.size),
            lone_sex=Weighted.of({str(k): v for k, v in people.lone_adult_sex.items()}),
            head_sex=Weighted.of({str(k): v for k, v in people.family_head_sex.items()}),
            lone_age=age_bands(people.lone_adult_age),
            head_age=age_bands(people.family_head_age),
            doses=Weighted.of(profile.covid.doses),
        )
