"""Intake's HTTP API: ``POST /v1/returns``, health, readiness and the OpenAPI document.

A valid submission is published to ``returns-inbound`` and answered 202 with its
``event_id``, which is deterministic, so a re-sent submission gets the original
``event_id`` back; the ``returns-inbound`` agent then de-duplicates it like any other.

Before forwarding, the request is judged against the idempotency table this worker
holds, so that a conflicting resubmission or a correction that changes identity is
answered 422 instead of 202. The table only holds this worker's partitions and is
written once the agent has published, so the check is best-effort: what it misses,
the agent still records on ``intake-rejected``.

Every answer but 401 and 503 to an authenticated caller is recorded: a body that is
not JSON (400), too large (413), of another media type (415) or invalid (422) lands on
``intake-rejected`` with its reasons (see docs/adr/0019-hostile-input.md).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import faust
from aiokafka.errors import KafkaError
from faust.web import Request, Response, View
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from schemas.codec import FieldError
from schemas.rejections import SubmissionOrigin
from services.intake.handling import IntakeHandler, check_against_seen, person_returned_id
from services.intake.openapi import openapi_document
from services.intake.validation import (
    MAX_SUBMISSION_BYTES,
    Rejected,
    too_large,
    validate_submission,
)
from services.runtime import telemetry
from services.runtime.faust_app import is_ready

MAX_BODY_BYTES = MAX_SUBMISSION_BYTES
RETRY_AFTER_SECONDS = "5"

log = logging.getLogger(__name__)

Forward = Callable[[bytes, str, str], Awaitable[None]]  # raw, group_id, crossing


class Tokens(Protocol):
    def source_for(self, authorization: str | None) -> str | None: ...


def register_routes(
    app: faust.App,
    handler: IntakeHandler,
    tokens: Tokens,
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

            async def refuse(rejected: Rejected, status: int) -> Response:
                original_size = size if size > max_body else None
                try:
                    await handler.reject(raw, None, origin, now, rejected, original_size)
                except (TimeoutError, KafkaError) as exc:
                    log.warning("could not record a rejection: %s", type(exc).__name__)
                    return self._unavailable("the broker did not take the rejection's record")
                return self.json(_errors_body(rejected), status=status)

            media = media_type_problem(request.headers.get("Content-Type"))
            if media is not None:
                return await refuse(Rejected([media], source, None), 415)
            if size > max_body:
                return await refuse(Rejected([too_large(max_body)], source, None), 413)
            result = validate_submission(raw, handler.reference, now)
            if not isinstance(result, Rejected) and result.record.source != source:
                problem = FieldError("source", "source_mismatch", "does not match the bearer token")
                result = Rejected([problem], result.record.source, result.record.submission_id)
            if isinstance(result, Rejected):
                return await refuse(result, 400 if result.malformed else 422)
            record = result.record
            trace.get_current_span().set_attribute("returns.crossing", record.crossing)
            check = check_against_seen(record, handler.seen)
            if check.problems:
                rejected = Rejected(check.problems, record.source, record.submission_id)
                return await refuse(rejected, 422)
            if check.verdict == "new":
                if not is_ready(app):
                    return self._unavailable("intake is not connected to the broker yet")
                try:
                    await forward(raw, record.group_id, record.crossing)
                except (TimeoutError, KafkaError) as exc:
                    log.warning("could not forward a submission: %s", type(exc).__name__)
                    return self._unavailable("the broker did not take the submission")
            # A known identical re-send is already published: nothing to forward.
            event_id = person_returned_id(record.source, record.submission_id)
            return self.json({"status": "accepted", "event_id": event_id}, status=202)

        def _unavailable(self, message: str) -> Response:
            return self.json(
                {"error": "unavailable", "message": message + "; retry later"},
                status=503,
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )

    @app.page("/openapi.json")
    async def openapi(self: View, request: Request) -> Response:
        caller = tokens.source_for(request.headers.get("Authorization"))
        document = openapi_document(max_body, handler.reference, datetime.now(UTC), caller)
        return self.json(document)


def media_type_problem(content_type: str | None) -> FieldError | None:
    """Only ``application/json``, in UTF-8 (no charset means UTF-8), is a submission."""
    media, _, parameters = (content_type or "").partition(";")
    if media.strip().lower() != "application/json":
        return FieldError(
            None,
            "unsupported_media_type",
            "send the record as Content-Type: application/json",
        )
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            return FieldError(None, "unsupported_media_type", "the only charset taken is utf-8")
    return None


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
