"""Least privilege on the broker: each principal can do its own job and nothing else.

A broker of this module's own, with TLS, SCRAM users and the ACLs of
``services/runtime/acls.py`` (``tests/support/secure_broker.py``). The refusals come
from the broker, not from the project's code: the clients here are plain kafka-python.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import (
    KafkaTimeoutError,
    SaslAuthenticationFailedError,
    TopicAuthorizationFailedError,
)

from schemas.codec import decode_any
from schemas.registry import TOPICS
from services.intake.auth import hash_token, new_token
from services.runtime.admin import ensure_topics
from services.runtime.context import Runtime, build_runtime
from services.runtime.publishing import EventProducer
from services.runtime.security import ClientSecurity, kafka_python_options
from services.runtime.settings import Settings
from services.upstream import KafkaSubmitter
from tests.support.secure_broker import SecureBroker, secure_broker_for_tests
from tests.support.services import ServiceProcess
from tests.unit.contracts.samples import submission

SEND_TIMEOUT = 15.0


@pytest.fixture(scope="module")
def secure() -> Iterator[SecureBroker]:
    with secure_broker_for_tests() as broker:
        yield broker


@pytest.fixture(scope="module")
def runtime(secure: SecureBroker) -> Runtime:
    """The whole stack's topics, created by the operator (``admin``), as ``make topics``."""
    settings = Settings(
        bootstrap_servers=secure.bootstrap_servers, security=secure.security("admin")
    )
    built = build_runtime(settings)
    ensure_topics(built.settings, built.topology)
    return built


def producer(secure: SecureBroker, security: ClientSecurity, **options: Any) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=secure.bootstrap_servers,
        acks="all",
        **options,
        **kafka_python_options(security),
    )


def write(secure: SecureBroker, principal: str, topic: str, **options: Any) -> Any:
    """One record from ``principal`` to partition 0 of ``topic``; the broker's answer."""
    client = producer(secure, secure.security(principal), **options)
    try:
        return client.send(topic, value=b"{}", partition=0).get(timeout=SEND_TIMEOUT)
    finally:
        client.close(timeout=5)


def consumer(secure: SecureBroker, principal: str) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=secure.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        **kafka_python_options(secure.security(principal)),
    )


@pytest.mark.usefixtures("runtime")
def test_a_wrong_password_gets_no_connection(secure: SecureBroker) -> None:
    with pytest.raises((SaslAuthenticationFailedError, KafkaTimeoutError)):
        KafkaConsumer(
            bootstrap_servers=secure.bootstrap_servers,
            bootstrap_timeout_ms=5000,
            **kafka_python_options(secure.impostor("screening")),
        )
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in secure.log_text()


@pytest.mark.usefixtures("runtime")
def test_a_rotated_password_replaces_the_old_one(secure: SecureBroker) -> None:
    old = secure.security("inm")
    secure.secure_sh("rotate", "inm")
    new = secure.security("inm")
    assert new.password != old.password
    assert write(secure, "inm", "location-status-changed").offset >= 0
    with pytest.raises((SaslAuthenticationFailedError, KafkaTimeoutError)):
        KafkaProducer(
            bootstrap_servers=secure.bootstrap_servers,
            bootstrap_timeout_ms=5000,
            **kafka_python_options(old),
        )


@pytest.mark.usefixtures("runtime")
def test_screening_writes_screened_but_the_broker_refuses_it_placed(
    secure: SecureBroker,
) -> None:
    assert write(secure, "screening", "screened").offset >= 0
    with pytest.raises(TopicAuthorizationFailedError):
        write(secure, "screening", "placed")


@pytest.mark.usefixtures("runtime")
def test_an_upstream_source_writes_only_returns_inbound(secure: SecureBroker) -> None:
    assert write(secure, "upstream-cbp", "returns-inbound").offset >= 0
    for topic in ("person-returned", "screened", "location-status-changed"):
        with pytest.raises(TopicAuthorizationFailedError):
            write(secure, "upstream-cbp", topic)


@pytest.mark.usefixtures("runtime")
def test_inm_and_the_shelters_write_only_their_own_status_topics(secure: SecureBroker) -> None:
    assert write(secure, "inm", "location-status-changed").offset >= 0
    assert write(secure, "shelters", "capacity-updated").offset >= 0
    with pytest.raises(TopicAuthorizationFailedError):
        write(secure, "inm", "capacity-updated")
    with pytest.raises(TopicAuthorizationFailedError):
        write(secure, "shelters", "location-status-changed")


def test_an_auditor_writes_no_topic_but_the_record_of_its_own_reads(
    secure: SecureBroker, runtime: Runtime
) -> None:
    client = producer(secure, secure.security("auditor"), enable_idempotence=False)
    try:
        for topic in sorted(set(TOPICS) - {"access-logged"}):
            with pytest.raises(TopicAuthorizationFailedError):
                client.send(topic, value=b"{}", partition=0).get(timeout=SEND_TIMEOUT)
    finally:
        client.close(timeout=5)
    # Nor through the project's own (idempotent) producer.
    auditor = replace(runtime.settings, security=secure.security("auditor"))
    events = EventProducer(replace(runtime.router, settings=auditor))
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            events.publish_bytes("screened", b"{}", key="G-1", crossing="ELP").get(SEND_TIMEOUT)
    finally:
        events.close()


@pytest.mark.usefixtures("runtime")
def test_notify_is_refused_returns_inbound(secure: SecureBroker) -> None:
    reader = consumer(secure, "notify")
    try:
        assert not reader.partitions_for_topic("returns-inbound")  # not even listed
        with pytest.raises(TopicAuthorizationFailedError):
            reader.end_offsets([TopicPartition("returns-inbound", 0)])
        assert reader.partitions_for_topic("screened")  # while its inputs are there
    finally:
        reader.close()


@pytest.mark.usefixtures("runtime")
def test_an_auditor_reads_the_audit_log_but_not_the_raw_submissions(
    secure: SecureBroker,
) -> None:
    write(secure, "upstream-cbp", "returns-inbound")
    write(secure, "screening", "screened")
    reader = consumer(secure, "auditor")
    try:
        screened = TopicPartition("screened", 0)
        reader.assign([screened])
        reader.seek_to_beginning(screened)
        assert _poll_until(reader, lambda records: bool(records))
        inbound = TopicPartition("returns-inbound", 0)
        reader.assign([inbound])
        reader.seek_to_beginning(inbound)
        with pytest.raises(TopicAuthorizationFailedError):
            _poll_until(reader, lambda records: bool(records))
    finally:
        reader.close()


def _poll_until(reader: KafkaConsumer, done: Any, timeout: float = 10.0) -> list[Any]:
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done(records):
        for batch in reader.poll(timeout_ms=200).values():
            records.extend(batch)
    return records


def test_a_return_goes_through_the_four_services_each_under_its_own_principal(
    secure: SecureBroker, runtime: Runtime, tmp_path: Path
) -> None:
    token = new_token()
    tokens = tmp_path / "tokens.toml"
    tokens.write_text(f'[sources]\ncbp-elp = "{hash_token(token)}"\n')
    extra = {
        "intake": {"RETURNS_INTAKE_TOKENS_FILE": str(tokens)},
        "screening": {"RETURNS_GROUP_WAIT_MINUTES": "0.1", "RETURNS_GROUP_GRACE_SECONDS": "1"},
    }
    services = {
        name: ServiceProcess(
            name, runtime, tmp_path / f"{name}.log", {**secure.env(name), **extra.get(name, {})}
        )
        for name in ("intake", "screening", "placement", "notify")
    }
    try:
        for service in services.values():
            service.start(wait=False)
        for service in services.values():
            service.wait_ready()
        over_http = submission(
            submission_id="cbp-elp-2026-12-01-S1",
            case_id="A299000001",
            group_id="G-SEC-HTTP",
            group_size=1,
        )
        answer = httpx.post(
            f"{services['intake'].url}/v1/returns",
            content=json.dumps(over_http).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=10,
        )
        assert answer.status_code == 202, answer.text
        upstream = replace(runtime.settings, security=secure.security("upstream-cbp"))
        over_kafka = submission(
            submission_id="cbp-elp-2026-12-01-S2",
            case_id="A299000002",
            group_id="G-SEC-KAFKA",
            group_size=1,
        )
        with KafkaSubmitter(replace(runtime.router, settings=upstream)) as submit:
            submit(over_kafka)

        for group in ("G-SEC-HTTP", "G-SEC-KAFKA"):
            [decision] = _events_as_auditor(secure, "screened", group)
            assert decision.data.decision == "accepted"
            assert _events_as_auditor(secure, "legal-aid-requested", group)
        refused = {
            name: service.tail(400)
            for name, service in services.items()
            if "not authorized" in service.tail(400).lower()
        }
        assert not refused, f"a service was refused something it needs: {refused}"
    finally:
        for service in services.values():
            service.kill()


def _events_as_auditor(
    secure: SecureBroker, topic: str, group: str, timeout: float = 45.0
) -> list[Any]:
    reader = consumer(secure, "auditor")
    try:
        partitions = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or ()]
        reader.assign(partitions)
        reader.seek_to_beginning(*partitions)
        found = _poll_until(
            reader, lambda rs: any(r.key == group.encode() for r in rs), timeout=timeout
        )
        return [decode_any(r.value) for r in found if r.key == group.encode()]
    finally:
        reader.close()
