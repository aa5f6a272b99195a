"""Personal data that can be erased: per-case data keys on ``person-keys``, wrapped by a KEK.

- `crypto`: AES-256-GCM sealing and key wrapping;
- `keyring`: the key-encryption keys (``RETURNS_KEK_FILE``) and their rotation;
- `store`: each case's data key, cached from the key topic, erased by a tombstone;
- `sealing`: a ``person-returned`` envelope sealed for the log, or opened from it.

See docs/adr/0021-erasable-personal-data.md and docs/DATA-PROTECTION.md.
"""

from __future__ import annotations

from pathlib import Path

from services.keys.crypto import SealError
from services.keys.keyring import Keyring
from services.keys.sealing import open_envelope, open_raw, seal_envelope
from services.keys.store import Erased, KeyStore, MemoryKeyLog

__all__ = [
    "Erased",
    "KeyStore",
    "Keyring",
    "MemoryKeyLog",
    "SealError",
    "key_store",
    "open_envelope",
    "open_raw",
    "seal_envelope",
]


def key_store(
    bootstrap_servers: str,
    topic_prefix: str,
    *,
    patient: bool = False,
    cache_dir: Path | None = None,
) -> KeyStore:
    """The key store of a stack: its ``person-keys`` topic and this process's KEK file.

    `patient`: wait for the key topic however long the broker is away (a service's
    record path) instead of raising `KeyLogUnavailable` after its timeouts (commands).
    `cache_dir`: keep the wrapped keys in a RocksDB database there, emptied when first
    used, instead of in the heap (a worker, whose cache holds every case of its lanes).
    """
    from services.keys.kafka_log import KafkaKeyLog
    from services.runtime.settings import Settings
    from services.runtime.stores import ScratchMapping
    from services.runtime.topology import load_topology

    topology = load_topology(Settings.from_env().topology_file)
    log = KafkaKeyLog(
        bootstrap_servers,
        f"{topic_prefix}person-keys",
        lambda case_id: topology.partition_for("person-keys", case_id, None),
        patient=patient,
    )
    slots = None if cache_dir is None else ScratchMapping(cache_dir)
    return KeyStore(log, Keyring.load(), slots=slots)
