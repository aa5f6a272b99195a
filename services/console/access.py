"""Every case lookup, recorded before it is answered: who, with which role, what, and
whether personal data was shown. Ids and user names only, never what was shown.

On ``access-logged`` (``TopicAccessLog``), like every other reader of cases, so that an
auditor finds the console's reads where they find the rest. Where the stack has no such
topic, a local append-only JSON Lines file (``FileAccessLog``), fsynced line by line.
A lookup that could not be recorded is not answered.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from services.console.actions import Outgoing
from services.console.backends import Publisher
from services.runtime.access_log import access_event

CASE_ID = re.compile(r"^A[0-9]{8,9}$")


@dataclass(frozen=True)
class Access:
    at: datetime
    user: str
    role: str
    looked_up: str
    personal_data_shown: bool
    events_found: int
    group_ids: tuple[str, ...] = ()


class AccessRecorder(Protocol):
    async def record(self, access: Access) -> None:
        """Returns once the access is recorded; raises when it could not be."""


class TopicAccessLog:
    """Publishes ``access-logged`` and waits for the broker's acknowledgement."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher

    async def record(self, access: Access) -> None:
        envelope = access_event(
            principal=access.user,
            reader="console",
            view="/case",
            subject="case" if CASE_ID.match(access.looked_up) else "group",
            subject_id=access.looked_up,
            group_ids=access.group_ids,
            personal_data_shown=access.personal_data_shown,
            read_at=access.at,
        )
        await self.publisher.publish(Outgoing("access-logged", envelope))


class FileAccessLog:
    """One JSON line per lookup, appended and fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    async def record(self, access: Access) -> None:
        await asyncio.to_thread(self.append, access)

    def append(self, access: Access) -> None:
        document = {**asdict(access), "at": access.at.isoformat(), "group_ids": access.group_ids}
        line = json.dumps(document, ensure_ascii=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
