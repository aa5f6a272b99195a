"""Login sessions, held in this process's memory.

A session id is 32 random bytes in an ``HttpOnly``, ``SameSite=Strict`` cookie; it
lasts ``ttl`` seconds from the last request. Each session has its own CSRF token,
which every form carries: a page from another site cannot post as the user.
Restarting the console logs everyone out, which is acceptable for a staff console.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from services.console.users import User

COOKIE = "returns_console_session"
DEFAULT_TTL = 8 * 3600.0


@dataclass
class Session:
    user: User
    csrf: str
    expires: float
    flash: list[str] = field(default_factory=list)  # shown once, on the next page


@dataclass
class SessionStore:
    ttl: float = DEFAULT_TTL
    clock: Callable[[], float] = time.monotonic
    _sessions: dict[str, Session] = field(default_factory=dict)

    def open(self, user: User) -> tuple[str, Session]:
        self._drop_expired()
        sid = secrets.token_urlsafe(32)
        session = Session(user, secrets.token_urlsafe(24), self.clock() + self.ttl)
        self._sessions[sid] = session
        return sid, session

    def get(self, sid: str | None) -> Session | None:
        session = self._sessions.get(sid or "")
        if session is None:
            return None
        now = self.clock()
        if session.expires <= now:
            del self._sessions[sid or ""]
            return None
        session.expires = now + self.ttl
        return session

    def close(self, sid: str | None) -> None:
        self._sessions.pop(sid or "", None)

    def _drop_expired(self) -> None:
        now = self.clock()
        for sid in [s for s, session in self._sessions.items() if session.expires <= now]:
            del self._sessions[sid]


def csrf_ok(session: Session, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(session.csrf, presented)
