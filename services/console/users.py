"""Console users, their roles and their secrets, kept only as hashes.

The users file (``RETURNS_CONSOLE_USERS_FILE``) is TOML, one table per user::

    [users.ana]
    role = "inm"
    password = "scrypt:16384:8:1:<salt hex>:<hash hex>"
    token = "sha256:<hex>"          # optional: a bearer token for scripts
    locations = ["CJS"]             # optional: the locations this user may act on

Passwords are for people (a session cookie after ``/login``); tokens are for tools
(``Authorization: Bearer``), hashed like intake's. ``python -m services.console user
NAME ROLE`` makes both and prints the table to add.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from services.console.roles import ROLES, Role
from services.intake.auth import hash_token, presented_token
from services.runtime.settings import ConfigurationError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 16384, 8, 1
# What `access-logged` takes as a principal, and `changed_by` as a name (64 at most).
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9@._:/+-]{0,63}$")


class UsersFileError(ConfigurationError):
    pass


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt:N:r:p:salt:hash``: slow to guess, and the file names its parameters."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}:{salt.hex()}:{digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split(":")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected)


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    password_hash: str | None
    token_hash: str | None
    locations: frozenset[str] | None  # None: every location

    def may_act_on(self, location: str) -> bool:
        return self.locations is None or location in self.locations


# Compared against when the user name is unknown, so timing does not reveal which exist.
_DECOY = hash_password("decoy", salt=b"\0" * 16)


@dataclass(frozen=True)
class UserDirectory:
    users: dict[str, User]

    @classmethod
    def from_file(cls, path: Path) -> UserDirectory:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise UsersFileError(f"{path}: cannot read console users: {exc}") from None
        users = {}
        for name, entry in raw.get("users", {}).items():
            users[name] = _user(path, name, entry)
        if not users:
            raise UsersFileError(f"{path}: no [users.NAME] table (make tokens writes one)")
        return cls(users)

    def by_password(self, name: str, password: str) -> User | None:
        user = self.users.get(name)
        stored = user.password_hash if user and user.password_hash else _DECOY
        matches = password_matches(password, stored)
        return user if user is not None and user.password_hash and matches else None

    def by_bearer(self, authorization: str | None) -> User | None:
        """The user whose token is in ``Authorization: Bearer <token>``; every hash compared."""
        token = presented_token(authorization)  # the scheme name is case-insensitive
        if token is None:
            return None
        presented = hash_token(token).encode()
        found = None
        for user in self.users.values():
            if user.token_hash and hmac.compare_digest(presented, user.token_hash.encode()):
                found = user
        return found


def _user(path: Path, name: str, entry: object) -> User:
    if not USER_NAME.match(name):
        raise UsersFileError(
            f"{path}: users.{name}: a user name is letters, digits and @._:/+- (64 at most)"
        )
    if not isinstance(entry, dict):
        raise UsersFileError(f"{path}: users.{name} must be a table")
    role = entry.get("role")
    if role not in ROLES:
        raise UsersFileError(f"{path}: users.{name}: role must be one of {', '.join(ROLES)}")
    password, token = entry.get("password"), entry.get("token")
    if password is not None and not (isinstance(password, str) and password.startswith("scrypt:")):
        raise UsersFileError(f"{path}: users.{name}: password must be a 'scrypt:' hash")
    if token is not None and not (isinstance(token, str) and token.startswith("sha256:")):
        raise UsersFileError(f"{path}: users.{name}: token must be a 'sha256:' hash")
    if password is None and token is None:
        raise UsersFileError(f"{path}: users.{name}: needs a password or a token")
    locations = entry.get("locations")
    if locations is not None and not (
        isinstance(locations, list) and all(isinstance(code, str) for code in locations)
    ):
        raise UsersFileError(f"{path}: users.{name}: locations must be a list of codes")
    return User(
        name,
        cast(Role, role),
        password,
        token,
        frozenset(cast(list[str], locations)) if locations is not None else None,
    )


def user_entry(name: str, role: Role, password: str, token: str | None = None) -> str:
    """The TOML table for one user, secrets hashed."""
    lines = [f"[users.{name}]", f'role = "{role}"', f'password = "{hash_password(password)}"']
    if token is not None:
        lines.append(f'token = "{hash_token(token)}"')
    return "\n".join(lines) + "\n"
