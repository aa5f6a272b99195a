"""Valid `person-returned` records for screening tests, built as JSON like the wire form.

The defaults describe María José López Pérez, a Honduran woman of 32 returned alone at
El Paso on 27 November 2026; each test overrides what matters to it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from schemas.envelope import Envelope, make_envelope
from schemas.person import DECLARATIONS, PersonReturned, person_returned_event_id


def returned(
    case_id: str = "A212345678",
    *,
    given_names: str = "María José",
    family_names: str = "López Pérez",
    born: str = "1994-03-02",
    sex: str = "F",
    nationality: str = "HND",
    languages: Sequence[str] = ("spa",),
    role: str = "head",
    group_id: str = "G-2026-000123",
    group_size: int = 1,
    crossing: str = "ELP",
    returned_at: str = "2026-11-27T15:58:00-07:00",
    doses: int = 1,
    hearing_at: str | None = None,
    submission_id: str | None = None,
    source: str = "cbp-elp",
    **declared: bool,
) -> PersonReturned:
    """One person's record; `declared` names the declarations that are true."""
    unknown = set(declared) - set(DECLARATIONS)
    if unknown:
        raise TypeError(f"not a declaration: {sorted(unknown)}")
    record: dict[str, Any] = {
        "submission_id": submission_id or f"{source}-2026-11-27-{case_id}",
        "source": source,
        "case_id": case_id,
        "group_id": group_id,
        "group_size": group_size,
        "crossing": crossing,
        "returned_at": returned_at,
        "person": {
            "given_names": given_names,
            "family_names": family_names,
            "date_of_birth": born,
            "sex": sex,
            "nationality": nationality,
            "languages": list(languages),
            "role_in_group": role,
        },
        "declared": {name: declared.get(name, False) for name in DECLARATIONS},
        "covid_vaccination": {
            "doses": doses,
            "last_dose_on": "2021-08-10" if doses else None,
        },
        "hearing": None
        if hearing_at is None
        else {"court": "EOIR El Paso", "scheduled_at": hearing_at},
    }
    return PersonReturned.model_validate_json(json.dumps(record))


def published(record: PersonReturned, at: datetime | None = None) -> Envelope[PersonReturned]:
    """`record` as intake publishes it, accepted `at` (now by default): its arrival time."""
    return make_envelope(
        record,
        event_id=person_returned_event_id(record.source, record.submission_id),
        producer="intake/0.1.0",
        correlation_id=record.group_id,
        causation_id=None,
        crossing=record.crossing,
        occurred_at=at,
    )
