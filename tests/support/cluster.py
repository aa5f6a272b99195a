"""A 3-node local Kafka cluster for a test, with one node to kill and bring back.

``cluster_for_tests()`` runs ``infra/kafka/cluster.sh`` on six free ports and its own
state dir (wiped first), so it never collides with a developer's cluster on
19092-19094 or another test session's. Topics created through it should use
replication factor 3: ``LocalCluster.client_env()`` gives the variables a service
needs (``KAFKA_BOOTSTRAP_SERVERS``, ``RETURNS_REPLICATION_FACTOR=3``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaAdminClient

from tests.support.broker import REPO_ROOT, START_TIMEOUT_S, _free_ports

CLUSTER_SH = REPO_ROOT / "infra" / "kafka" / "cluster.sh"
NODES = (1, 2, 3)
# RETURNS_TEST_CLUSTER_DIR keeps two test sessions on one machine apart.
TEST_CLUSTER_DIR = Path(
    os.environ.get("RETURNS_TEST_CLUSTER_DIR") or REPO_ROOT / ".work" / "kafka" / "cluster-test"
)
# Seconds a node may take to answer; a loaded machine needs more than a broker alone.
START_TIMEOUT = float(os.environ.get("RETURNS_TEST_CLUSTER_START_TIMEOUT") or START_TIMEOUT_S)


@dataclass(frozen=True)
class LocalCluster:
    """Three running nodes of ``cluster.sh``; node ids are 1, 2 and 3."""

    state_dir: Path
    ports: tuple[int, int, int]
    controller_ports: tuple[int, int, int]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def client_env(self) -> dict[str, str]:
        """What a service or ``returns topics`` needs to use this cluster, replicated."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "RETURNS_REPLICATION_FACTOR": "3",
        }

    def kill(self, node: int) -> float:
        """SIGKILL ``node`` (a broker lost without warning); returns when, monotonic."""
        self._run("kill", str(node))
        return time.monotonic()

    def start(self, node: int) -> float:
        """Start ``node`` again and wait until it answers; returns when, monotonic."""
        self._run("start", str(node))
        return time.monotonic()

    def stop(self, node: int) -> None:
        """A controlled shutdown of ``node`` (SIGTERM)."""
        self._run("stop", str(node))

    def live_brokers(self) -> set[int]:
        """The ids of the brokers the cluster's metadata lists as unfenced."""
        admin = self._admin()
        try:
            brokers = admin.describe_cluster()["brokers"]
            return {int(b["broker_id"]) for b in brokers if not b.get("is_fenced")}
        finally:
            admin.close()

    def busiest_leader(self, prefix: str = "") -> int:
        """The node that leads the most partitions of the topics named ``prefix``...:
        the one whose loss moves the most leaders."""
        admin = self._admin()
        try:
            names = [name for name in admin.list_topics() if name.startswith(prefix)]
            leaders = Counter(
                int(part["leader_id"])
                for topic in admin.describe_topics(names)
                for part in topic["partitions"]
            )
            return leaders.most_common(1)[0][0] if leaders else NODES[0]
        finally:
            admin.close()

    def under_replicated(self, prefix: str = "") -> list[str]:
        """``topic/partition`` of every partition (of topics named ``prefix``...) whose
        in-sync replicas are fewer than its replicas: empty once a restarted node caught up."""
        admin = self._admin()
        try:
            names = [name for name in admin.list_topics() if name.startswith(prefix)]
            lagging = []
            for topic in admin.describe_topics(names):
                for part in topic["partitions"]:
                    if len(part["isr_nodes"]) < len(part["replica_nodes"]):
                        lagging.append(f"{topic['name']}/{part['partition_index']}")
            return sorted(lagging)
        finally:
            admin.close()

    def wait_in_sync(self, prefix: str = "", timeout: float = 120.0) -> float:
        """Wait until no partition is under-replicated; the seconds it took."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            lagging = self.under_replicated(prefix)
            if not lagging:
                return time.monotonic() - started
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(lagging)} partitions still under-replicated: {lagging[:5]}"
                )
            time.sleep(0.5)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_CLUSTER_DIR": str(self.state_dir),
            "KAFKA_CLUSTER_PORTS": " ".join(map(str, self.ports)),
            "KAFKA_CLUSTER_CONTROLLER_PORTS": " ".join(map(str, self.controller_ports)),
            "KAFKA_START_TIMEOUT": str(int(START_TIMEOUT)),
            "PYTHON": os.environ.get("PYTHON", sys.executable),
        }

    def _admin(self) -> KafkaAdminClient:
        return KafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers,
            client_id="returns-test-cluster",
            request_timeout_ms=5000,
        )

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            ["bash", str(CLUSTER_SH), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT * 2,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"infra/kafka/cluster.sh {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}"
            )
        sys.stderr.write(result.stdout)


@contextmanager
def cluster_for_tests(
    state_dir: Path | None = None, ports: Sequence[int] | None = None
) -> Iterator[LocalCluster]:
    """Start a fresh 3-node cluster; stop it (every node) when the context exits.

    ``ports``: three client ports then three controller ports (default: six free ones).
    """
    ports = list(ports) if ports else _free_ports(6)
    if len(ports) != 6:
        raise ValueError(f"a cluster needs six ports (3 client, 3 controller), got {ports}")
    cluster = LocalCluster(
        state_dir or TEST_CLUSTER_DIR,
        (ports[0], ports[1], ports[2]),
        (ports[3], ports[4], ports[5]),
    )
    cluster._run("down")  # a cluster left behind by a killed session
    shutil.rmtree(cluster.state_dir, ignore_errors=True)
    try:
        cluster._run("up")
        deadline = time.monotonic() + START_TIMEOUT
        while cluster.live_brokers() != set(NODES):  # all three registered and unfenced
            if time.monotonic() > deadline:
                raise TimeoutError(f"only brokers {cluster.live_brokers()} are live")
            time.sleep(0.2)
        yield cluster
    finally:
        cluster._run("down")
