"""One intake process on the test broker, with a bearer token file it re-reads."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from services.intake.auth import hash_token, new_token
from services.runtime.context import Runtime
from tests.support.kafka import Record, read_topic, scratch_runtime
from tests.support.services import ServiceProcess

JSON = "application/json"


@dataclass
class Intake:
    runtime: Runtime
    process: ServiceProcess
    tokens_file: Path
    token: str  # cbp-elp's

    @property
    def url(self) -> str:
        return self.process.url

    def post(
        self, body: bytes, content_type: str | None = JSON, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        return httpx.post(f"{self.url}/v1/returns", content=body, headers=headers, timeout=10)

    def rejections_of(self, body: bytes) -> list[Any]:
        """The rejections recorded for ``body`` (its first bytes, when it was too large)."""

        def of_body(records: list[Record]) -> list[Any]:
            events = {r.event().event_id: r.event().data for r in records}  # one per event_id
            return [
                data
                for data in events.values()
                if data.original_size == len(body)
                and body.startswith(base64.b64decode(data.original_base64))
            ]

        records = read_topic(
            self.runtime.settings,
            "intake-rejected",
            until=lambda rs: bool(of_body(rs)),
            timeout=30,
            settle=1.0,
        )
        return of_body(records)

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200

    def metrics(self) -> str:
        return httpx.get(f"{self.url}/metrics", timeout=5).text


def write_tokens(path: Path, **tokens: str) -> None:
    lines = "".join(f'{source} = "{hash_token(token)}"\n' for source, token in tokens.items())
    path.write_text("[sources]\n" + lines)


@contextmanager
def running_intake(bootstrap: str, workdir: Path) -> Iterator[Intake]:
    """Intake alone, on its own topics, logging at debug level; a token for ``cbp-elp``."""
    token = new_token()
    tokens_file = workdir / "tokens.toml"
    write_tokens(tokens_file, **{"cbp-elp": token})
    with scratch_runtime(bootstrap) as runtime:
        process = ServiceProcess(
            "intake",
            runtime,
            workdir / "intake.log",
            env_extra={
                "RETURNS_INTAKE_TOKENS_FILE": str(tokens_file),
                "RETURNS_LOG_LEVEL": "debug",
            },
        )
        process.start()
        try:
            yield Intake(runtime, process, tokens_file, token)
        finally:
            process.kill()
