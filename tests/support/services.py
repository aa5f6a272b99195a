"""Run the project's services as real processes against the test broker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.runtime.context import Runtime

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceProcess:
    """One worker of a service; ``restart()`` keeps its port, state dir and name."""

    service: str
    runtime: Runtime
    log_path: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    worker_name: str = "1"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        settings = self.runtime.settings
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "RETURNS_TOPIC_PREFIX": settings.topic_prefix,
            "RETURNS_WEB_PORT": str(self.port),
            "RETURNS_WORKER_NAME": self.worker_name,
            "RETURNS_STATE_DIR": str(self.log_path.parent / "state"),
            "RETURNS_LOG_LEVEL": "info",
            **self.env_extra,
        }

    def start(self, wait: bool = True) -> ServiceProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.service}", "worker"],
            cwd=REPO_ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.service} exited: {self.tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.service} not ready after {timeout} s: {self.tail()}")

    def stop(self, timeout: float = 30.0) -> None:
        """A graceful stop (SIGTERM): faust commits offsets and flushes tables."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """A crash (SIGKILL): nothing is flushed or committed."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
