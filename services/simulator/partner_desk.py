"""The simulated partners' desk: which reports are due, to whom, and what came of them.

No I/O: requests come in (`learn`, from `legal-aid-requested`), withdrawals too
(`withdrawn`, from `request-updated`), and `due(now)` hands out the reports whose
moment has come, in time order, each signed later by the partner serving the
request's provider. `settle` records notify's answer: a request withdrawn, replaced or
closed (409) takes no more reports; a request notify does not know yet (404) or an
answer that did not come (a transport error, 5xx) is tried again a little later, up
to `MAX_TRIES` times.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.simulator.partners import PartnerBehaviour, Status, plan, real_moment

MAX_TRIES = 5
RETRY_AFTER = timedelta(seconds=2)
DECLINE_CODE = "NO_CAPACITY"


@dataclass(frozen=True, order=True)
class DueReport:
    """One report: on request `event_id`, `status` happened at `status_at`."""

    status_at: datetime
    event_id: str
    status: Status
    partner_id: str
    tries: int = 0
    send_at: datetime | None = field(default=None, compare=False)

    def body(self) -> dict[str, str | None]:
        """The JSON body of `POST /v1/requests/{event_id}/status`."""
        moment = self.status_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        reason = DECLINE_CODE if self.status == "declined" else None
        return {"status": self.status, "status_at": moment, "reason_code": reason}


@dataclass
class DeskStats:
    """Requests seen and reports sent, by what notify answered."""

    requests: int = 0
    not_served: int = 0
    silent: int = 0
    answers: Counter[str] = field(default_factory=Counter)  # "accepted 202", ...
    stopped: int = 0  # requests withdrawn or refused (409) before their last report


class PartnerDesk:
    """Plans each request's reports once, and hands them out when due."""

    def __init__(self, behaviour: PartnerBehaviour, seed: int, serving: Mapping[str, str]) -> None:
        self.behaviour = behaviour
        self.seed = seed
        self.serving = dict(serving)  # provider id -> partner id
        self.stats = DeskStats()
        self._queue: list[tuple[datetime, DueReport]] = []
        self._seen: set[str] = set()
        self._stopped: set[str] = set()
        self._retrying: set[str] = set()  # requests whose earlier report is tried again

    @property
    def waiting(self) -> int:
        """Reports still to send."""
        return len(self._queue)

    def learn(self, event_id: str, provider_id: str, issued_at: datetime) -> bool:
        """Plan a request's reports (once); False when seen before or no partner serves it."""
        if event_id in self._seen:
            return False
        self._seen.add(event_id)
        self.stats.requests += 1
        partner = self.serving.get(provider_id)
        if partner is None:
            self.stats.not_served += 1
            return False
        steps = plan(event_id, self.behaviour, self.seed)
        if not steps:
            self.stats.silent += 1
        for step in steps:
            at = real_moment(issued_at, step.after, self.behaviour.clock_scale)
            report = DueReport(at, event_id, step.status, partner)
            heapq.heappush(self._queue, (at, report))
        return True

    def withdrawn(self, event_id: str) -> None:
        """A withdrawn request takes no more reports."""
        self._stop(event_id)

    def due(self, now: datetime) -> list[DueReport]:
        """The reports due at `now`, in time order, at most one a request (the next one
        waits for the answer to this one); a stopped request's are dropped."""
        found: list[DueReport] = []
        held: list[tuple[datetime, DueReport]] = []
        later: list[DueReport] = []
        while self._queue and self._queue[0][0] <= now:
            at, report = heapq.heappop(self._queue)
            if report.event_id in self._stopped:
                continue
            if report.tries == 0 and report.event_id in self._retrying:
                later.append(report)  # in order: after the report being retried
            elif any(r.event_id == report.event_id for r in found):
                held.append((at, report))  # one a call: the next waits for this one's answer
            else:
                found.append(report)
        for entry in held:
            heapq.heappush(self._queue, entry)
        for report in later:
            heapq.heappush(self._queue, (now + RETRY_AFTER, report))
        return found

    def next_due(self) -> datetime | None:
        return self._queue[0][0] if self._queue else None

    def settle(self, report: DueReport, code: int | None, now: datetime) -> None:
        """Record notify's answer (`code` None: no answer); retry or stop as it says."""
        self.stats.answers[f"{report.status} {code if code is not None else 'no answer'}"] += 1
        if code in (200, 202):
            self._retrying.discard(report.event_id)
            return
        if (code is None or code == 404 or code >= 500) and report.tries + 1 < MAX_TRIES:
            retry = DueReport(
                report.status_at, report.event_id, report.status, report.partner_id,
                report.tries + 1, now + RETRY_AFTER,
            )  # fmt: skip
            heapq.heappush(self._queue, (now + RETRY_AFTER, retry))
            self._retrying.add(report.event_id)
            return
        self._stop(report.event_id)  # refused: a later report would be refused too

    def _stop(self, event_id: str) -> None:
        self._retrying.discard(event_id)
        if event_id not in self._stopped:
            self._stopped.add(event_id)
            if any(r.event_id == event_id for _, r in self._queue):
                self.stats.stopped += 1
