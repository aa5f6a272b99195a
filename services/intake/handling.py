"""What intake does with one submission, whichever channel brought it.

The idempotency record for ``(source, submission_id)`` lives in a changelog-backed
table (``seen``), so a re-sent submission is recognised across restarts and
rebalances: it is acknowledged again and never published twice.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.codec import FieldError
from schemas.envelope import Envelope, event_id_for, make_envelope
from schemas.person import PersonReturned
from schemas.rejections import FieldProblem, IntakeRejected, SubmissionOrigin
from services.intake.validation import Accepted, Rejected, validate_submission
from services.reference import Reference

PRODUCER = "intake/0.1.0"
# Enough of an oversized body to identify it, without keeping megabytes in the log.
KEEP_OF_OVERSIZED = 16 * 1024

Emit = Callable[[str, Envelope[Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Outcome:
    status: str  # "accepted", "duplicate", "rejected"
    event_id: str
    crossing: str | None = None
    returned_at: datetime | None = None


def person_returned_id(source: str, submission_id: str) -> str:
    return event_id_for("person-returned", source, submission_id)


class IntakeHandler:
    def __init__(self, reference: Reference, seen: MutableMapping[str, bytes], emit: Emit) -> None:
        self.reference = reference
        self.seen = seen
        self.emit = emit

    async def handle(
        self, raw: bytes, key: bytes | None, origin: SubmissionOrigin, now: datetime
    ) -> Outcome:
        """Publish a valid, new submission; acknowledge a duplicate; record a rejection."""
        result = validate_submission(raw, self.reference, now)
        if isinstance(result, Rejected):
            return await self.reject(raw, key, origin, now, result)
        return await self._accept(result, raw, key, origin, now)

    async def _accept(
        self,
        accepted: Accepted,
        raw: bytes,
        key: bytes | None,
        origin: SubmissionOrigin,
        now: datetime,
    ) -> Outcome:
        record = accepted.record
        event_id = person_returned_id(record.source, record.submission_id)
        idem_key = f"{record.source}\x1f{record.submission_id}"
        digest = _content_digest(record)
        previous = self.seen.get(idem_key)
        if previous is not None:
            if json.loads(previous)["digest"] == digest:
                return Outcome("duplicate", event_id, record.crossing, record.returned_at)
            problem = FieldError(
                "submission_id",
                "conflicting_resubmission",
                "this source already submitted this submission_id with different content; "
                "the first version stands",
            )
            await self.reject(
                raw, key, origin, now, Rejected([problem], record.source, record.submission_id)
            )
            return Outcome("duplicate", event_id, record.crossing, record.returned_at)
        envelope = make_envelope(
            record,
            event_id=event_id,
            producer=PRODUCER,
            correlation_id=record.group_id,
            causation_id=None,
            crossing=record.crossing,
        )
        await self.emit("person-returned", envelope)
        self.seen[idem_key] = json.dumps({"event_id": event_id, "digest": digest}).encode()
        return Outcome("accepted", event_id, record.crossing, record.returned_at)

    async def reject(
        self,
        raw: bytes,
        key: bytes | None,
        origin: SubmissionOrigin,
        now: datetime,
        rejected: Rejected,
        original_size: int | None = None,
    ) -> Outcome:
        """Record a rejection on ``intake-rejected`` with the original bytes and every reason."""
        kept = raw[:KEEP_OF_OVERSIZED] if original_size is not None else raw
        where = (origin.channel, origin.topic or "", str(origin.partition), str(origin.offset))
        event_id = event_id_for("intake-rejected", *where, hashlib.sha256(raw).hexdigest())
        submission_key = key.decode("utf-8", "replace") if key is not None else None
        data = IntakeRejected(
            submission_key=submission_key,
            source=rejected.source,
            submission_id=rejected.submission_id,
            original_base64=base64.b64encode(kept).decode(),
            original_size=original_size if original_size is not None else len(raw),
            truncated=len(kept) < (original_size if original_size is not None else len(raw)),
            reasons=[
                FieldProblem(field=p.field, code=p.code, message=p.message)
                for p in rejected.problems
            ],
            origin=origin,
            received_at=now,
        )
        envelope = make_envelope(
            data,
            event_id=event_id,
            producer=PRODUCER,
            correlation_id=submission_key or rejected.submission_id or event_id,
            causation_id=None,
            crossing=None,
        )
        await self.emit("intake-rejected", envelope)
        return Outcome("rejected", event_id)


def _content_digest(record: PersonReturned) -> str:
    return hashlib.sha256(record.model_dump_json().encode()).hexdigest()
