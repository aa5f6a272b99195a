"""What a directory's files hold, for tests that check that a value left the disk."""

from __future__ import annotations

from pathlib import Path


def in_files(path: Path, value: bytes) -> bool:
    """Whether any file directly in `path` (a RocksDB database's) contains `value`."""
    return any(value in file.read_bytes() for file in path.iterdir() if file.is_file())
