"""Per-call time of `KeyStore.key_for_sealing` on a real broker, for new and known cases.

The former path (the topic read to its end on every call, the store's own writes polled
back) runs next to today's in the same run, as the baseline (ADR 34):

    .venv/bin/python -m bench.key_store 127.0.0.1:9092
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from services.keys import Keyring, KeyStore, crypto
from services.keys.kafka_log import KafkaKeyLog
from services.keys.keyring import ensure_kek_file
from tests.support.kafka import delete_topics, fresh_runtime


class OldLog(KafkaKeyLog):
    """The key log as it was: it reads its own writes back."""

    def _skip_own(self, tp, offset):  # type: ignore[no-untyped-def]
        return None  # reads its own writes back


class OldStore(KeyStore):
    """The store as it was: every seal reads the topic to its end first."""

    def key_for_sealing(self, case_id: str) -> tuple[str, bytes]:
        with self._lock:  # the old body, line for line
            self.refresh()
            found = self._open(case_id)
            if found is not None:
                return found
            data_key, key_id = crypto.new_key(), crypto.new_key_id()
            record = self._wrap(case_id, key_id, data_key)
            self.log.write(case_id, record.model_dump_json().encode())
            self._wrapped[case_id] = record
            self._unwrapped[case_id] = (key_id, data_key)
            return key_id, data_key


def store_for(runtime, old: bool, keyring: Keyring) -> KeyStore:  # type: ignore[no-untyped-def]
    topology = runtime.topology
    cls = OldLog if old else KafkaKeyLog
    log = cls(
        runtime.settings.bootstrap_servers,
        runtime.settings.topic("person-keys"),
        lambda case_id: topology.partition_for("person-keys", case_id, None),
    )
    store = (OldStore if old else KeyStore)(log, keyring)
    store.refresh()
    return store


def per_call(store: KeyStore, cases: list[str]) -> float:
    began = time.perf_counter()
    for case in cases:
        store.key_for_sealing(case)
    return (time.perf_counter() - began) / len(cases) * 1000


def main() -> None:
    bootstrap = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092"
    rounds, n = 3, 300
    runtime = fresh_runtime(bootstrap)
    with tempfile.TemporaryDirectory() as d:
        keyring = Keyring.load(ensure_kek_file(Path(d) / "kek.toml"))
        try:
            results: dict[str, list[float]] = {}
            for _ in range(rounds):
                for old in (True, False):
                    name = "before" if old else "after"
                    store = store_for(runtime, old, keyring)
                    cases = [f"A{uuid.uuid4().int % 10**9:09d}" for _ in range(n)]
                    results.setdefault(f"{name} new", []).append(per_call(store, cases))
                    results.setdefault(f"{name} known", []).append(per_call(store, cases))
                    store.log.close()  # type: ignore[attr-defined]
            for name, values in results.items():
                runs = ", ".join(f"{v:.2f}" for v in values)
                print(f"{name:>13}: median {statistics.median(values):.2f} ms a call ({runs})")
        finally:
            delete_topics(runtime)


if __name__ == "__main__":
    main()
