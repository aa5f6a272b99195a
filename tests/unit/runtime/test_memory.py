"""Freed heap handed back after a worker's first read of a large key topic."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from services.runtime import memory


def _rss_pages() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_the_heap_freed_by_many_small_objects_goes_back_to_the_system() -> None:
    memory.release_free_memory()
    before = _rss_pages()
    # 60 MB of 600-byte buffers (past Python's small-object allocator, so from malloc),
    # one in 20 kept: the freed ones leave holes below the kept that the heap's top
    # cannot shed, as a key topic's records read and dropped do.
    chunks = [bytearray(600) for _ in range(100_000)]
    kept = chunks[::20]
    del chunks
    grown = _rss_pages()
    assert memory.release_free_memory() is True
    released_mb = (grown - _rss_pages()) * 4096 / 1e6
    assert released_mb > 20, f"{released_mb:.1f} MB released of about 57 MB freed"
    assert len(kept) == 5_000
    assert grown > before
