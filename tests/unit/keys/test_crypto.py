"""AES-256-GCM sealing: what opens, and what must not."""

from __future__ import annotations

import pytest

from services.keys import crypto
from services.keys.crypto import SealError

ALICE_KEY = bytes(range(32))
AAD = crypto.associated_data(
    "6b1f4f0e-0000-5000-8000-000000000001", "A212345678", "00ff00ff00ff00ff"
)
PLAINTEXT = b'{"given_names": "Mar\xc3\xada Jos\xc3\xa9"}'


def test_a_sealed_record_opens_with_its_key_and_binding() -> None:
    box = crypto.seal(PLAINTEXT, ALICE_KEY, "00ff00ff00ff00ff", AAD)
    assert crypto.open_sealed(box, ALICE_KEY, AAD) == PLAINTEXT
    assert "Mar" not in box.ciphertext
    assert PLAINTEXT not in box.model_dump_json().encode()


def test_sealing_the_same_record_twice_gives_the_same_bytes() -> None:
    # A record re-published after a crash keeps its event_id and so must keep its data.
    first = crypto.seal(PLAINTEXT, ALICE_KEY, "00ff00ff00ff00ff", AAD)
    again = crypto.seal(PLAINTEXT, ALICE_KEY, "00ff00ff00ff00ff", AAD)
    other = crypto.seal(PLAINTEXT + b" ", ALICE_KEY, "00ff00ff00ff00ff", AAD)
    assert first == again
    assert other.nonce != first.nonce


def test_the_wrong_key_does_not_open_it() -> None:
    box = crypto.seal(PLAINTEXT, ALICE_KEY, "00ff00ff00ff00ff", AAD)
    with pytest.raises(SealError):
        crypto.open_sealed(box, crypto.new_key(), AAD)


def test_a_seal_moved_to_another_event_or_case_does_not_open() -> None:
    box = crypto.seal(PLAINTEXT, ALICE_KEY, "00ff00ff00ff00ff", AAD)
    other_case = crypto.associated_data(
        "6b1f4f0e-0000-5000-8000-000000000001", "A212345679", "00ff00ff00ff00ff"
    )
    other_event = crypto.associated_data(
        "6b1f4f0e-0000-5000-8000-000000000002", "A212345678", "00ff00ff00ff00ff"
    )
    for aad in (other_case, other_event):
        with pytest.raises(SealError):
            crypto.open_sealed(box, ALICE_KEY, aad)


def test_a_tampered_ciphertext_does_not_open() -> None:
    box = crypto.seal(PLAINTEXT, ALICE_KEY, "00ff00ff00ff00ff", AAD)
    raw = bytearray(crypto.unb64(box.ciphertext))
    raw[3] ^= 0x01
    tampered = box.model_copy(update={"ciphertext": crypto.b64(bytes(raw))})
    with pytest.raises(SealError):
        crypto.open_sealed(tampered, ALICE_KEY, AAD)


def test_a_wrapped_key_unwraps_only_with_its_kek_and_binding() -> None:
    kek = crypto.new_key()
    nonce, wrapped = crypto.wrap(ALICE_KEY, kek, b"person-keys\x1fA212345678")
    assert crypto.unwrap(nonce, wrapped, kek, b"person-keys\x1fA212345678") == ALICE_KEY
    with pytest.raises(SealError):
        crypto.unwrap(nonce, wrapped, crypto.new_key(), b"person-keys\x1fA212345678")
    with pytest.raises(SealError):
        crypto.unwrap(nonce, wrapped, kek, b"person-keys\x1fA212345679")


def test_the_error_never_carries_the_data() -> None:
    box = crypto.seal(PLAINTEXT, ALICE_KEY, "00ff00ff00ff00ff", AAD)
    with pytest.raises(SealError) as caught:
        crypto.open_sealed(box, crypto.new_key(), AAD)
    assert "Mar" not in str(caught.value)
    assert box.ciphertext not in str(caught.value)
