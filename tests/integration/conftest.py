"""What every test of this package shares beyond tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.contracts.samples import SUBMISSION


@pytest.fixture(scope="package", autouse=True)
def recent_sample_return() -> Iterator[None]:
    """The sample submission returned three hours ago rather than on its fixed date.

    The unit tests pin their clock to that date; the services here judge a record's age
    against the time they read it (screening refuses a return older than its retention),
    so the fixed date would age out of them."""
    fixed = SUBMISSION["returned_at"]
    recent = datetime.now(UTC) - timedelta(hours=3)
    SUBMISSION["returned_at"] = recent.replace(second=0, microsecond=0).isoformat()
    yield
    SUBMISSION["returned_at"] = fixed
