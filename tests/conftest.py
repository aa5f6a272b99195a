"""Fixtures shared by every test.

Unit tests need nothing. Tests that use the ``kafka`` fixture (all of
``tests/integration``) get the session's real broker, chosen by
``tests.support.broker.broker_for_tests``: ``KAFKA_BOOTSTRAP_SERVERS`` if set, else a
Docker container if an engine answers, else the local Maven-jar broker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.runtime.context import Runtime
from tests.support.broker import BrokerInfo, broker_for_tests
from tests.support.kafka import scratch_runtime
from tests.support.services import ServiceProcess


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="session")
def kafka() -> Iterator[BrokerInfo]:
    with broker_for_tests() as info:
        yield info


@pytest.fixture
def runtime(kafka: BrokerInfo) -> Iterator[Runtime]:
    """This test's own topics (a unique prefix) on the session's broker, deleted afterwards."""
    with scratch_runtime(kafka.bootstrap_servers) as fresh:
        yield fresh


StartService = Callable[..., ServiceProcess]


@pytest.fixture
def start_service(runtime: Runtime, tmp_path: Path) -> Iterator[StartService]:
    """Start a service worker as a real process; every one is stopped after the test."""
    started: list[ServiceProcess] = []

    def start(service: str, worker: str = "1", wait: bool = True, **env: str) -> ServiceProcess:
        process = ServiceProcess(
            service,
            runtime,
            tmp_path / f"{service}-{worker}.log",
            env_extra=env,
            worker_name=worker,
        )
        started.append(process)
        return process.start(wait=wait)

    yield start
    for process in started:
        process.kill()
