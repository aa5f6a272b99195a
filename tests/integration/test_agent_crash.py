"""Given an exception that escapes an agent while it holds a record, the worker ends
(docs/adr/0036) and, started again, handles that record and every record after it.

faust's default restarts the agent inside the process and goes on without the record
it held; a partition could then be left unread until the worker restarted."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from kafka import KafkaProducer

from services.runtime.context import Runtime
from tests.support.services import REPO_ROOT, free_port

VALUES = [f"record-{n}" for n in range(1, 4)] + ["poison"] + [f"record-{n}" for n in range(5, 9)]


def test_an_escaped_exception_ends_the_worker_and_loses_no_record(
    runtime: Runtime, tmp_path: Path
) -> None:
    _publish(runtime, VALUES)
    seen, marker = tmp_path / "seen.txt", tmp_path / "failed-once"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": runtime.settings.bootstrap_servers,
        "RETURNS_TOPIC_PREFIX": runtime.settings.topic_prefix,
        "RETURNS_WEB_PORT": str(free_port()),
        "RETURNS_STATE_DIR": str(tmp_path / "state"),
        "RETURNS_LOG_LEVEL": "info",
        "PROBE_SEEN": str(seen),
        "PROBE_MARKER": str(marker),
    }
    log = tmp_path / "worker.log"

    first = _start(env, log)
    try:
        returncode = first.wait(timeout=120)
    finally:
        first.kill()
    assert marker.exists(), log.read_text()[-3000:]
    assert returncode != 0, "the worker went on after its agent failed"
    assert "poison" not in _lines(seen)

    second = _start(env, log)
    try:
        deadline = time.monotonic() + 120
        while "record-8" not in _lines(seen) and time.monotonic() < deadline:
            assert second.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
    finally:
        second.terminate()
        second.wait(timeout=60)

    handled = _lines(seen)
    assert set(handled) == set(VALUES)  # at least once, the failed record included
    after = handled[handled.index("poison") :]
    assert after == VALUES[VALUES.index("poison") :]  # read again from the failed record on


def _publish(runtime: Runtime, values: list[str]) -> None:
    producer = KafkaProducer(bootstrap_servers=runtime.settings.bootstrap_servers, acks="all")
    topic = runtime.settings.topic("returns-inbound")
    for value in values:  # one partition, so that their order is the order they are read in
        producer.send(topic, value=value.encode(), key=b"probe", partition=0)
    producer.flush()
    producer.close()


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.crashing_worker", "worker"],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []
