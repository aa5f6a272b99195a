"""A secure broker of its own for the tests of the ACLs: TLS, SASL/SCRAM, StandardAuthorizer.

``secure_broker_for_tests()`` runs ``infra/kafka/secure.sh up`` (a fresh CA, the admin
user, the broker, every principal and the ACLs of ``services/runtime/acls.py``) on three
free ports, in ``<RETURNS_TEST_BROKER_DIR>-secure``, and ``secure.sh down`` afterwards.
It is always the jar broker: the secure config is the point of it.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from services.runtime.security import ClientSecurity, principal_env
from tests.support.broker import (
    REPO_ROOT,
    START_TIMEOUT_S,
    TEST_STATE_DIR,
    _free_ports,
    run_script,
)

SECURE_SH = REPO_ROOT / "infra" / "kafka" / "secure.sh"
BASE_DIR = TEST_STATE_DIR.with_name(TEST_STATE_DIR.name + "-secure")


@dataclass(frozen=True)
class SecureBroker:
    bootstrap_servers: str
    secure_dir: Path
    script_env: dict[str, str] = field(repr=False, default_factory=dict)

    def secure_sh(self, *args: str) -> str:
        """Run ``infra/kafka/secure.sh`` against this broker, as an operator would."""
        return _secure_sh(list(args), self.script_env)

    def env(self, principal: str) -> dict[str, str]:
        """What a service process needs in its environment to connect as ``principal``."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            **principal_env(self.secure_dir, principal),
        }

    def log_text(self) -> str:
        """The broker's log so far (it records every failed authentication)."""
        return (BASE_DIR / "broker" / "broker.log").read_text(errors="replace")

    def security(self, principal: str) -> ClientSecurity:
        return ClientSecurity.from_env(principal_env(self.secure_dir, principal))

    def impostor(self, principal: str) -> ClientSecurity:
        """``principal``'s name with a wrong password."""
        return ClientSecurity(
            "SASL_SSL",
            username=principal,
            password="not-the-password",
            cafile=self.secure_dir / "ca.crt",
        )


def _secure_sh(args: list[str], env: dict[str, str]) -> str:
    return run_script(SECURE_SH, args, env)


@contextmanager
def secure_broker_for_tests() -> Iterator[SecureBroker]:
    port, controller_port, internal_port = _free_ports(3)
    secure_dir = BASE_DIR / "secure"
    env = {
        **os.environ,
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(controller_port),
        "KAFKA_INTERNAL_PORT": str(internal_port),
        "KAFKA_STATE_DIR": str(BASE_DIR / "broker"),
        "KAFKA_SECURE_DIR": str(secure_dir),
        "KAFKA_START_TIMEOUT": str(START_TIMEOUT_S),
        "RETURNS_TOPIC_PREFIX": "",
        "PYTHON": os.environ.get("PYTHON", sys.executable),
    }
    _secure_sh(["down"], env)  # a broker left behind by a killed session
    shutil.rmtree(BASE_DIR, ignore_errors=True)
    try:
        sys.stderr.write(_secure_sh(["up"], env))
        yield SecureBroker(f"127.0.0.1:{port}", secure_dir, env)
    finally:
        _secure_sh(["down"], env)
