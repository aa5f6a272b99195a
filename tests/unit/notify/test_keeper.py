"""Given a request issued on dicts, when partners report and the clock ticks, then only
applied transitions are written, declined or unanswered requests move on, and late ones
are counted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from schemas.envelope import Envelope, event_id_for
from schemas.requests import ProviderCapacityChanged
from services.notify.deadlines import DeadlinePolicy
from services.notify.keeper import ProgressKeeper
from services.notify.ledger import open_requests
from services.runtime.metrics import REGISTRY
from tests.unit.notify.issuer_harness import (
    PARTITION,
    REFERENCE,
    Notify,
    SendingKeeper,
    place,
    placed_envelope,
    screened_envelope,
    status_report,
)
from tests.unit.notify.notify_factories import placed, screened

POLICY = DeadlinePolicy(accept_within=timedelta(minutes=30))
PARTNER = "red-juridica-juarez"


class Progress:
    """A placed family's hearing request, and a keeper over the same tables."""

    def __init__(self, serves: bool = True) -> None:
        self.notify = Notify(policy=POLICY)
        self.keeper = SendingKeeper(
            ProgressKeeper(
                self.notify.requests, REFERENCE, serves=lambda *_: serves, policy=POLICY
            ),
            self.notify,
        )

    async def issue(self) -> Envelope[Any]:
        await self.notify.issuer.on_screened(screened_envelope(screened()), PARTITION)
        await place(self.notify, placed_envelope(placed()))
        return self.of_type("legal-aid-requested")[0]

    def of_type(self, event_type: str) -> list[Envelope[Any]]:
        return [e for e in self.notify.events() if e.event_type == event_type]

    async def report(
        self, request: Envelope[Any], status: str, minutes: int = 5, partition: int = PARTITION
    ) -> str:
        at = request.occurred_at + timedelta(minutes=minutes)
        envelope = status_report(request, status, at, PARTNER)
        return await self.keeper.on_report(envelope, partition)

    def load(self) -> dict[str, int]:
        return open_requests(
            self.notify.load, PARTITION, (p.id for p in REFERENCE.legal_aid_at("CJS"))
        )


async def test_an_accepted_request_is_written_once_and_first_contact_follows() -> None:
    progress = Progress()
    request = await progress.issue()

    assert await progress.report(request, "accepted") == "applied"
    accepted = progress.notify.published[-1]
    assert await progress.report(request, "first_contact", minutes=50) == "applied"
    sent = len(progress.notify.published)
    assert await progress.report(request, "accepted") == "repeat"  # the very same report
    assert progress.notify.published[sent:] == [accepted]  # re-sent as it was, not applied
    assert await progress.report(request, "accepted", minutes=7) == "refused"  # another time

    updates = list({u.event_id: u for u in progress.of_type("legal-aid-updated")}.values())
    assert [u.data.status for u in updates] == ["accepted", "first_contact"]
    assert updates[0].data.request_event_id == request.event_id
    assert updates[0].data.provider_id == request.data.provider_id
    assert updates[0].event_id == event_id_for("legal-aid-updated", request.event_id, "accepted")


async def test_first_contact_before_acceptance_or_a_foreign_partner_writes_nothing() -> None:
    progress = Progress()
    request = await progress.issue()
    assert await progress.report(request, "first_contact") == "refused"
    assert await progress.report(request, "accepted", partition=PARTITION + 1) == "refused"

    foreign = Progress(serves=False)
    foreign_request = await foreign.issue()
    assert await foreign.report(foreign_request, "accepted") == "refused"
    assert progress.of_type("legal-aid-updated") == []
    assert foreign.of_type("legal-aid-updated") == []


async def test_a_declined_request_is_withdrawn_and_requested_of_the_next_provider() -> None:
    progress = Progress()
    request = await progress.issue()
    before = progress.load()

    await progress.report(request, "declined")

    (withdrawal,) = progress.of_type("request-updated")
    assert (withdrawal.data.change, withdrawal.data.reason) == ("withdrawn", "REASSIGNED")
    assert withdrawal.data.request_event_id == request.event_id
    _, second = progress.of_type("legal-aid-requested")
    assert second.data.replaces == request.event_id
    assert second.data.reassigned_because == "DECLINED"
    assert second.data.provider_id != request.data.provider_id
    assert second.data.due_by == request.data.due_by
    after = progress.load()
    assert after[request.data.provider_id] == before[request.data.provider_id] - 1
    assert after[second.data.provider_id] == before.get(second.data.provider_id, 0) + 1
    # The replaced request takes no more reports; the new one does.
    assert await progress.report(request, "accepted", minutes=6) == "refused"
    assert await progress.report(second, "accepted", minutes=6) == "applied"


async def test_an_unanswered_request_is_reassigned_on_the_tick_after_its_accept_time() -> None:
    progress = Progress()
    request = await progress.issue()
    accept_by = request.data.accept_by
    assert accept_by == request.occurred_at + timedelta(minutes=30)

    await progress.keeper.on_tick(PARTITION, accept_by - timedelta(seconds=1), "tick-1")
    assert len(progress.of_type("legal-aid-requested")) == 1
    await progress.keeper.on_tick(PARTITION, accept_by, "tick-2")
    await progress.keeper.on_tick(PARTITION, accept_by + timedelta(seconds=5), "tick-3")

    _, second = progress.of_type("legal-aid-requested")
    assert (second.data.replaces, second.data.reassigned_because) == (
        request.event_id,
        "NOT_ACCEPTED_IN_TIME",
    )
    assert second.data.accept_by is not None
    assert second.data.accept_by > accept_by


async def test_a_tick_read_again_re_sends_what_it_caused() -> None:
    progress = Progress()
    request = await progress.issue()
    late = request.data.accept_by + timedelta(seconds=1)
    await progress.keeper.on_tick(PARTITION, late, "tick-9")
    sent = list(progress.notify.published)
    await progress.keeper.on_tick(PARTITION, late, "tick-9")
    assert progress.notify.published == sent + sent[-2:]


async def test_a_request_past_due_without_first_contact_is_counted_overdue_at_its_location() -> (
    None
):
    progress = Progress()
    request = await progress.issue()
    await progress.report(request, "accepted")
    due = request.data.due_by

    await progress.keeper.on_tick(PARTITION, due + timedelta(seconds=1), "tick-due")

    assert overdue("CJS") >= 1
    tracked = progress.notify.issuer.tracker.get(request.event_id)
    assert tracked is not None
    assert tracked.late
    counted = overdue("CJS")
    await progress.report(request, "first_contact", minutes=60)
    assert overdue("CJS") == counted - 1


async def test_a_provider_at_capacity_is_skipped_for_the_next_family() -> None:
    progress = Progress()
    request = await progress.issue()
    change = ProviderCapacityChanged(
        provider_id=request.data.provider_id, capacity=1, changed_by="ops-cjs"
    )
    progress.keeper.on_capacity(change, PARTITION)
    other_family = screened(group_id="G-2026-000124")
    await progress.notify.issuer.on_screened(
        screened_envelope(other_family, event_id_for("screened", "other")), PARTITION
    )
    await place(
        progress.notify,
        placed_envelope(placed(group_id="G-2026-000124"), event_id_for("placed", "other")),
    )
    second = progress.of_type("legal-aid-requested")[-1]
    assert second.data.group_id == "G-2026-000124"
    assert second.data.provider_id != request.data.provider_id


async def test_a_closed_request_frees_its_providers_place() -> None:
    progress = Progress()
    request = await progress.issue()
    provider = request.data.provider_id
    await progress.report(request, "accepted")
    held = progress.load()[provider]
    await progress.report(request, "closed", minutes=90)
    assert progress.load()[provider] == held - 1
    record = progress.notify.issuer.group(request.data.group_id)
    assert request.event_id not in [r.event_id for r in record.open]


def overdue(location: str) -> float:
    value = REGISTRY.get_sample_value("returns_legal_aid_overdue", {"location": location})
    return value or 0.0
