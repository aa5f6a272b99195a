"""The OpenAPI 3.1 document intake serves at ``/openapi.json``.

It states every rule intake enforces that a schema can state: the designated
crossings, the ISO codes, the date bounds of the moment it is served
(:mod:`services.intake.schema_rules`) and, for a caller who sends its bearer token,
the one ``source`` that token may submit for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.person import PersonReturned
from services.intake import schema_rules
from services.reference import Reference

_ERRORS = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": ["string", "null"]},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
                "required": ["field", "code", "message"],
            },
        },
    },
}


_CORRECTIONS = (
    "To correct an accepted submission, send a new submission with its own new "
    "submission_id, the same source, case_id and group_id, and `corrects` set to the "
    "submission_id it replaces; it answers 202 with its own event_id. The corrected "
    "submission need not have arrived yet."
)

_UNPROCESSABLE = (
    "Every field error. Besides the schema's codes and the business rules "
    "(`crossing_not_designated`, `returned_at_in_future`, `born_in_future`, "
    "`implausible_age`, `unknown_language`, `unknown_country`, `source_mismatch`): "
    "`conflicting_resubmission` (field `submission_id`: this submission_id was already "
    "accepted with other content; send a correction instead), `correction_of_itself` "
    "(field `corrects`: names the record's own submission_id) and "
    "`correction_changes_identity` (field `case_id` or `group_id`: differs from the "
    "corrected submission's)."
)


def openapi_document(
    max_body: int, reference: Reference, now: datetime, source: str | None = None
) -> dict[str, Any]:
    """The document as of ``now``; ``source`` is the caller's, when its token is valid."""
    submission = PersonReturned.model_json_schema(ref_template="#/components/schemas/{model}")
    components = submission.pop("$defs", {})
    _state_rules(submission, components, reference, now, source)
    components["Submission"] = submission
    components["Errors"] = _ERRORS
    components["Problem"] = _PROBLEM
    json_errors = {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}
    problem = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Returns intake",
            "version": "1",
            "description": (
                "Submit one person returned under INA 235(b)(2)(C). A re-sent submission "
                "(same source and submission_id, same content) answers 202 with the original "
                "event_id; with other content it answers 422 `conflicting_resubmission` and "
                "the first version stands. " + _CORRECTIONS
            ),
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/returns": {
                "post": {
                    "summary": "Submit one returned person",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Submission"}
                            }
                        },
                        "description": f"At most {max_body} bytes of UTF-8 JSON.",
                    },
                    "responses": {
                        "202": {
                            "description": "Accepted, now or before: the person-returned event_id",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "status": {"const": "accepted"},
                                            "event_id": {"type": "string", "format": "uuid"},
                                        },
                                    }
                                }
                            },
                        },
                        "400": {"description": _MALFORMED, "content": json_errors},
                        "401": {
                            "description": "Missing or invalid bearer token",
                            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
                            "content": problem,
                        },
                        "413": {
                            "description": f"Body larger than {max_body} bytes (`body_too_large`)",
                            "content": json_errors,
                        },
                        "415": {
                            "description": "Not `Content-Type: application/json` in UTF-8 "
                            "(`unsupported_media_type`)",
                            "content": json_errors,
                        },
                        "422": {"description": _UNPROCESSABLE, "content": json_errors},
                        "503": {
                            "description": "Not connected to the broker: nothing was taken; "
                            "retry after `Retry-After` seconds",
                            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                            "content": problem,
                        },
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness",
                    "security": [],
                    "responses": {"200": {"description": "alive"}},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "Connected to the broker and tables recovered",
                    "security": [],
                    "responses": {
                        "200": {"description": "ready"},
                        "503": {"description": "not ready"},
                    },
                }
            },
        },
    }


def _state_rules(
    submission: dict[str, Any],
    components: dict[str, Any],
    reference: Reference,
    now: datetime,
    source: str | None,
) -> None:
    """Tighten the model's schema to what validation enforces beyond it."""
    fields = submission["properties"]
    fields["crossing"] |= {
        "enum": sorted(reference.crossing_codes),
        "description": "a designated crossing (`crossing_not_designated` otherwise)",
    }
    if source is not None:
        fields["source"] |= {"const": source}
    fields["source"]["description"] = "the source the bearer token names (`source_mismatch`)"
    fields["returned_at"] |= {
        "pattern": schema_rules.returned_at_pattern(now),
        "description": "with its UTC offset; at most a day after intake's clock "
        "(`returned_at_in_future`); the pattern is that bound as of the document's date",
    }
    person = components["Person"]["properties"]
    person["nationality"] |= {"enum": schema_rules.country_codes()}
    person["nationality"].pop("pattern", None)
    person["languages"]["items"] = {"type": "string", "enum": schema_rules.language_codes()}
    person["date_of_birth"]["description"] = (
        "not after the local date of returned_at nor today (`born_in_future`), and at most "
        "120 years before it (`implausible_age`); the anyOf of Submission states it per year"
    )
    submission["anyOf"] = schema_rules.birth_by_return_year(now.date())
    submission["description"] = (
        "One returned person. `corrects`, when set, differs from `submission_id` "
        "(`correction_of_itself`)."
    )


_MALFORMED = (
    "The body is no readable JSON document: `not_utf8`, `json_invalid`, "
    "`too_deeply_nested` or `number_out_of_range` (a number too large to read). "
    "Recorded on intake-rejected."
)

_PROBLEM = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error", "message"],
}
