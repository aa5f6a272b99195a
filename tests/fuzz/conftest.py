"""``make fuzz``: intake on the real broker under generated input (marker ``fuzz``).

Kept out of ``make test`` by the ``fuzz`` marker (pytest's ``addopts``); each test
prints what it sent and what came back. ``RETURNS_FUZZ_SCALE`` multiplies the number
of inputs (1 gives about 10,700).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from tests.support.broker import BrokerInfo
from tests.support.intake import Intake, running_intake


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/fuzz" in str(item.path):
            item.add_marker(pytest.mark.fuzz)
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="session")
def intake(kafka: BrokerInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Intake]:
    with running_intake(kafka.bootstrap_servers, tmp_path_factory.mktemp("fuzz")) as started:
        yield started


@pytest.fixture(scope="session")
def tally() -> Iterator[Counter[str]]:
    """Inputs sent and answers seen, across the session; printed at its end."""
    counts: Counter[str] = Counter()
    yield counts
    lines = [f"  {name}: {counts[name]}" for name in sorted(counts)]
    print("\nfuzz totals\n" + "\n".join(lines))
