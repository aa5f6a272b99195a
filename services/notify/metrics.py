"""Notify's metrics on legal-aid progress; labels are location codes (and fixed codes) only."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from services.runtime.metrics import REGISTRY

OVERDUE = Gauge(
    "returns_legal_aid_overdue",
    "Open legal-aid requests past their due time without first contact, per location.",
    ["location"],
    registry=REGISTRY,
)
BECAME_OVERDUE = Counter(
    "returns_legal_aid_became_overdue",
    "Legal-aid requests that passed their due time without first contact, per location.",
    ["location"],
    registry=REGISTRY,
)
REASSIGNED = Counter(
    "returns_legal_aid_reassigned",
    "Legal-aid requests reassigned, per location, why (DECLINED, NOT_ACCEPTED_IN_TIME) and "
    "whether no other provider had room (fallback true: re-offered to the least loaded).",
    ["location", "because", "fallback"],
    registry=REGISTRY,
)
REPORTS = Counter(
    "returns_legal_aid_reports",
    "Partner status reports on legal-aid requests, by status and outcome (applied, repeat, "
    "refused).",
    ["status", "outcome"],
    registry=REGISTRY,
)
