"""A table whose entries are deleted a retention after they were last written.

Intake's idempotency table, and notify's memory of what each input caused and of its
groups, are read by key only and were never deleted. Each is now wrapped in a
`RetainedTable`: every write also writes "<partition> <time>" under the same key in a
second table (``expiry``, changelog-backed like the first), and an index of those lines
(`Deadlines`, built again after an assignment; on disk in a worker whose tables are)
finds the due ones without reading the others. The agent that owns the table says
which partition and time it is handling (`at`) before it writes, and removes what is
due there (`expire_due`) while it handles that partition's events, so that every
write, tombstones included, stays in the owning partition (docs/adr/0032, 0039, 0045).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.runtime.due import open_line
from services.runtime.due_on_disk import due_index

Table = MutableMapping[str, bytes]


def always(value: bytes) -> bool:
    """Every entry expires."""
    return True


class RetainedTable(MutableMapping[str, bytes]):
    """`entries`, each kept `keep` after its latest write, while `expires(value)` says
    it may expire at all (an entry written with a value that may not is kept until a
    later write says otherwise). The index is kept on disk at `index_at`, if given
    (`services.runtime.due_on_disk`)."""

    def __init__(
        self,
        entries: Table,
        expiry: Table,
        keep: timedelta,
        expires: Callable[[bytes], bool] = always,
        index_at: Path | None = None,
    ) -> None:
        self.entries = entries
        self.expiry = expiry
        self.keep = keep
        self.expires = expires
        self.index = due_index(expiry, index_at)
        self._partition = 0
        self._now = datetime.now(UTC)

    def at(self, partition: int, now: datetime) -> None:
        """The event being handled was read on `partition`; what it writes is kept from
        `now`."""
        self._partition, self._now = partition, now

    def expire_due(self, partition: int, now: datetime, limit: int | None = None) -> int:
        """Delete the entries of `partition` kept past `keep` by `now`, at most `limit`
        (the rest on the next calls); how many."""
        forgotten = 0
        for key in self.index.due(partition, now):
            if limit is not None and forgotten >= limit:
                break
            self.entries.pop(key, None)
            self.expiry.pop(key, None)
            self.index.closed(key)
            forgotten += 1
        return forgotten

    def forget_index(self) -> None:
        """Partitions were assigned: rebuild the index from `expiry` on its next use."""
        self.index.forget()

    def __getitem__(self, key: str) -> bytes:
        return self.entries[key]

    def __setitem__(self, key: str, value: bytes) -> None:
        self.entries[key] = value
        if self.expires(value):
            until = self._now + self.keep
            self.expiry[key] = open_line(self._partition, until)
            self.index.opened(key, self._partition, until)
        elif key in self.expiry:
            del self.expiry[key]
            self.index.closed(key)

    def __delitem__(self, key: str) -> None:
        del self.entries[key]
        self.expiry.pop(key, None)
        self.index.closed(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)
