"""The OpenAPI 3.1 document intake serves at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from schemas.person import PersonReturned

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


def openapi_document(max_body: int) -> dict[str, Any]:
    submission = PersonReturned.model_json_schema(ref_template="#/components/schemas/{model}")
    components = submission.pop("$defs", {})
    components["Submission"] = submission
    components["Errors"] = _ERRORS
    json_errors = {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}
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
                        "description": f"At most {max_body} bytes.",
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
                        "401": {"description": "Missing or invalid bearer token"},
                        "413": {"description": "Body too large", "content": json_errors},
                        "422": {"description": _UNPROCESSABLE, "content": json_errors},
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
