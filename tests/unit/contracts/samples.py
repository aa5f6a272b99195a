"""A realistic, valid submission: a Honduran mother returned at El Paso."""

from __future__ import annotations

import copy
import json
from typing import Any

SUBMISSION: dict[str, Any] = {
    "submission_id": "cbp-elp-2026-11-27-000981",
    "source": "cbp-elp",
    "case_id": "A212345678",
    "group_id": "G-2026-000123",
    "group_size": 3,
    "crossing": "ELP",
    "returned_at": "2026-11-27T15:58:00-07:00",
    "person": {
        "given_names": "María José",
        "family_names": "López Pérez",
        "date_of_birth": "1994-03-02",
        "sex": "F",
        "nationality": "HND",
        "languages": ["spa"],
        "role_in_group": "head",
    },
    "declared": {
        "pregnant": False,
        "physical_illness": False,
        "mental_illness": False,
        "disability": False,
        "lgbti": False,
        "fear_of_return_to_mexico": False,
        "travelling_without_parent_or_guardian": False,
    },
    "covid_vaccination": {"doses": 1, "last_dose_on": "2021-08-10"},
    "hearing": {"court": "EOIR El Paso", "scheduled_at": "2027-01-12T09:00:00-07:00"},
}


def submission(**changes: Any) -> dict[str, Any]:
    """A copy of SUBMISSION; keys like ``person__sex`` reach into nested objects."""
    record = copy.deepcopy(SUBMISSION)
    for key, value in changes.items():
        target = record
        *path, last = key.split("__")
        for part in path:
            target = target[part]
        target[last] = value
    return record


def as_bytes(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode()
