"""Intake's HTTP API: ``POST /v1/returns``, health, readiness and the OpenAPI document.

A valid submission is published to ``returns-inbound`` and answered 202 with its
``event_id``, which is deterministic, so a re-sent submission gets the original
``event_id`` back; the ``returns-inbound`` agent then de-duplicates it like any other.

Before forwarding, the request is judged against the idempotency table this worker
holds, so that a conflicting resubmission or a correction that changes identity is
answered 422 instead of 202. The table only holds this worker's partitions and is
written once the agent has published, so the check is best-effort: what it misses,
the agent still records on ``intake-rejected``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, cast

import faust
from faust.web import Request, Response, View
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from schemas.codec import FieldError
from schemas.rejections import SubmissionOrigin
from services.intake.auth import TokenRegistry
from services.intake.handling import IntakeHandler, check_against_seen, person_returned_id
from services.intake.openapi import openapi_document
from services.intake.validation import Rejected, validate_submission
from services.runtime import telemetry

MAX_BODY_BYTES = 64 * 1024

Forward = Callable[[bytes, str, str], Awaitable[None]]  # raw, group_id, crossing


def register_routes(
    app: faust.App,
    handler: IntakeHandler,
    tokens: TokenRegistry,
    forward: Forward,
    max_body: int = MAX_BODY_BYTES,
) -> None:
    """Attach intake's views to the app's web server."""
    tracer = telemetry.tracer("returns.intake")

    @app.page("/v1/returns")
    class Returns(View):
        async def post(self, request: Request, **kwargs: Any) -> Response:
            with tracer.start_as_current_span("intake.http.submit", kind=SpanKind.SERVER) as span:
                response = await self._submit(request)
                span.set_attribute("http.response.status_code", response.status)
                return response

        async def _submit(self, request: Request) -> Response:
            source = tokens.source_for(request.headers.get("Authorization"))
            if source is None:
                return self.json(
                    {"error": "unauthorized", "message": "a valid bearer token is required"},
                    status=401,
                    headers={"WWW-Authenticate": 'Bearer realm="returns-intake"'},
                )
            raw, size = await _read_limited(request, max_body)
            now = datetime.now(UTC)
            origin = SubmissionOrigin(channel="http")
            if size > max_body:
                problem = FieldError(None, "body_too_large", f"body exceeds {max_body} bytes")
                rejected = Rejected([problem], source, None)
                await handler.reject(raw, None, origin, now, rejected, original_size=size)
                return self.json(_errors_body(rejected), status=413)
            result = validate_submission(raw, handler.reference, now)
            if not isinstance(result, Rejected) and result.record.source != source:
                problem = FieldError("source", "source_mismatch", "does not match the bearer token")
                result = Rejected([problem], result.record.source, result.record.submission_id)
            if isinstance(result, Rejected):
                await handler.reject(raw, None, origin, now, result)
                return self.json(_errors_body(result), status=422)
            record = result.record
            trace.get_current_span().set_attribute("returns.crossing", record.crossing)
            check = check_against_seen(record, handler.seen)
            if check.problems:
                rejected = Rejected(check.problems, record.source, record.submission_id)
                await handler.reject(raw, None, origin, now, rejected)
                return self.json(_errors_body(rejected), status=422)
            if check.verdict == "new":
                await forward(raw, record.group_id, record.crossing)
            # A known identical re-send is already published: nothing to forward.
            event_id = person_returned_id(record.source, record.submission_id)
            return self.json({"status": "accepted", "event_id": event_id}, status=202)

    @app.page("/openapi.json")
    async def openapi(self: View, request: Request) -> Response:
        return self.json(openapi_document(max_body))


async def _read_limited(request: Request, limit: int) -> tuple[bytes, int]:
    """Read at most ``limit + 1`` bytes; report the declared or observed size."""
    http = cast(Any, request)  # faust's Request is aiohttp's, untyped here
    declared: int | None = http.content_length
    body: bytes = await http.content.read(limit + 1)
    size = max(len(body), declared or 0)
    return body, size


def _errors_body(rejected: Rejected) -> dict[str, Any]:
    return {
        "error": "invalid_submission",
        "errors": [
            {"field": p.field, "code": p.code, "message": p.message} for p in rejected.problems
        ],
    }
