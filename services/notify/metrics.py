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
WEBHOOK_DELIVERIES = Counter(
    "returns_webhook_deliveries",
    "Webhook deliveries settled, per partner id (a code from the partners file) and outcome: "
    "delivered, or failed (every retry used, or an error that no retry can fix).",
    ["partner", "outcome"],
    registry=REGISTRY,
)


def expect_deliveries(partner_id: str) -> None:
    """Start a partner's series at 0, so that its first failure is an increase too."""
    for outcome in ("delivered", "failed"):
        WEBHOOK_DELIVERIES.labels(partner_id, outcome)


def count_delivery(partner_id: str, delivered: bool) -> None:
    WEBHOOK_DELIVERIES.labels(partner_id, "delivered" if delivered else "failed").inc()


BEYOND_MEMORY = Counter(
    "returns_notify_beyond_memory",
    "Inputs notify did not handle because they happened longer ago than it remembers "
    "(RETURNS_NOTIFY_MEMORY_DAYS) and it had no record of them, per event type.",
    ["event_type"],
    registry=REGISTRY,
)
