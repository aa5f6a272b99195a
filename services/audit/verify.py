"""`returns audit verify`: re-derive every decision of the recorded history from its inputs.

One pass over the log in log order (`services.audit.events`), each event once:

- screening: each `screened` event is re-run with the rule set it names, on the
  `person-returned` events it decided on (`assembly`, `screening_check`); each group's
  decisions form one chain, the last one live, covering every member that arrived, in
  its current record, and the gathering windows bear out who was left out and why
  (`screening_check.ChainTracker`);
- placement: every `placed` and first `placement-deferred` is re-checked against the
  state replayed from the log (`placement_check`);
- completeness: decisions that must follow the live decision are there (`completeness`),
  among them a non-refoulement interview request for every live fear referral;
- reassignments: a legal-aid request that `replaces` another names an earlier request
  of the group, withdrawn as `REASSIGNED` (`reassignment_check`);
- the log: repeated events are duplicates (the contract's idempotency) unless their
  data differ; records that cannot be decoded are reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.audit import findings
from services.audit.assembly import KEEP_DECIDED
from services.audit.events import Logged, ReplayStats, unique_events
from services.audit.findings import Mismatch, Pending
from services.audit.screening_check import RuleSets
from services.audit.verify_parts import (
    SCREENING_TOPICS,
    FollowUpAudit,
    FollowUpFound,
    ScreeningAudit,
    ScreeningFound,
)
from services.reference import Reference

VERIFY_TOPICS = (
    "person-returned",
    "screened",
    "location-status-changed",
    "capacity-updated",
    "shelter-departed",
    "placement-withdrawn",
    "placement-deferred",
    "placed",
    "legal-aid-requested",
    "care-requested",
    "request-updated",
)
"""The topics `verify` reads."""

DEFAULT_GRACE = timedelta(minutes=15)
"""How long a decision may lag its cause before its absence is a mismatch."""


@dataclass
class VerifyReport:
    """Counts of what was checked, every mismatch, and what is still pending."""

    events: dict[str, int]
    duplicates: int
    decisions_rechecked: int
    placements_checked: int
    late_members_accepted: int
    mismatches: list[Mismatch] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    reassignments_checked: int = 0
    erased: list[str] = field(default_factory=list)
    """Decisions not re-run because a member's personal data was erased: "group: cases"."""

    @property
    def ok(self) -> bool:
        """True when the history bears out every decision."""
        return not self.mismatches

    def by_category(self) -> Counter[str]:
        return Counter(mismatch.category for mismatch in self.mismatches)


class Verifier:
    """Feed it each event once, in log order; `finish` gives the report."""

    def __init__(
        self,
        reference: Reference,
        rule_sets: RuleSets | None = None,
        keep_decided: int = KEEP_DECIDED,
    ) -> None:
        self.screening = ScreeningAudit(rule_sets, keep_decided)
        self.follow_up = FollowUpAudit(reference)

    def feed(self, event: Logged) -> None:
        """Check or record one event."""
        if event.topic in SCREENING_TOPICS:
            self.screening.feed(event)
        self.follow_up.feed(event)

    def finish(self, stats: ReplayStats, as_of: datetime, grace: timedelta) -> VerifyReport:
        """The report, once every event was fed; `as_of` is the end of the audit."""
        screening = self.screening.finish(as_of, grace)
        return assemble_report(stats, screening, self.follow_up.finish(as_of, grace))


def assemble_report(
    stats: ReplayStats, screening: ScreeningFound, follow_up: FollowUpFound
) -> VerifyReport:
    """The report from what each audit found, always in the same order."""
    report = VerifyReport(
        events=dict(sorted(stats.by_topic.items())),
        duplicates=stats.duplicates,
        decisions_rechecked=screening.rechecked,
        placements_checked=follow_up.placements,
        late_members_accepted=follow_up.late_members_accepted,
        reassignments_checked=follow_up.reassignments_checked,
        erased=screening.erased,
    )
    report.mismatches += _log_problems(stats)
    report.mismatches += screening.mismatches
    report.mismatches += follow_up.completeness
    report.mismatches += follow_up.placement
    report.mismatches += follow_up.reassignments
    followed = (
        *screening.undecided,
        *follow_up.completeness_later,
        *screening.chains,
        *follow_up.placement_later,
        *follow_up.reassignments_later,
        *screening.live_not_current,
    )
    for found in followed:
        if isinstance(found, Mismatch):
            report.mismatches.append(found)
        else:
            report.pending.append(found)
    return report


def _log_problems(stats: ReplayStats) -> list[Mismatch]:
    found = [
        Mismatch(findings.UNDECODABLE_EVENT, problem, None, where)
        for where, problem in stats.undecodable
    ]
    found += [
        Mismatch(
            findings.CONFLICTING_DUPLICATE,
            f"event {conflict.event_id} repeated with different data",
            None,
            conflict.repeated_at,
        )
        for conflict in stats.conflicts
    ]
    return found


def verify_events(
    events: Iterable[Logged],
    reference: Reference,
    *,
    as_of: datetime,
    grace: timedelta = DEFAULT_GRACE,
    rule_sets: RuleSets | None = None,
    stats: ReplayStats | None = None,
) -> VerifyReport:
    """Verify `events`, given in log order (repeats are recognised here too)."""
    stats = stats if stats is not None else ReplayStats()
    verifier = Verifier(reference, rule_sets)
    for event in unique_events(events, stats):
        verifier.feed(event)
    return verifier.finish(stats, as_of, grace)
