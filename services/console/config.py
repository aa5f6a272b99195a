"""The console's settings, read once from the environment at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from services.runtime.settings import DEFAULT_WEB_PORTS, REPO_ROOT, WORK_DIR

CONSOLE_PORT = 8084
RUN_DIR = WORK_DIR / "run"


@dataclass(frozen=True)
class ConsoleConfig:
    """Where the console listens, whom it asks, and where its files are."""

    host: str = "127.0.0.1"
    port: int = CONSOLE_PORT
    users_file: Path = RUN_DIR / "console-users.toml"
    placement_url: str = f"http://127.0.0.1:{DEFAULT_WEB_PORTS['placement']}"
    notify_url: str = f"http://127.0.0.1:{DEFAULT_WEB_PORTS['notify']}"
    intake_url: str = f"http://127.0.0.1:{DEFAULT_WEB_PORTS['intake']}"
    access_log: Path = RUN_DIR / "console-access.jsonl"
    asyncapi_file: Path = REPO_ROOT / "docs" / "asyncapi.yaml"
    poll_seconds: float = 2.0
    charts_cache_seconds: float = 30.0

    @classmethod
    def from_env(cls) -> ConsoleConfig:
        env = os.environ.get
        port = env("RETURNS_CONSOLE_PORT") or env("RETURNS_WEB_PORT")
        return cls(
            host=env("RETURNS_WEB_HOST", cls.host),
            port=int(port) if port else cls.port,
            users_file=Path(env("RETURNS_CONSOLE_USERS_FILE", str(cls.users_file))),
            placement_url=env("RETURNS_CONSOLE_PLACEMENT_URL", cls.placement_url).rstrip("/"),
            notify_url=env("RETURNS_CONSOLE_NOTIFY_URL", cls.notify_url).rstrip("/"),
            intake_url=env("RETURNS_CONSOLE_INTAKE_URL", cls.intake_url).rstrip("/"),
            access_log=Path(env("RETURNS_CONSOLE_ACCESS_LOG", str(cls.access_log))),
            asyncapi_file=Path(env("RETURNS_CONSOLE_ASYNCAPI_FILE", str(cls.asyncapi_file))),
            poll_seconds=float(env("RETURNS_CONSOLE_POLL_SECONDS", str(cls.poll_seconds))),
        )
