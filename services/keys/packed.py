"""Each case's wrapped data key, packed into one bytes object (`WrappedKeys`).

A process that seals or opens personal data caches the wrapped key of every case it has
seen (services/keys/store.py), so each is kept as about 110 bytes instead of a parsed
record of about 1.5 kB, and unpacked only when it is opened or re-wrapped.
"""

from __future__ import annotations

import struct
from collections.abc import MutableMapping
from datetime import datetime
from typing import NamedTuple, Protocol, runtime_checkable

from schemas.sealed import WrappedDataKey
from services.keys.crypto import b64, unb64
from services.runtime.micros import from_micros, to_micros

_HEAD = struct.Struct(">8sHqB")  # key id, KEK number, created_at (µs), nonce length
_LONGEST_NONCE = 128  # AES-GCM's longest here (a key record's nonce has 12 bytes)


class WrappedKey(NamedTuple):
    """One case's wrapped key, unpacked when it is opened or re-wrapped."""

    key_id: str
    kek_id: str
    nonce: str
    wrapped: str
    created_at: datetime


@runtime_checkable
class Settling(Protocol):
    """Slots whose deleted values stay on a disk until `settle` is called."""

    def settle(self) -> None: ...


class WrappedKeys:
    """The wrapped key of every live case, one bytes object each (about 110 bytes where
    the parsed record took about 1.5 kB): a process keeps one for every case it has seen.

    Each holds the key id, the KEK's number in `kek_ids`, the creation time (in UTC
    microseconds: a re-wrapped record states the same instant, in UTC), the nonce and the
    wrapped key, decoded from hex and base64. A nonce or wrapped key that is not base64
    (or a nonce too long for AES-GCM) is kept empty: it does not unwrap, as before.

    `slots` holds the packed keys: a dict by default; a worker passes one on disk
    (`services.runtime.stores.ScratchMapping`), so that the heap does not grow with the
    number of cases (docs/adr/0044-the-key-cache-on-disk.md). `settle` makes what was
    popped leave such slots for good.
    """

    def __init__(self, slots: MutableMapping[str, bytes] | None = None) -> None:
        self._packed: MutableMapping[str, bytes] = {} if slots is None else slots
        self.kek_ids: list[str] = []  # a few: one per KEK that ever wrapped a key here

    def __contains__(self, case_id: str) -> bool:
        return case_id in self._packed

    def __len__(self) -> int:
        return len(self._packed)

    def __setitem__(self, case_id: str, record: WrappedDataKey) -> None:
        nonce, wrapped = _decoded(record.nonce), _decoded(record.wrapped)
        if nonce is None or wrapped is None or len(nonce) > _LONGEST_NONCE:
            nonce = wrapped = b""
        if record.kek_id not in self.kek_ids:
            self.kek_ids.append(record.kek_id)
        created = to_micros(record.created_at)
        head = _HEAD.pack(
            bytes.fromhex(record.key_id), self.kek_ids.index(record.kek_id), created, len(nonce)
        )
        self._packed[case_id] = head + nonce + wrapped

    def get(self, case_id: str) -> WrappedKey | None:
        packed = self._packed.get(case_id)
        if packed is None:
            return None
        key_id, kek, created, nonce_length = _HEAD.unpack_from(packed)
        nonce_end = _HEAD.size + nonce_length
        return WrappedKey(
            key_id.hex(),
            self.kek_ids[kek],
            b64(packed[_HEAD.size : nonce_end]),
            b64(packed[nonce_end:]),
            from_micros(created),
        )

    def pop(self, case_id: str) -> None:
        self._packed.pop(case_id, None)

    def settle(self) -> None:
        if isinstance(self._packed, Settling):
            self._packed.settle()

    def case_ids(self) -> list[str]:
        return list(self._packed)

    def kek_ids_in_use(self) -> set[str]:
        return {self.kek_ids[_HEAD.unpack_from(packed)[1]] for packed in self._packed.values()}


def _decoded(text: str) -> bytes | None:
    try:
        return unb64(text)
    except ValueError:  # binascii.Error is one
        return None
