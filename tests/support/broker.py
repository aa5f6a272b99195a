"""The Kafka broker a test session talks to.

``broker_for_tests()`` picks, in this order:

1. ``env``: the broker named by ``KAFKA_BOOTSTRAP_SERVERS``, used as is;
2. ``docker``: when a Docker engine answers, a throw-away ``apache/kafka:4.1.1``
   container (KRaft) started with testcontainers;
3. ``local-jars``: the Maven-jar broker of ``infra/kafka/kafka.sh``, on two free ports
   and its own state dir (``.work/kafka/test-broker``), so it never collides with a
   developer's broker on 9092. The state dir is wiped first: tests create their topics.

The broker is stopped when the context exits (except an ``env`` broker, not ours).
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = REPO_ROOT / "infra" / "kafka" / "kafka.sh"
PROBE = REPO_ROOT / "infra" / "kafka" / "probe.py"
# RETURNS_TEST_BROKER_DIR lets two test sessions on one machine keep apart.
TEST_STATE_DIR = Path(
    os.environ.get("RETURNS_TEST_BROKER_DIR") or REPO_ROOT / ".work" / "kafka" / "test-broker"
)
KAFKA_IMAGE = "apache/kafka:4.1.1"
START_TIMEOUT_S = 90

BrokerKind = Literal["env", "docker", "local-jars"]


@dataclass(frozen=True)
class BrokerInfo:
    bootstrap_servers: str
    kind: BrokerKind


@contextmanager
def broker_for_tests() -> Iterator[BrokerInfo]:
    """Yield the session's broker; stop it afterwards if this function started it."""
    from_env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if from_env:
        yield BrokerInfo(from_env, "env")
    elif _docker_answers():
        with _docker_broker() as bootstrap:
            yield BrokerInfo(bootstrap, "docker")
    else:
        with _local_jars_broker() as bootstrap:
            yield BrokerInfo(bootstrap, "local-jars")


def _run_probe(bootstrap: str) -> None:
    result = subprocess.run(
        [sys.executable, str(PROBE), "--bootstrap", bootstrap, "--timeout", str(START_TIMEOUT_S)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"Kafka at {bootstrap} is not ready: {result.stderr.strip()}")


# ---------------------------------------------------------------- Docker


def _docker_answers() -> bool:
    """True when a Docker engine answers a ping; fails fast when there is none."""
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


# testcontainers' KafkaContainer only drives Confluent's cp-kafka images (its start
# script calls /etc/confluent/docker/*, and with_kraft() rejects tags below 7.0.0), so
# apache/kafka is run as a plain container with the same trick: the command waits for
# a start script that is copied in once the mapped port is known, because the
# advertised listener must name the host and port that the tests connect to.
_START_SCRIPT = "/tmp/tc-kafka-start.sh"  # inside the container
_START_READY = _START_SCRIPT + ".ready"
_CONTAINER_ENV = {
    "CLUSTER_ID": "4L6g3nShT-eMCtK--X86sw",
    "KAFKA_NODE_ID": "1",
    "KAFKA_PROCESS_ROLES": "broker,controller",
    "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9094",
    "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
    "KAFKA_LISTENERS": "PLAINTEXT://0.0.0.0:9092,BROKER://0.0.0.0:9093,CONTROLLER://0.0.0.0:9094",
    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": (
        "PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT"
    ),
    "KAFKA_INTER_BROKER_LISTENER_NAME": "BROKER",
    # The same broker settings as infra/kafka/server.properties.template.
    "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
    "KAFKA_NUM_PARTITIONS": "1",
    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
    "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "4",
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR": "1",
    "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
}


@contextmanager
def _docker_broker() -> Iterator[str]:
    from testcontainers.core.container import DockerContainer

    wait_then_run = f"while [ ! -f {_START_READY} ]; do sleep 0.1; done; exec bash {_START_SCRIPT}"
    container = (
        DockerContainer(KAFKA_IMAGE)
        .with_exposed_ports(9092)
        .with_envs(**_CONTAINER_ENV)
        .with_command(["sh", "-c", wait_then_run])
    )
    with container:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(9092)
        script = (
            f'export KAFKA_ADVERTISED_LISTENERS="PLAINTEXT://{host}:{port},BROKER://$(hostname):9093"\n'
            "exec /etc/kafka/docker/run\n"
        )
        # One archive, the script first: the marker appears only once the script is whole.
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            for name, data in ((_START_SCRIPT, script.encode()), (_START_READY, b"")):
                info = tarfile.TarInfo(name.lstrip("/"))
                info.size, info.mode, info.mtime = len(data), 0o755, int(time.time())
                tar.addfile(info, io.BytesIO(data))
        container.get_wrapped_container().put_archive("/", archive.getvalue())
        bootstrap = f"{host}:{port}"
        _run_probe(bootstrap)
        yield bootstrap


# ---------------------------------------------------------------- local jars


def _free_ports(count: int) -> list[int]:
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:  # all bound at once, so the ports differ
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def run_script(
    script: Path, args: Sequence[str], env: dict[str, str], timeout: float = START_TIMEOUT_S + 60
) -> str:
    """Run one of ``infra/kafka``'s scripts; its output. A failure raises ``RuntimeError``
    with everything the script said, so that a broken start shows its cause."""
    result = subprocess.run(
        ["bash", str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{script.relative_to(REPO_ROOT)} {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout


def _kafka_sh(command: str, env: dict[str, str]) -> None:
    sys.stderr.write(run_script(KAFKA_SH, [command], env))


@contextmanager
def _local_jars_broker() -> Iterator[str]:
    port, controller_port = _free_ports(2)
    env = {
        **os.environ,
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(controller_port),
        "KAFKA_STATE_DIR": str(TEST_STATE_DIR),
        "KAFKA_START_TIMEOUT": str(START_TIMEOUT_S),
        "PYTHON": os.environ.get("PYTHON", sys.executable),
    }
    _kafka_sh("down", env)  # a broker left behind by a killed session
    shutil.rmtree(TEST_STATE_DIR, ignore_errors=True)
    try:
        _kafka_sh("up", env)
        yield f"127.0.0.1:{port}"
    finally:
        _kafka_sh("down", env)
