"""`POST /v1/requests/{event_id}/status`: a partner reports progress on a legal-aid request.

The body is JSON, `{"status": "accepted", "status_at": "...", "reason_code": null}`,
signed like the webhooks (`X-Signature: sha256=<hex HMAC-SHA256 of the raw body>` with
the partner's current secret) and named by `X-Partner-Id`. Answers:

- 202: recorded on `request-status-reported`; 200: the same report was applied already;
- 400 not a JSON object, 401 unknown partner or bad/missing signature, 403 a request of
  a provider the partner does not serve, 404 unknown request, 409 transition not
  allowed (out of order, after the end, withdrawn or replaced, a different time for a
  status already reported), 413 too large, 415 not JSON, 422 invalid fields or times;
- 503 when the report could not be written (the broker): nothing changed, retry.

The checks read the `requests` table of this worker (and the reports it accepted and
the agent has not applied yet); the decisions agent judges each report again in
partition order, so only applied transitions reach `legal-aid-updated`. Answers and
logs carry codes and ids only, never a value from the body.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, cast

import faust
from faust.web import Request, Response, View
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from schemas.envelope import Envelope, event_id_for, make_envelope
from schemas.requests import ProgressStatus, ReasonCode, RequestStatusReported
from services.notify import metrics
from services.notify.delivery import verify
from services.notify.directory import PartnerDirectory
from services.notify.keeper import update_event_id
from services.notify.progress import (
    AppliedReport,
    TrackedRequest,
    after_report,
    judge,
    time_problem,
)
from services.notify.tracker import RequestTracker

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 16 * 1024
PENDING_SECONDS = 60.0

Submit = Callable[[Envelope[RequestStatusReported]], Awaitable[None]]


class StatusReport(BaseModel):
    """The body of a status report."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    status: ProgressStatus
    status_at: AwareDatetime
    reason_code: ReasonCode | None = None


class Pending:
    """Reports answered 202 and not yet applied by the agent, as the request would stand
    after them: a partner's next report is judged against that, not against the table."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._after: dict[str, tuple[TrackedRequest, float]] = {}

    def add(self, tracked: TrackedRequest) -> None:
        self._after[tracked.event_id] = (tracked, self._clock() + PENDING_SECONDS)

    def view(self, stored: TrackedRequest | None, event_id: str) -> TrackedRequest | None:
        """The request as the table has it, or as pending reports leave it."""
        found = self._after.get(event_id)
        if found is None:
            return stored
        projected, expires = found
        caught_up = stored is not None and set(projected.applied) <= set(stored.applied)
        if caught_up or self._clock() > expires or (stored is not None and stored.ended):
            del self._after[event_id]
            return stored
        return projected


def report_event_id(request_event_id: str, report: StatusReport) -> str:
    """The same report (request, status, time, reason) always has the same id."""
    parts = (request_event_id, report.status, report.status_at.isoformat(), report.reason_code)
    return event_id_for("request-status-reported", *(p or "" for p in parts))


def register_report_routes(
    app: faust.App,
    tracker: RequestTracker,
    directory: PartnerDirectory,
    submit: Submit,
    producer: str,
) -> None:
    """Attach the status endpoint to notify's web server."""
    pending = Pending()

    @app.page("/v1/requests/{event_id}/status")
    class Status(View):
        async def post(self, request: Request, **kwargs: Any) -> Response:
            event_id = str(kwargs.get("event_id", ""))
            answer, status = await self._report(request, event_id)
            return self.json(answer, status=status)

        async def _report(self, request: Request, event_id: str) -> tuple[dict[str, Any], int]:
            content_type = request.headers.get("Content-Type", "")
            if content_type.split(";")[0].strip().lower() != "application/json":
                return _error("unsupported_media_type", "the body must be application/json"), 415
            raw = await _read_limited(request, MAX_BODY_BYTES)
            if len(raw) > MAX_BODY_BYTES:
                return _error("body_too_large", f"body exceeds {MAX_BODY_BYTES} bytes"), 413
            partner_id = request.headers.get("X-Partner-Id", "")
            secret = directory.secret_of(partner_id) if partner_id else None
            if secret is None or not verify(raw, secret, request.headers.get("X-Signature")):
                return _error("unauthorized", "a known X-Partner-Id and its signature"), 401
            try:
                document = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                return _error("malformed", "the body is not JSON"), 400
            if not isinstance(document, dict):
                return _error("malformed", "the body must be a JSON object"), 400
            try:
                report = StatusReport.model_validate_json(raw)
            except ValidationError as exc:
                return _invalid(exc), 422
            tracked = pending.view(tracker.get(event_id), event_id)
            if tracked is None:
                return _error("unknown_request", "no legal-aid request with this id"), 404
            if not directory.serves(partner_id, tracked.request.provider_id):
                return _error("forbidden", "a request of a provider you do not serve"), 403
            judgement = judge(tracked, report.status, report.status_at, report.reason_code)
            update_id = update_event_id(tracked.event_id, report.status)
            if judgement.verdict == "repeat":
                metrics.REPORTS.labels(status=report.status, outcome="repeat").inc()
                return {"status": "unchanged", "event_id": update_id}, 200
            if judgement.verdict != "apply":
                metrics.REPORTS.labels(status=report.status, outcome="conflict").inc()
                return _error("transition_not_allowed", judgement.reason), 409
            now = datetime.now(UTC)
            problem = time_problem(tracked, report.status_at, now)
            if problem is not None:
                return _error("invalid_time", problem), 422
            envelope = make_envelope(
                RequestStatusReported(
                    group_id=tracked.request.group_id,
                    request_event_id=tracked.event_id,
                    partner_id=partner_id,
                    status=report.status,
                    status_at=report.status_at,
                    reason_code=report.reason_code,
                ),
                event_id=report_event_id(tracked.event_id, report),
                producer=producer,
                correlation_id=tracked.request.group_id,
                causation_id=tracked.event_id,
                crossing=tracked.crossing,
                occurred_at=now,
            )
            try:
                await submit(envelope)
            except Exception as exc:  # the broker, not the report: the partner may retry
                log.error("report on %s not recorded: %s", tracked.event_id, type(exc).__name__)
                return _error("unavailable", "the report could not be recorded; retry"), 503
            applied = AppliedReport(
                status_at=report.status_at,
                reason_code=report.reason_code,
                partner_id=partner_id,
                event_id=update_id,
            )
            pending.add(after_report(tracked, report.status, applied))
            log.info("report %s on %s recorded", report.status, tracked.event_id)
            return {"status": "recorded", "event_id": update_id}, 202


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": code, "message": message}


def _invalid(exc: ValidationError) -> dict[str, Any]:
    # Locations and error types only: the input values are left out.
    errors = [
        {"field": ".".join(str(part) for part in e["loc"]) or None, "code": e["type"]}
        for e in exc.errors(include_input=False, include_url=False)
    ]
    return {"error": "invalid_report", "errors": errors}


async def _read_limited(request: Request, limit: int) -> bytes:
    http = cast(Any, request)  # faust's Request is aiohttp's, untyped here
    body: bytes = await http.content.read(limit + 1)
    return body
