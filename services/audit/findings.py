"""What an audit finds: mismatches, each in a named category, and what is still pending."""

from __future__ import annotations

from dataclasses import dataclass

# Screening re-run
DECISION_DIFFERS = "decision differs"
MEMBER_FLAGS_DIFFER = "member flags differ"
MEMBER_NEEDS_DIFFER = "member needs differ"
MEMBERS_DIFFER = "members differ"
REASONS_DIFFER = "reasons differ"
DERIVED_FIELDS_DIFFER = "derived fields differ"
UNKNOWN_RULE_SET = "unknown rule set"
SCREENED_WITHOUT_PERSON = "screened member without person-returned"
CAUSATION_DIFFERS = "causation differs"

# A group's chain of decisions (supersession) and its gathering window
SPLIT_FAMILY = "split family"
GROUP_DECIDED_TWICE = SPLIT_FAMILY  # the name before supersession
REVISION_OUT_OF_ORDER = "revision out of order"
WINDOW_DIFFERS = "window differs from the first decision's"
LIVE_DECISION_MISSES_MEMBER = "live decision misses a member"
LIVE_DECISION_NOT_CURRENT = "live decision not on current records"
COUNTED_LATE = "member counted late within the window"
INCOMPLETE_BEFORE_DUE = "group incomplete before its window was due"

# Placement re-run
PLACED_WITHOUT_ACCEPTANCE = "placed without accepted screening"
DEFERRED_WITHOUT_ACCEPTANCE = "deferred without accepted screening"
GROUP_PLACED_TWICE = "group placed twice"
PLACEMENT_MEMBERS_DIFFER = "placement members differ"
WRONG_LOCATION = "wrong location"
SHELTER_NOT_USABLE = "shelter not usable"
SUSPENDED_LOCATION = "placement at suspended location"
OVER_DAILY_CAP = "placement over daily cap"
OVER_SHELTER_BEDS = "placement over shelter beds"
SHELTER_CHOICE_DIFFERS = "shelter choice differs"
PLACEMENT_OUTCOME_DIFFERS = "placement outcome differs"

# Completeness
PERSON_WITHOUT_DECISION = "person without decision"
ACCEPTED_NOT_PLACED = "accepted group neither placed nor waiting"
MISSING_LEGAL_AID = "missing legal-aid request"
MISSING_NON_REFOULEMENT = "missing non-refoulement request"
MISSING_CARE = "missing care request"

# Reassigned legal-aid requests
REPLACES_NOTHING = "reassignment replaces no request"
REPLACED_NOT_WITHDRAWN = "replaced request not withdrawn as reassigned"
REASSIGNED_WITHOUT_REPLACEMENT = "request reassigned without a replacement"

# The log itself
CONFLICTING_DUPLICATE = "conflicting duplicate"
UNDECODABLE_EVENT = "undecodable event"

INVARIANTS = (SUSPENDED_LOCATION, OVER_DAILY_CAP, OVER_SHELTER_BEDS)
"""The placement invariants: never broken, whatever the order of events."""


@dataclass(frozen=True)
class Mismatch:
    """One thing the recorded history does not bear out.

    `where` is the record concerned (`topic[partition]@offset`), `group_id` its group.
    """

    category: str
    detail: str
    group_id: str | None = None
    where: str | None = None


@dataclass(frozen=True)
class Pending:
    """Something not done yet, but still within its grace period at the end of the log."""

    category: str
    group_id: str | None
    detail: str
