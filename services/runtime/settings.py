"""Settings for every service, read once from the environment at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from services.runtime.security import ClientSecurity, SecuritySettingsError

REPO_ROOT = Path(__file__).resolve().parents[2]
WORK_DIR = REPO_ROOT / ".work"

# Each service's default web port: ops can run one of each on a machine without
# configuring anything. A second worker of the same service needs its own port.
DEFAULT_WEB_PORTS = {"intake": 8080, "screening": 8081, "placement": 8082, "notify": 8083}


class ConfigurationError(ValueError):
    """A setting or configuration file is wrong; the message names the fix."""


def positive_number(
    env: Mapping[str, str], name: str, default: float, problems: list[str], unit: str = ""
) -> float:
    """`name`'s value as a positive number, `default` when unset; a bad value is added to
    `problems` (so that a service names every bad setting at once) and gives `default`."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        problems.append(f"{name} must be a positive number{unit} (got {raw!r})")
        return default
    return value


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    """Configuration shared by the services.

    ``topic_prefix`` namespaces every topic and consumer group, so that several
    stacks (or tests) can share one cluster without seeing each other's events.
    """

    bootstrap_servers: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    topology_file: Path = REPO_ROOT / "infra" / "topics.toml"
    reference_dir: Path | None = None
    state_dir: Path = WORK_DIR / "state"
    web_host: str = "127.0.0.1"
    web_port: int | None = None
    worker_name: str = "1"
    group_wait_minutes: float = 10.0
    group_grace_seconds: float = 30.0
    log_level: str = "info"
    # How every Kafka client connects (services/runtime/security.py); plaintext by default.
    security: ClientSecurity = field(default_factory=ClientSecurity)
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        reference = os.environ.get("RETURNS_REFERENCE_DIR")
        port = os.environ.get("RETURNS_WEB_PORT")
        try:
            security = ClientSecurity.from_env()
        except SecuritySettingsError as exc:
            raise ConfigurationError(str(exc)) from None
        return cls(
            bootstrap_servers=_env("KAFKA_BOOTSTRAP_SERVERS", cls.bootstrap_servers),
            topic_prefix=_env("RETURNS_TOPIC_PREFIX", ""),
            topology_file=Path(_env("RETURNS_TOPOLOGY_FILE", str(cls.topology_file))),
            reference_dir=Path(reference) if reference else None,
            state_dir=Path(_env("RETURNS_STATE_DIR", str(cls.state_dir))),
            web_host=_env("RETURNS_WEB_HOST", cls.web_host),
            web_port=int(port) if port else None,
            worker_name=_env("RETURNS_WORKER_NAME", cls.worker_name),
            group_wait_minutes=float(_env("RETURNS_GROUP_WAIT_MINUTES", "10")),
            group_grace_seconds=float(_env("RETURNS_GROUP_GRACE_SECONDS", "30")),
            log_level=_env("RETURNS_LOG_LEVEL", cls.log_level),
            security=security,
        )

    def topic(self, name: str) -> str:
        """The physical name of contract topic ``name``."""
        return f"{self.topic_prefix}{name}"

    def port_for(self, service: str) -> int:
        return self.web_port if self.web_port is not None else DEFAULT_WEB_PORTS[service]
