"""What sealing personal data costs per `person-returned` record, in this process, no broker.

Seals and opens ``--records`` records (keys cached, as in a running service), next to the
plain decode a reader did before, and prints medians of ``--runs`` runs and the size on
the wire. ``python -m bench.sealing``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from schemas.codec import decode, encode
from schemas.person import PersonReturned
from services.keys import Keyring, KeyStore, MemoryKeyLog, open_raw
from services.keys.keyring import ensure_kek_file
from services.keys.sealing import seal_for_log
from tests.unit.audit.audit_factories import Log
from tests.unit.screening.factories import returned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        keyring = Keyring.load(ensure_kek_file(Path(directory) / "kek.toml"))
        store = KeyStore(MemoryKeyLog(), keyring)
        log = Log()
        people = [
            log.person(returned(f"A{200000000 + n}", submission_id=f"s-{n}"), 0)
            for n in range(args.records)
        ]
        for person in people:
            store.key_for_sealing(person.data.case_id)
        plain = [encode(p) for p in people]
        sealed = [encode(seal_for_log(store, p)) for p in people]
        timings: dict[str, list[float]] = {"plain decode": [], "seal": [], "open": []}
        for _ in range(args.runs):
            timings["plain decode"].append(
                _per_record(lambda: [decode(r, PersonReturned) for r in plain])
            )
            timings["seal"].append(_per_record(lambda: [seal_for_log(store, p) for p in people]))
            timings["open"].append(_per_record(lambda: [open_raw(r, store) for r in sealed]))
    for name, values in timings.items():
        print(f"{name:>13}: {statistics.median(values) / args.records * 1e6:7.1f} µs a record")
    size = sum(map(len, plain)) / args.records, sum(map(len, sealed)) / args.records
    print(f"bytes a record: plain v1 {size[0]:.0f}, sealed v2 {size[1]:.0f}")


def _per_record(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
