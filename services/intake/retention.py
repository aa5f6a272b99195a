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

from collections.abc import Mapping
from datetime import timedelta

from services.runtime.retained import RetainedTable
from services.runtime.settings import ConfigurationError, positive_number

KEEP_DAYS = 35.0


def retain_for(env: Mapping[str, str]) -> timedelta:
    """``RETURNS_INTAKE_RETAIN_DAYS``: how long an accepted submission is remembered."""
    problems: list[str] = []
    days = positive_number(env, "RETURNS_INTAKE_RETAIN_DAYS", KEEP_DAYS, problems, " of days")
    if problems:
        raise ConfigurationError("; ".join(problems))
    return timedelta(days=days)


class RetainedSubmissions(RetainedTable):
    """The idempotency table, each entry kept ``keep`` after it was written.

    ``expiry`` holds "<partition> <time>" per entry (a changelog-backed table in the
    service). Before each submission the agent says which partition and time it is
    handling (`at`) and removes what is due there (`expire_due`), so that the table's
    writes stay in the owning partition and an expired entry is never consulted by the
    agent (`services.runtime.retained`).
    """
