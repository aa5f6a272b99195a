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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.audit import findings
from services.audit.assembly import KEEP_DECIDED, Assembled, GroupAssembler
from services.audit.completeness import CompletenessTracker
from services.audit.events import Logged, ReplayStats, unique_events
from services.audit.findings import Mismatch, Pending
from services.audit.placement_check import PlacementAuditor
from services.audit.reassignment_check import ReassignmentTracker
from services.audit.screening_check import (
    ChainTracker,
    RuleSets,
    erased_cases,
    readable,
    recheck,
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
        self.rule_sets = rule_sets or RuleSets()
        self.assembler = GroupAssembler(keep_decided)
        self.placement = PlacementAuditor(reference)
        self.completeness = CompletenessTracker()
        self.chains = ChainTracker()
        self.reassignments = ReassignmentTracker()
        self.mismatches: list[Mismatch] = []
        self._not_current: dict[str, Assembled] = {}  # the group's last pairing, if stale
        self.rechecked = 0
        self.placements = 0
        self.erased: list[str] = []

    def feed(self, event: Logged) -> None:
        """Check or record one event."""
        if event.topic == "person-returned":
            self.chains.on_person(event)
            self._recheck(self.assembler.add_person(event))
            return
        if event.topic == "screened":
            group_id = event.data.group_id
            for category, detail in self.chains.on_screened(event):
                self.mismatches.append(Mismatch(category, detail, group_id, event.where))
            self._recheck(self.assembler.add_screened(event))
        if event.topic == "placed":
            self.placements += 1
        self.placement.on_event(event)
        self.completeness.on_event(event)
        self.reassignments.on_event(event)

    def finish(self, stats: ReplayStats, as_of: datetime, grace: timedelta) -> VerifyReport:
        """The report, once every event was fed; `as_of` is the end of the audit."""
        self._recheck(self.assembler.finish())
        report = VerifyReport(
            events=dict(sorted(stats.by_topic.items())),
            duplicates=stats.duplicates,
            decisions_rechecked=self.rechecked,
            placements_checked=self.placements,
            late_members_accepted=self.completeness.late_members_accepted,
            reassignments_checked=self.reassignments.checked,
            erased=self.erased,
        )
        report.mismatches += _log_problems(stats)
        report.mismatches += self.mismatches
        report.mismatches += self.completeness.mismatches
        report.mismatches += self.placement.mismatches
        report.mismatches += self.reassignments.mismatches
        for member in self.assembler.undecided():
            detail = f"{member.record.case_id} has no screened event"
            group = member.record.group_id
            if member.occurred_at + grace <= as_of:
                mismatch = Mismatch(findings.PERSON_WITHOUT_DECISION, detail, group, member.where)
                report.mismatches.append(mismatch)
            else:
                report.pending.append(Pending(findings.PERSON_WITHOUT_DECISION, group, detail))
        followed = (
            *self.completeness.findings(as_of, grace),
            *self.chains.findings(as_of, grace),
            *self.placement.findings(as_of, grace),
            *self.reassignments.findings(as_of, grace),
            *self._live_not_current(as_of, grace),
        )
        for found in followed:
            if isinstance(found, Mismatch):
                report.mismatches.append(found)
            else:
                report.pending.append(found)
        return report

    def _recheck(self, assembled: list[Assembled]) -> None:
        for item in assembled:
            self.rechecked += 1
            erased = erased_cases([member.record for member in item.members])
            if erased and not item.missing:
                self.erased.append(f"{item.decision.group_id}: {', '.join(erased)}")
            self.mismatches += _screening_mismatches(item, self.rule_sets)
            group_id = item.decision.group_id
            if item.not_current:
                self._not_current[group_id] = item
            else:
                self._not_current.pop(group_id, None)

    def _live_not_current(self, as_of: datetime, grace: timedelta) -> Iterator[Mismatch | Pending]:
        """Live decisions taken on a replaced record (an earlier one may be: it was redone)."""
        for group_id, item in sorted(self._not_current.items()):
            if self.chains.live_decision(group_id) != item.screened.event_id:
                continue
            detail = f"decided on records that are not current for {list(item.not_current)}"
            if item.screened.occurred_at + grace <= as_of:
                where = item.screened.where
                yield Mismatch(findings.LIVE_DECISION_NOT_CURRENT, detail, group_id, where)
            else:
                yield Pending(findings.LIVE_DECISION_NOT_CURRENT, group_id, detail)


def _screening_mismatches(item: Assembled, rule_sets: RuleSets) -> list[Mismatch]:
    decision, where = item.decision, item.screened.where
    found: list[tuple[str, str]] = []
    if item.missing:
        missing = list(item.missing)
        detail = f"no person-returned for {missing} (never recorded, or decided long before)"
        found.append((findings.SCREENED_WITHOUT_PERSON, detail))
    elif not item.causation_matches:
        cause = item.screened.envelope.causation_id
        detail = (
            f"causation_id {cause} is not the digest of the {len(item.members)} member event(s)"
        )
        found.append((findings.CAUSATION_DIFFERS, detail))
    rule_set = rule_sets.get(decision.rule_set)
    if rule_set is None:
        found.append((findings.UNKNOWN_RULE_SET, f"no rule set named {decision.rule_set!r}"))
    elif item.members and not item.missing:
        records = [member.record for member in item.members]
        if not erased_cases(records):  # erased: the recorded flags stand
            found += recheck(decision, readable(records), rule_set)
    return [Mismatch(category, detail, decision.group_id, where) for category, detail in found]


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
