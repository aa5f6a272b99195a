"""Sealing a ``person-returned`` envelope for the log, and opening one read from it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from schemas.codec import decode
from schemas.envelope import Envelope
from schemas.person import PersonReturned
from schemas.sealed import InTheClear, Personal, SealedPersonReturned, merge, split
from services.keys import crypto
from services.keys.store import Erased

_OPENED = Envelope[PersonReturned]
_ENVELOPE_FIELDS = tuple(name for name in Envelope.model_fields if name != "data")


class KeyLookup(Protocol):
    def lookup(self, case_id: str) -> tuple[str, bytes] | None: ...


def seal_envelope(
    envelope: Envelope[PersonReturned],
    key_id: str,
    data_key: bytes,
    occurred_at: datetime | None = None,
) -> Envelope[SealedPersonReturned]:
    """The same event, its sensitive fields sealed with the case's data key (and its
    ``occurred_at`` replaced, when given)."""
    shown, personal = split(envelope.data)
    aad = crypto.associated_data(envelope.event_id, envelope.data.case_id, key_id)
    box = crypto.seal(personal.model_dump_json().encode(), data_key, key_id, aad)
    data = SealedPersonReturned.model_validate({**shown, "personal": box})
    fields = _envelope_fields(envelope)
    if occurred_at is not None:
        fields["occurred_at"] = occurred_at
    return Envelope[SealedPersonReturned](
        **{**fields, "schema_version": data.SCHEMA_VERSION, "data": data}
    )


def open_envelope(
    envelope: Envelope[SealedPersonReturned], keys: KeyLookup | None
) -> Envelope[PersonReturned] | Erased:
    """The whole record again, or `Erased` when the case's key is gone.

    Raises `crypto.SealError` when the key is there but the seal does not open (tampered
    bytes, or a seal moved from another event or case): that is not an erasure.
    """
    record = envelope.data
    box = record.personal
    if isinstance(box, InTheClear):
        personal = box.personal
    else:
        found = keys.lookup(record.case_id) if keys is not None else None
        if found is None or found[0] != box.key_id:
            # No key, or a new one made after an erasure: the key that sealed it is gone.
            return Erased(record.case_id, envelope.event_id)
        aad = crypto.associated_data(envelope.event_id, record.case_id, box.key_id)
        personal = Personal.model_validate_json(crypto.open_sealed(box, found[1], aad))
    whole = merge(record, personal)
    # The envelope's fields were validated with it: only its data changes.
    return _OPENED.model_construct(**{**_envelope_fields(envelope), "data": whole})


def open_raw(raw: bytes, keys: KeyLookup | None) -> Envelope[PersonReturned] | Erased:
    """Decode a ``person-returned`` record of any version, and open it."""
    return open_envelope(decode(raw, SealedPersonReturned), keys)


def _envelope_fields(envelope: Envelope[Any]) -> dict[str, Any]:
    return {name: getattr(envelope, name) for name in _ENVELOPE_FIELDS}


class SealingKeys(KeyLookup, Protocol):
    def key_for_sealing(self, case_id: str) -> tuple[str, bytes]: ...


def seal_for_log(
    keys: SealingKeys,
    envelope: Envelope[PersonReturned],
    arrived: Callable[[], datetime] | None = None,
) -> Envelope[SealedPersonReturned]:
    """Seal with the case's key, made and acknowledged on the key topic first if new.

    ``arrived``: the clock that stamps ``occurred_at`` once the key is acknowledged.
    Screening's window runs on that arrival time (docs/adr/0012), and a key write can
    take seconds while a broker is lost (docs/adr/0033): stamped before it, the record
    would reach the log older than records already read, and a window could close
    without a member that "arrived" in time.
    """
    key_id, data_key = keys.key_for_sealing(envelope.data.case_id)
    return seal_envelope(envelope, key_id, data_key, arrived() if arrived else None)
