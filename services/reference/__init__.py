"""Reference data: designated crossings, locations, shelters, legal-aid and health providers.

The data ships as TOML files in `data/`; `load_reference()` reads and checks them.
"""

from services.reference.codes import is_iso639_3, is_iso3166_alpha3, is_known_language
from services.reference.loader import DEFAULT_DATA_DIR, ReferenceDataError, load_reference
from services.reference.models import (
    Crossing,
    HealthProvider,
    HealthService,
    LegalAidProvider,
    Location,
    Reference,
    SecurityStatus,
    Shelter,
    ShelterOperator,
    ShelterServes,
)

__all__ = [
    "DEFAULT_DATA_DIR",
    "Crossing",
    "HealthProvider",
    "HealthService",
    "LegalAidProvider",
    "Location",
    "Reference",
    "ReferenceDataError",
    "SecurityStatus",
    "Shelter",
    "ShelterOperator",
    "ShelterServes",
    "is_iso639_3",
    "is_iso3166_alpha3",
    "is_known_language",
    "load_reference",
]
