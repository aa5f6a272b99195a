"""A unit value written before the queues moved into the group records is read, then replaced.

`legacy_unit.json` was written by that earlier writer: Casa Kolping (5 beds) full, five
families waiting, then what it emitted for a departure and for an arrival after it. The
writer of now, started on that table, must emit the very same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.codec import encode
from services.placement.store import UnitStore
from tests.unit.placement.command_factories import (
    REFERENCE,
    UNITS,
    Desk,
    arrival,
    departure,
    later,
)
from tests.unit.placement.placement_factories import AFTERNOON

RECORDED: dict[str, Any] = json.loads((Path(__file__).parent / "legacy_unit.json").read_text())


def test_the_writer_goes_on_from_an_old_unit_value_emitting_what_the_old_writer_emitted() -> None:
    desk = Desk(
        table={key: value.encode() for key, value in RECORDED["table"].items()},
        offsets=dict(RECORDED["offsets"]),
    )
    assert b'"queues"' in desk.table["unit/CJS"]
    assert [e.group_id for e in desk.view("CJS").queue("CJS")] == [
        "G-2",
        "G-3",
        "G-4",
        "G-5",
        "G-6",
    ]

    left = desk.run(departure("G-1", "CJS", "CJS-S04", at=later(AFTERNOON, minutes=30)))
    assert [[e.topic, encode(e.envelope).decode()] for e in left] == RECORDED["departure"]
    assert b'"queues"' not in desk.table["unit/CJS"]  # written anew, the waits in the records
    rebuilt = UnitStore(dict(desk.table), REFERENCE, UNITS).view("CJS").queue("CJS")
    assert [(e.group_id, e.waits.bypassed) for e in rebuilt] == [
        ("G-3", 1),
        ("G-5", 0),
        ("G-6", 0),
    ]

    joined = desk.run(arrival("G-9", 1, at=later(AFTERNOON, minutes=40)))
    assert [[e.topic, encode(e.envelope).decode()] for e in joined] == RECORDED["arrival"]
