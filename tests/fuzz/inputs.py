"""What the fuzz suite sends: hostile bodies, content types and records, and how many."""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck
from hypothesis import strategies as st

from tests.unit.contracts.samples import as_bytes, submission

# Multiplies every count; 1 gives about 10,700 inputs.
SCALE = float(os.environ.get("RETURNS_FUZZ_SCALE", "1"))
QUICK: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}


def scaled(count: int) -> int:
    return max(1, round(count * SCALE))


def json_values() -> st.SearchStrategy[Any]:
    leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
        max_leaves=20,
    )


def mutated_record() -> st.SearchStrategy[bytes]:
    """The sample record with one field replaced by anything, or removed."""
    fields = sorted(submission())
    return st.builds(
        lambda name, value, drop: as_bytes(
            {k: v for k, v in submission().items() if not (drop and k == name)}
            | ({} if drop else {name: value})
        ),
        st.sampled_from(fields),
        json_values(),
        st.booleans(),
    )


BODIES = st.one_of(
    st.binary(max_size=3000),
    json_values().map(lambda v: json.dumps(v).encode()),
    mutated_record(),
    st.integers(min_value=100, max_value=5000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=300, max_value=20_000).map(lambda n: b"9" * n),
    st.integers(min_value=60_000, max_value=200_000).map(lambda n: b" " * n + b"{}"),
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "text/plain",
        "application/json; charset=latin-1",
        "multipart/form-data; boundary=x",
        "application/json;;;",
        "",
    ]
)
