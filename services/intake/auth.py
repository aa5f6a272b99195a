"""Bearer tokens per upstream source, kept only as SHA-256 hashes.

The token file (``RETURNS_INTAKE_TOKENS_FILE``) is TOML::

    [sources]
    cbp-elp = "sha256:9f86d0818..."

``returns intake-token SOURCE`` makes a token and prints the line to add.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from services.runtime.settings import ConfigurationError


class TokenFileError(ConfigurationError):
    pass


def hash_token(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class TokenRegistry:
    hashes: dict[str, str]  # source -> "sha256:<hex>"

    @classmethod
    def from_file(cls, path: Path) -> TokenRegistry:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise TokenFileError(f"{path}: cannot read intake tokens: {exc}") from None
        sources = raw.get("sources", {})
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
        if not authorization or not authorization.startswith("Bearer "):
            return None
        presented = hash_token(authorization.removeprefix("Bearer ").strip())
        found = None
        for source, stored in self.hashes.items():
            if hmac.compare_digest(presented.encode(), stored.encode()):
                found = source
        return found
