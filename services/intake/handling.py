"""What intake does with one submission, whichever channel brought it.

The idempotency record for ``(source, submission_id)`` lives in a changelog-backed
table (``seen``), so a re-sent submission is recognised across restarts and
rebalances: it is acknowledged again and never published twice. The record also
keeps the submission's ``case_id`` and ``group_id``, so that a correction can be
held to the identity of the submission it replaces.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from schemas.codec import FieldError
from schemas.envelope import Envelope, event_id_for, make_envelope
from schemas.person import PersonReturned, person_returned_event_id
from schemas.rejections import FieldProblem, IntakeRejected, SubmissionOrigin
from services.intake.validation import (
    MAX_SUBMISSION_BYTES,
    Accepted,
    Rejected,
    too_large,
    validate_submission,
)
from services.reference import Reference
from services.runtime.identity import ServiceIdentity

PRODUCER = ServiceIdentity("intake").producer
# Enough of an oversized body to identify it, without keeping megabytes in the log.
KEEP_OF_OVERSIZED = 16 * 1024

Emit = Callable[[str, Envelope[Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Outcome:
    status: str  # "accepted", "duplicate", "rejected"
    event_id: str
    crossing: str | None = None
    returned_at: datetime | None = None


@dataclass(frozen=True)
class Check:
    """What the idempotency table says about a valid record.

    ``new``: publish it; ``duplicate``: the same content was accepted before;
    ``conflict``: the same submission_id came before with other content;
    ``invalid``: a correction that changes the corrected submission's identity.
    """

    verdict: Literal["new", "duplicate", "conflict", "invalid"]
    problems: list[FieldError] = field(default_factory=list)


CONFLICT = FieldError(
    "submission_id",
    "conflicting_resubmission",
    "this source already submitted this submission_id with different content; the first "
    "version stands. To change it, send a correction instead: a new submission_id with "
    "`corrects` set to this one",
)


person_returned_id = person_returned_event_id


def seen_key(source: str, submission_id: str) -> str:
    return f"{source}\x1f{submission_id}"


def check_against_seen(record: PersonReturned, seen: Mapping[str, bytes]) -> Check:
    """Judge a valid record against what intake has already accepted. Reads only."""
    previous = seen.get(seen_key(record.source, record.submission_id))
    if previous is not None:
        same = json.loads(previous)["digest"] == _content_digest(record)
        return Check("duplicate") if same else Check("conflict", [CONFLICT])
    if record.corrects is None:
        return Check("new")
    original = seen.get(seen_key(record.source, record.corrects))
    # An unknown original may still arrive (screening resolves the order); entries
    # written before corrections existed carry no identity to compare with.
    if original is None:
        return Check("new")
    known = json.loads(original)
    problems = [
        FieldError(
            name,
            "correction_changes_identity",
            f"differs from the {name} of the corrected submission; a correction keeps "
            "case_id and group_id",
        )
        for name in ("case_id", "group_id")
        if name in known and known[name] != getattr(record, name)
    ]
    return Check("invalid", problems) if problems else Check("new")


class IntakeHandler:
    def __init__(self, reference: Reference, seen: MutableMapping[str, bytes], emit: Emit) -> None:
        self.reference = reference
        self.seen = seen
        self.emit = emit

    async def handle(
        self, raw: bytes, key: bytes | None, origin: SubmissionOrigin, now: datetime
    ) -> Outcome:
        """Publish a valid, new submission; acknowledge a duplicate; record a rejection."""
        if len(raw) > MAX_SUBMISSION_BYTES:
            # Its rejection keeps only the first bytes, so it still fits in one message.
            rejected = Rejected([too_large(MAX_SUBMISSION_BYTES)])
            return await self.reject(raw, key, origin, now, rejected, original_size=len(raw))
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
        check = check_against_seen(record, self.seen)
        if check.problems:
            rejected = Rejected(check.problems, record.source, record.submission_id)
            rejection = await self.reject(raw, key, origin, now, rejected)
            if check.verdict == "invalid":
                return rejection
        if check.verdict != "new":
            # A conflict is still a re-send of an accepted submission: the first stands.
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
        self.seen[seen_key(record.source, record.submission_id)] = json.dumps(
            {
                "event_id": event_id,
                "digest": _content_digest(record),
                "case_id": record.case_id,
                "group_id": record.group_id,
            }
        ).encode()
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
