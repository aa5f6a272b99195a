"""``intake-rejected``: a submission that was not accepted, kept whole."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.base import Contract, EventData, sensitive


class FieldProblem(Contract):
    """One reason a submission was rejected."""

    field: str | None = Field(description="dotted path of the field, or null for the whole record")
    code: str = Field(description="stable machine-readable code, e.g. unknown_crossing")
    message: str


class SubmissionOrigin(Contract):
    channel: Literal["kafka", "http"]
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


class IntakeRejected(EventData):
    """Everything needed to fix and resubmit: the exact bytes and every reason."""

    EVENT_TYPE = "intake-rejected"

    submission_key: str | None
    source: str | None
    submission_id: str | None
    original_base64: str = sensitive(description="the submitted bytes, base64")
    original_size: int = Field(ge=0)
    truncated: bool = Field(
        description="true when only the first bytes of an oversized body are kept"
    )
    reasons: list[FieldProblem] = Field(min_length=1)
    origin: SubmissionOrigin
    received_at: AwareDatetime
