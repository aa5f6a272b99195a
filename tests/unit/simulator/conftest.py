"""Shared fixtures: the shipped profile and reference data, and records grouped by group."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import pytest

from services.reference import Reference, load_reference
from services.simulator import Profile, generate, load_profile

Record = dict[str, Any]


@pytest.fixture(scope="session")
def profile() -> Profile:
    return load_profile()


@pytest.fixture(scope="session")
def reference() -> Reference:
    return load_reference()


@pytest.fixture(scope="session")
def five_thousand(profile: Profile) -> list[Record]:
    """5,000 returns from seed 2022, the sample the distribution tests measure."""
    return list(generate(2022, 5000, profile=profile))


def by_group(records: Iterable[Record]) -> dict[str, list[Record]]:
    groups: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        groups[record["group_id"]].append(record)
    return dict(groups)
