"""How long intake remembers a submission it accepted: ``RETURNS_INTAKE_RETAIN_DAYS``.

The idempotency table (``submissions``: ``source\\x1fsubmission_id`` -> the accepted
record's event id, digest, case and group) used to grow with every submission ever
accepted. Each entry is now kept ``RETURNS_INTAKE_RETAIN_DAYS`` (35) after it was
written, longer than ``returns-inbound`` keeps a raw submission (30 days), so that
intake re-reading ``returns-inbound`` after an outage still recognises everything on it.

After that, a re-sent submission is accepted again, and published under the same
event id (it is derived from ``source`` and ``submission_id`` alone): screening already
holds that event, so the group gets no second decision, and the first version stands
even when the re-sent content differs; only the ``conflicting_resubmission`` record on
``intake-rejected`` is no longer written. A correction of a forgotten submission is
accepted without the identity check, as one of an unknown submission always was
(docs/adr/0015-corrections.md, docs/adr/0032-persistent-state-and-retention.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from datetime import UTC, datetime, timedelta

from services.runtime.settings import ConfigurationError, positive_number
from services.screening.deadlines import Deadlines, open_line

KEEP_DAYS = 35.0


def retain_for(env: Mapping[str, str]) -> timedelta:
    """``RETURNS_INTAKE_RETAIN_DAYS``: how long an accepted submission is remembered."""
    problems: list[str] = []
    days = positive_number(env, "RETURNS_INTAKE_RETAIN_DAYS", KEEP_DAYS, problems, " of days")
    if problems:
        raise ConfigurationError("; ".join(problems))
    return timedelta(days=days)


class RetainedSubmissions(MutableMapping[str, bytes]):
    """The idempotency table, each entry kept ``keep`` after it was written.

    ``expiry`` holds "<partition> <time>" per entry (a changelog-backed table in the
    service), indexed in memory like screening's deadlines. Before each submission the
    agent says which partition and time it is handling (`at`) and removes what is due
    there (`expire_due`), so that the table's writes stay in the owning partition and an
    expired entry is never consulted by the agent.
    """

    def __init__(
        self,
        entries: MutableMapping[str, bytes],
        expiry: MutableMapping[str, bytes],
        keep: timedelta,
    ) -> None:
        self.entries = entries
        self.expiry = expiry
        self.keep = keep
        self.index = Deadlines(expiry)
        self._partition = 0
        self._now = datetime.now(UTC)

    def at(self, partition: int, now: datetime) -> None:
        """The submission being handled was read on ``partition`` at ``now``."""
        self._partition, self._now = partition, now

    def expire_due(self, partition: int, now: datetime) -> int:
        """Forget the entries of ``partition`` kept past ``keep``; how many."""
        forgotten = 0
        for key in self.index.due(partition, now):
            self.entries.pop(key, None)
            self.expiry.pop(key, None)
            self.index.closed(key)
            forgotten += 1
        return forgotten

    def forget_index(self) -> None:
        """Partitions were assigned: rebuild the index from ``expiry`` on its next use."""
        self.index.forget()

    def __getitem__(self, key: str) -> bytes:
        return self.entries[key]

    def __setitem__(self, key: str, value: bytes) -> None:
        self.entries[key] = value
        until = self._now + self.keep
        self.expiry[key] = open_line(self._partition, until)
        self.index.opened(key, self._partition, until)

    def __delitem__(self, key: str) -> None:
        del self.entries[key]
        self.expiry.pop(key, None)
        self.index.closed(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)
