"""Shared set-up for tests that run intake and screening together on the real broker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from services.intake.auth import hash_token, new_token
from services.runtime.context import Runtime
from tests.support.kafka import Record, read_topic
from tests.support.services import ServiceProcess


@dataclass
class Stack:
    runtime: Runtime
    intake: ServiceProcess
    screening: ServiceProcess
    tokens: dict[str, str]  # source -> bearer token

    def read(
        self, topic: str, count: int, timeout: float = 45.0, settle: float = 0.0
    ) -> list[Record]:
        return read_topic(
            self.runtime.settings,
            topic,
            until=lambda r: len(r) >= count,
            timeout=timeout,
            settle=settle,
        )

    def events(self, topic: str, count: int, **kwargs: Any) -> list[Any]:
        return [record.event() for record in self.read(topic, count, **kwargs)]

    def events_for(
        self, topic: str, key: str, at_least: int = 1, timeout: float = 45.0, settle: float = 0.0
    ) -> list[Any]:
        """Events of ``topic`` keyed ``key``: wait for ``at_least``, then ``settle`` seconds."""
        records = read_topic(
            self.runtime.settings,
            topic,
            until=lambda rs: sum(r.key == key.encode() for r in rs) >= at_least,
            timeout=timeout,
            settle=settle,
        )
        return [r.event() for r in records if r.key == key.encode()]

    def post(self, record: dict[str, Any] | bytes, source: str = "cbp-elp") -> httpx.Response:
        body = record if isinstance(record, bytes) else dump(record)
        headers = {
            "Authorization": f"Bearer {self.tokens[source]}",
            "Content-Type": "application/json",
        }
        return httpx.post(
            f"{self.intake.url}/v1/returns", content=body, headers=headers, timeout=10
        )


@contextmanager
def running_stack(runtime: Runtime, workdir: Path, wait_minutes: str = "0.25") -> Iterator[Stack]:
    """intake and screening as real processes, with a bearer token per upstream source."""
    issued = {source: new_token() for source in ("cbp-elp", "cbp-san", "inm-desk")}
    tokens = workdir / "tokens.toml"
    lines = "".join(f'{source} = "{hash_token(token)}"\n' for source, token in issued.items())
    tokens.write_text("[sources]\n" + lines)
    intake = ServiceProcess(
        "intake",
        runtime,
        workdir / "intake.log",
        env_extra={"RETURNS_INTAKE_TOKENS_FILE": str(tokens)},
    )
    screening = ServiceProcess(
        "screening",
        runtime,
        workdir / "screening.log",
        env_extra={"RETURNS_GROUP_WAIT_MINUTES": wait_minutes, "RETURNS_GROUP_GRACE_SECONDS": "2"},
    )
    intake.start(wait=False)
    screening.start(wait=False)
    try:
        intake.wait_ready()
        screening.wait_ready()
        yield Stack(runtime, intake, screening, issued)
    finally:
        intake.kill()
        screening.kill()


def dump(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode()
