"""Recording who read which case or group (``access-logged``), for services and commands.

Every HTTP read of a case or a group, and every ``returns audit case``, records one
``access-logged`` event before it answers: the principal, the time, the ids read and the
ids shown. Ids only: what was shown is never copied (docs/DATA-PROTECTION.md).

Principals: a command's is ``RETURNS_PRINCIPAL``, else the Kafka SASL user, else the OS
user. An HTTP read's is the ``X-Returns-Principal`` header set by an authenticating
front end (the console), else ``anonymous@<peer address>``.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from schemas.access import AccessLogged, Subject
from schemas.codec import encode
from schemas.envelope import Envelope, event_id_for, make_envelope, utc_now

PRINCIPAL_HEADER = "X-Returns-Principal"
_PRINCIPAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9@._:/+-]{0,127}$")
WRITE_TIMEOUT = 15.0


class AccessNotRecorded(RuntimeError):
    """The read could not be recorded, so it is not served."""


def access_event(
    *,
    principal: str,
    reader: str,
    view: str,
    subject: Subject,
    subject_id: str,
    group_ids: Iterable[str] = (),
    personal_data_shown: bool = False,
    read_at: datetime | None = None,
) -> Envelope[AccessLogged]:
    """The ``access-logged`` event of one read; its id is unique to reader, who, what, when."""
    moment = read_at or utc_now()
    data = AccessLogged(
        principal=principal,
        reader=reader,
        view=view,
        subject=subject,
        subject_id=subject_id,
        group_ids=sorted(set(group_ids)),
        personal_data_shown=personal_data_shown,
        read_at=moment,
    )
    stamp = moment.isoformat(timespec="microseconds")
    return make_envelope(
        data,
        event_id=event_id_for("access-logged", reader, principal, subject, subject_id, stamp),
        producer=f"{reader}/0.1.0",
        correlation_id=subject_id,
        causation_id=None,
        crossing=None,
        occurred_at=moment,
    )


def command_principal(env: Mapping[str, str] | None = None) -> str:
    """Who runs this command: ``RETURNS_PRINCIPAL``, the SASL user, or the OS user."""
    env = os.environ if env is None else env
    for candidate in (env.get("RETURNS_PRINCIPAL"), env.get("KAFKA_SASL_USERNAME")):
        if candidate and _PRINCIPAL.match(candidate):
            return candidate
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return user if _PRINCIPAL.match(user) else "unknown"


def http_principal(headers: Mapping[str, str], peer: str | None) -> str:
    """Who sent this request: the front end's principal header, else anonymous@peer."""
    named = headers.get(PRINCIPAL_HEADER)
    if named and _PRINCIPAL.match(named):
        return named
    address = peer if peer and _PRINCIPAL.match(f"anonymous@{peer}") else "unknown"
    return f"anonymous@{address}"


def group_ids_in(body: Any) -> set[str]:
    """Every ``group_id`` an answer shows, wherever it is nested."""
    found: set[str] = set()
    if isinstance(body, Mapping):
        for key, value in body.items():
            if key == "group_id" and isinstance(value, str):
                found.add(value)
            else:
                found |= group_ids_in(value)
    elif isinstance(body, list | tuple):
        for item in body:
            found |= group_ids_in(item)
    return found


class KafkaAccessLog:
    """Writes access events with kafka-python and waits for the ack (for commands)."""

    def __init__(self, bootstrap_servers: str, topic_prefix: str) -> None:
        from services.runtime.settings import Settings
        from services.runtime.topology import load_topology

        self.bootstrap_servers = bootstrap_servers
        self.topic = f"{topic_prefix}access-logged"
        self.topology = load_topology(Settings.from_env().topology_file)

    def record(self, envelope: Envelope[AccessLogged]) -> None:
        from kafka import KafkaProducer

        from services.runtime.security import kafka_python_options

        partition = self.topology.partition_for("access-logged", envelope.correlation_id, None)
        try:
            producer = KafkaProducer(
                bootstrap_servers=self.bootstrap_servers,
                acks="all",
                client_id="returns-access-log",
                **kafka_python_options(),
            )
        except Exception as exc:  # kafka-python's own error types
            raise AccessNotRecorded(f"cannot reach the broker: {type(exc).__name__}") from None
        try:
            key = envelope.correlation_id.encode()
            sent = producer.send(self.topic, key=key, value=encode(envelope), partition=partition)
            sent.get(timeout=WRITE_TIMEOUT)
        except Exception as exc:
            raise AccessNotRecorded(f"cannot write {self.topic}: {type(exc).__name__}") from None
        finally:
            producer.close()
