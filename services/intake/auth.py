"""Bearer tokens per upstream source, kept only as SHA-256 hashes.

The token file (``RETURNS_INTAKE_TOKENS_FILE``) is TOML::

    [sources]
    cbp-elp = "sha256:9f86d0818..."

``returns intake-token SOURCE`` makes a token and prints the line to add. The file is
re-read whenever it changes (:class:`TokenFile`), so a token is rotated by editing the
file: add the new hash, let the source switch, remove the old one. No restart.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from services.runtime.settings import ConfigurationError

log = logging.getLogger(__name__)

# RFC 6750's b64token: anything else (spaces, controls, non-ASCII) is no token at all.
_CREDENTIALS = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*) *", re.ASCII)


class TokenFileError(ConfigurationError):
    pass


def hash_token(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def presented_token(authorization: str | None) -> str | None:
    """The token of ``Authorization: Bearer <token>``; the scheme is case-insensitive."""
    found = _CREDENTIALS.fullmatch(authorization) if authorization else None
    return found.group(1) if found else None


@dataclass(frozen=True)
class TokenRegistry:
    hashes: dict[str, str]  # source -> "sha256:<hex>"

    @classmethod
    def from_file(cls, path: Path) -> TokenRegistry:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            # The decoder's message names a line and column, never the file's text.
            raise TokenFileError(f"{path}: cannot read intake tokens: {exc}") from None
        sources = raw.get("sources", {})
        if not isinstance(sources, dict):
            raise TokenFileError(f"{path}: [sources] must be a table of source = hash")
        bad = [
            s for s, h in sources.items() if not (isinstance(h, str) and h.startswith("sha256:"))
        ]
        if bad:
            raise TokenFileError(
                f"{path}: token hashes must start with 'sha256:' ({', '.join(bad)})"
            )
        return cls(dict(sources))

    def source_for(self, authorization: str | None) -> str | None:
        """The source whose token is in ``Authorization: Bearer <token>``, else None.

        Every stored hash is compared, in constant time, whatever matches first,
        so response timing says nothing about which sources or tokens exist.
        """
        token = presented_token(authorization)
        if token is None:
            return None
        presented = hash_token(token)
        found = None
        for source, stored in self.hashes.items():
            if hmac.compare_digest(presented.encode(), stored.encode()):
                found = source
        return found


class TokenFile:
    """The token file's current registry, re-read when the file changes.

    A change is seen by the file's modification time, size and inode, checked on each
    request (one ``stat``), so an edit in place and an atomic rename both count. A file
    that cannot be read, or is half-written, keeps the tokens that were valid before:
    rotating never locks every source out.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._signature = self._stat()
        self._registry = TokenRegistry.from_file(path)  # unreadable at start: fail loudly

    def source_for(self, authorization: str | None) -> str | None:
        return self.current().source_for(authorization)

    def current(self) -> TokenRegistry:
        signature = self._stat()
        if signature is not None and signature != self._signature:
            self._signature = signature
            try:
                self._registry = TokenRegistry.from_file(self.path)
            except TokenFileError as exc:
                log.warning("intake tokens not reloaded, the previous ones stay valid: %s", exc)
            else:
                log.info("intake tokens reloaded: %d sources", len(self._registry.hashes))
        return self._registry

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            found = os.stat(self.path)
        except OSError:
            return None
        return (found.st_mtime_ns, found.st_size, found.st_ino)
