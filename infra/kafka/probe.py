"""Readiness probe for a Kafka broker, with kafka-python.

    python infra/kafka/probe.py --bootstrap 127.0.0.1:9092 --timeout 90

Retries a metadata request (``KafkaAdminClient.describe_cluster()``) until it answers
or the deadline passes, then prints the broker version kafka-python inferred from the
broker's ApiVersions response. Exit status 0 when the broker answered, 1 otherwise.

``wait_for_broker()`` is the same check for Python callers (tests use it to assert
that they talk to a Kafka 4.x broker).

It connects as every client of the project does (``services/runtime/security.py``):
plaintext by default, or as the principal the ``KAFKA_*`` security variables name.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script, too
from services.runtime.security import kafka_python_options

# Between attempts, and the cap of kafka-python's own reconnect backoff while it
# bootstraps (it adds up to 20 % jitter: 160 ms * 1.2 stays under 0.2 s).
_PAUSE_S = 0.2
_RECONNECT_BACKOFF_MAX_MS = 160
_REQUEST_TIMEOUT_MS = 2000


def _probe_once(bootstrap: str, timeout: float) -> tuple[tuple[int, ...], dict[str, Any]]:
    """One client: bootstrap (kafka-python retries the connection itself until
    ``timeout``), one metadata request, and the inferred broker version."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="returns-broker-probe",
        request_timeout_ms=_REQUEST_TIMEOUT_MS,
        bootstrap_timeout_ms=max(1, int(timeout * 1000)),
        reconnect_backoff_ms=50,
        reconnect_backoff_max_ms=_RECONNECT_BACKOFF_MAX_MS,
        **kafka_python_options(),
    )
    try:
        cluster: dict[str, Any] = dict(admin.describe_cluster())
        # kafka-python 3.x infers the version from ApiVersions at connect time;
        # the compat client exposes it as check_version().
        version = admin._client.check_version()
    finally:
        admin.close()
    if not version:
        raise RuntimeError("kafka-python could not infer the broker version")
    return tuple(int(part) for part in version), cluster


def _probe(bootstrap: str, timeout: float) -> tuple[tuple[int, ...], dict[str, Any]]:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            return _probe_once(bootstrap, remaining)
        except Exception as exc:  # any failure means "not ready yet"
            last_error = exc
            time.sleep(min(_PAUSE_S, max(0.0, deadline - time.monotonic())))
    raise TimeoutError(
        f"no Kafka broker answered a metadata request on {bootstrap} within {timeout:g} s"
        f" (last error: {last_error!r})"
    )


def wait_for_broker(bootstrap: str, timeout: float) -> tuple[int, ...]:
    """Wait until the broker at ``bootstrap`` answers a metadata request.

    Returns the broker version kafka-python infers, e.g. ``(4, 1)`` for Kafka 4.1.
    Raises ``TimeoutError`` when no broker answers within ``timeout`` seconds.
    """
    version, _ = _probe(bootstrap, timeout)
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="host:port[,host:port]")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds (default 90)")
    parser.add_argument("--verbose", action="store_true", help="show kafka-python's log")
    args = parser.parse_args(argv)

    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    else:
        # Connection-refused warnings are expected while the broker starts.
        logging.getLogger("kafka").setLevel(logging.CRITICAL)

    started = time.monotonic()
    try:
        version, cluster = _probe(args.bootstrap, args.timeout)
    except TimeoutError as exc:
        print(f"probe: {exc}", file=sys.stderr)
        return 1
    brokers = cluster.get("brokers") or []
    print(
        f"probe: {args.bootstrap} answered in {time.monotonic() - started:.1f} s;"
        f" cluster {cluster.get('cluster_id')}, {len(brokers)} broker(s),"
        f" controller {cluster.get('controller_id')};"
        f" kafka-python infers broker API version {'.'.join(map(str, version))}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
