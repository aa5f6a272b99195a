"""What a sealed ``person-returned`` record shows to a reader without its key."""

from __future__ import annotations

import base64
import json


def in_the_clear(raw: bytes) -> bytes:
    """The record's bytes with its sealed ciphertext and nonce left out.

    A ciphertext is random base64: a short value such as ``b"HND"`` turns up in it by
    chance about once in 260,000 positions. A test that looks for personal data in the
    raw record looks here, and checks the ciphertext with ``hides``.
    """
    document = json.loads(raw)
    sealed = document["data"].get("personal") or {}
    if sealed.get("scheme") != "aes-256-gcm":
        return raw  # a record written before sealing: all of it is in the clear
    sealed["ciphertext"] = sealed["nonce"] = ""
    return json.dumps(document, ensure_ascii=False).encode()


def hides(raw: bytes, plaintext: bytes) -> bool:
    """Whether the record's sealed part is ciphertext, not ``plaintext`` in another dress."""
    sealed = json.loads(raw)["data"].get("personal") or {}
    if sealed.get("scheme") != "aes-256-gcm":
        return False
    opaque = base64.b64decode(sealed["ciphertext"], validate=True)
    return plaintext not in opaque and plaintext not in sealed["ciphertext"].encode()
