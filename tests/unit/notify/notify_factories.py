"""Realistic notify inputs: a Honduran family returned through El Paso, and its partners.

The contract models are strict, so documents go through JSON as they would on a topic.
"""

from __future__ import annotations

import json
from typing import Any

from schemas.decisions import Placed, PlacementWithdrawn, Screened
from services.reference.models import Crossing, HealthProvider, LegalAidProvider

MOTHER, SON, DAUGHTER = "A212345678", "A212345679", "A212345680"
PLACED_EVENT_ID = "9b1c3e58-2f1a-5c6e-8d4b-7a0f1e2d3c4b"
SCREENED_EVENT_ID = "0e7d6c5b-4a39-5281-9f0e-1d2c3b4a5968"

EL_PASO = Crossing(code="ELP", us_port="El Paso", location="CJS")


def member(
    case_id: str,
    *,
    needs: tuple[str, ...] = ("legal_aid",),
    interpreter_language: str | None = None,
    flags: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One `screened` member document."""
    return {
        "case_id": case_id,
        "flags": sorted(flags),
        "needs": sorted(needs),
        "interpreter_language": interpreter_language,
    }


def screened(**overrides: Any) -> Screened:
    """An accepted family of three, returned at El Paso with a January hearing."""
    document: dict[str, Any] = {
        "group_id": "G-2026-000123",
        "decision": "accepted",
        "rule_set": "2021-12",
        "members": [
            member(MOTHER),
            member(SON, needs=("covid_vaccination", "legal_aid")),
            member(DAUGHTER),
        ],
        "reasons": [],
        "returned_at": "2026-11-27T15:58:00-07:00",
        "group_size": 3,
        "earliest_hearing_at": "2027-01-12T09:00:00-07:00",
    }
    document.update(overrides)
    return Screened.model_validate_json(json.dumps(document))


def referred_for_fear(**overrides: Any) -> Screened:
    """The same family, referred because the mother fears return to Mexico."""
    fields: dict[str, Any] = {
        "decision": "referred",
        "members": [member(c, needs=()) for c in (MOTHER, SON, DAUGHTER)],
        "reasons": [{"case_id": MOTHER, "code": "FEAR_OF_RETURN"}],
    }
    return screened(**(fields | overrides))


def placed(**overrides: Any) -> Placed:
    """The family placed together at a Ciudad Juárez shelter."""
    document: dict[str, Any] = {
        "group_id": "G-2026-000123",
        "location": "CJS",
        "shelter_id": "CJS-S03",
        "members": [MOTHER, SON, DAUGHTER],
        "beds": 3,
        "rerouted_from": None,
        "transport_required": False,
        "deferred_since": None,
        "returned_at": "2026-11-27T15:58:00-07:00",
    }
    document.update(overrides)
    return Placed.model_validate_json(json.dumps(document))


def withdrawal(reason: str, placed_event_id: str | None, **overrides: Any) -> PlacementWithdrawn:
    """The family's placement at its Ciudad Juárez shelter released by placement."""
    document: dict[str, Any] = {
        "group_id": "G-2026-000123",
        "location": "CJS",
        "shelter_id": "CJS-S03",
        "members": [MOTHER, SON, DAUGHTER],
        "beds_released": 3,
        "reason": reason,
        "screened_event_id": SCREENED_EVENT_ID,
        "placed_event_id": placed_event_id,
    }
    document.update(overrides)
    return PlacementWithdrawn.model_validate_json(json.dumps(document))


def legal_aid(provider_id: str, *languages: str) -> LegalAidProvider:
    """A legal-aid provider at the location its id names."""
    return LegalAidProvider(
        id=provider_id,
        name=f"Proveedor {provider_id}",
        location=provider_id.split("-")[1],
        languages=languages,
    )


def health(provider_id: str, *services: str) -> HealthProvider:
    """A health provider at the location its id names."""
    return HealthProvider.model_validate(
        {
            "id": provider_id,
            "name": f"Clínica {provider_id}",
            "location": provider_id.split("-")[1],
            "services": services,
        }
    )


JUAREZ_LEGAL_AID = (
    legal_aid("LA-CJS-01", "spa", "mam", "quc", "kjb"),
    legal_aid("LA-CJS-02", "spa", "eng"),
    legal_aid("LA-CJS-03", "spa", "eng"),
    legal_aid("LA-TIJ-03", "spa", "eng", "mam"),
)
JUAREZ_HEALTH = (
    health("HP-CJS-02", "primary_care", "mental_health"),
    health("HP-CJS-03", "covid_vaccination", "primary_care"),
    health("HP-CJS-01", "covid_vaccination", "maternal_health"),
    health("HP-TIJ-01", "covid_vaccination"),
)
