"""AES-256-GCM for personal data: sealing a record's sensitive fields, wrapping data keys.

Two layers (envelope encryption):
- each case has its own random 32-byte *data key*; it seals that person's records;
- a *key-encryption key* (KEK, from ``RETURNS_KEK_FILE``) wraps every data key before it
  is written to the ``person-keys`` topic, so that the key topic alone opens nothing.

Sealing is deterministic: the nonce is derived (HMAC-SHA256 under a subkey of the data
key) from the associated data and the plaintext, so re-publishing the same record after
a crash gives the same bytes and the same ``event_id`` keeps meaning the same data
(docs/adr/0003). A nonce repeats only for identical plaintext and associated data, where
it reveals nothing new.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from schemas.sealed import SCHEME, Sealed

KEY_BYTES = 32
NONCE_BYTES = 12


class SealError(ValueError):
    """A sealed object does not open: wrong key, wrong binding or tampered bytes."""


def new_key() -> bytes:
    """A fresh random 256-bit key (a data key or a KEK)."""
    return os.urandom(KEY_BYTES)


def new_key_id() -> str:
    """A random id naming one data key; it says nothing about the key."""
    return os.urandom(8).hex()


def associated_data(event_id: str, case_id: str, key_id: str) -> bytes:
    """What a sealed record is bound to: its event, its case and the key that sealed it."""
    return "\x1f".join(("person-returned", event_id, case_id, key_id)).encode()


def seal(plaintext: bytes, data_key: bytes, key_id: str, aad: bytes) -> Sealed:
    """Encrypt ``plaintext`` under ``data_key``, bound to ``aad``; same input, same output."""
    enc_key, nonce_key = _subkeys(data_key)
    nonce = hmac.new(nonce_key, aad + b"\x00" + plaintext, hashlib.sha256).digest()[:NONCE_BYTES]
    ciphertext = AESGCM(enc_key).encrypt(nonce, plaintext, aad)
    return Sealed(scheme=SCHEME, key_id=key_id, nonce=b64(nonce), ciphertext=b64(ciphertext))


def open_sealed(box: Sealed, data_key: bytes, aad: bytes) -> bytes:
    """The plaintext of ``box``; raises `SealError` for a wrong key, binding or tampering."""
    enc_key, _ = _subkeys(data_key)
    try:
        return AESGCM(enc_key).decrypt(unb64(box.nonce), unb64(box.ciphertext), aad)
    except (InvalidTag, ValueError):
        raise SealError("the sealed personal data does not open with this key") from None


def wrap(data_key: bytes, kek: bytes, aad: bytes) -> tuple[str, str]:
    """(nonce, wrapped key), base64: ``data_key`` encrypted under ``kek``, bound to ``aad``."""
    nonce = os.urandom(NONCE_BYTES)
    return b64(nonce), b64(AESGCM(kek).encrypt(nonce, data_key, aad))


def unwrap(nonce: str, wrapped: str, kek: bytes, aad: bytes) -> bytes:
    """The data key again; raises `SealError` if the KEK or binding is wrong."""
    try:
        return AESGCM(kek).decrypt(unb64(nonce), unb64(wrapped), aad)
    except (InvalidTag, ValueError):
        raise SealError("the data key does not unwrap with this key-encryption key") from None


def _subkeys(data_key: bytes) -> tuple[bytes, bytes]:
    # Separate keys for encryption and nonce derivation, both from the one data key.
    enc = hmac.new(data_key, b"returns/seal/enc", hashlib.sha256).digest()
    nonce = hmac.new(data_key, b"returns/seal/nonce", hashlib.sha256).digest()
    return enc, nonce


def b64(raw: bytes) -> str:
    """Standard base64, as the sealed records and key records carry bytes."""
    return base64.b64encode(raw).decode()


def unb64(text: str) -> bytes:
    """The bytes of standard base64; `binascii.Error` (a `ValueError`) on anything that is not."""
    return base64.b64decode(text, validate=True)
