"""The key-encryption keys (KEKs): a small TOML file outside Kafka, named by ``RETURNS_KEK_FILE``.

```toml
current = "kek-20261201-3f2a"      # wraps every new data key
[keks]
kek-20261201-3f2a = "<32 bytes, base64>"
kek-20260601-9c01 = "<...>"        # older: still unwraps keys not yet re-wrapped
```

Rotation (docs/adr/0021): `returns keys new-kek` adds a KEK and makes it current, `returns
keys rewrap` re-wraps every live data key with it, then `returns keys retire` drops the
older KEKs. Data is never re-encrypted: only the wrapping of its keys changes.

Without ``RETURNS_KEK_FILE`` the development file ``.work/keys/kek.toml`` is used, and
made on first use (`make kek` makes it too); a KEK file that is named but missing is an
error, never silently replaced.
"""

from __future__ import annotations

import base64
import contextlib
import os
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from services.keys.crypto import KEY_BYTES, new_key
from services.runtime.settings import WORK_DIR, ConfigurationError

DEV_KEK_FILE = WORK_DIR / "keys" / "kek.toml"


def kek_file() -> Path:
    """The KEK file this process uses."""
    named = os.environ.get("RETURNS_KEK_FILE")
    return Path(named) if named else DEV_KEK_FILE


@dataclass
class Keyring:
    """The KEKs of one file; an unknown KEK id re-reads the file (a rotation meanwhile)."""

    path: Path
    current_id: str
    keks: dict[str, bytes]

    @classmethod
    def load(cls, path: Path | None = None) -> Keyring:
        path = path or kek_file()
        if not path.exists():
            if path != DEV_KEK_FILE:
                raise ConfigurationError(
                    f"RETURNS_KEK_FILE names {path}, which does not exist; make one with "
                    "`returns keys new-kek` (or point RETURNS_KEK_FILE at the right file)"
                )
            ensure_kek_file(path)
        current, keks = _read(path)
        return cls(path, current, keks)

    def current(self) -> tuple[str, bytes]:
        return self.current_id, self.keks[self.current_id]

    def get(self, kek_id: str) -> bytes | None:
        """The KEK ``kek_id``, or None when the file (re-read) does not hold it."""
        if kek_id not in self.keks:
            self.current_id, self.keks = _read(self.path)
        return self.keks.get(kek_id)


def ensure_kek_file(path: Path) -> Path:
    """Make a KEK file with one new KEK, unless one exists (safe against a concurrent maker)."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    kek_id = _new_kek_id()
    _write_new(path, kek_id, {kek_id: new_key()})
    return path


def add_kek(path: Path) -> str:
    """Add a new KEK to the file and make it current; returns its id."""
    _, keks = _read(path)
    kek_id = _new_kek_id()
    keks = {kek_id: new_key(), **keks}
    _replace(path, kek_id, keks)
    return kek_id


def retire_others(path: Path) -> list[str]:
    """Drop every KEK but the current one (after `rewrap`); returns the ids dropped."""
    current, keks = _read(path)
    dropped = sorted(k for k in keks if k != current)
    _replace(path, current, {current: keks[current]})
    return dropped


def _new_kek_id() -> str:
    return f"kek-{datetime.now(UTC):%Y%m%d}-{os.urandom(2).hex()}"


def _read(path: Path) -> tuple[str, dict[str, bytes]]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        keks = {name: base64.b64decode(value, validate=True) for name, value in raw["keks"].items()}
        current = str(raw["current"])
    except (OSError, tomllib.TOMLDecodeError, KeyError, ValueError, TypeError) as exc:
        problem = type(exc).__name__
        raise ConfigurationError(f"{path}: not a readable KEK file ({problem})") from None
    if current not in keks or any(len(k) != KEY_BYTES for k in keks.values()):
        raise ConfigurationError(f"{path}: the current KEK is missing or a KEK is not 32 bytes")
    return current, keks


def _render(current: str, keks: dict[str, bytes]) -> str:
    lines = [
        "# Key-encryption keys for personal data (docs/DATA-PROTECTION.md). Keep it secret.",
        f'current = "{current}"',
        "[keks]",
        *(f'{name} = "{base64.b64encode(key).decode()}"' for name, key in keks.items()),
    ]
    return "\n".join(lines) + "\n"


def _write_new(path: Path, current: str, keks: dict[str, bytes]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.new")
    temporary.write_text(_render(current, keks), encoding="utf-8")
    temporary.chmod(0o600)
    try:
        os.link(temporary, path)  # fails if another process made it first: theirs stands
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _replace(path: Path, current: str, keks: dict[str, bytes]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.new")
    temporary.write_text(_render(current, keks), encoding="utf-8")
    temporary.chmod(0o600)
    os.replace(temporary, path)
