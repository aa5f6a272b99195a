"""The dispatcher on httpx.MockTransport: which partners get an event, when it is acked,
and the receipts that record each outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx

from schemas.codec import encode
from schemas.envelope import Envelope, make_envelope, utc_now
from schemas.requests import RequestUpdated
from services.notify.delivery import Backoff, Deliverer, Outcome
from services.notify.dispatch import Dispatcher, delivered_key, read_request, receipt_for
from services.notify.memory import Retention
from services.notify.partners import PartnerSubscription
from services.notify.requests import (
    care_requests_for_placement,
    legal_aid_for_placement,
    request_event_id,
)
from services.notify.settling import Settler
from services.runtime import metrics
from services.runtime.consume import Handled, Loop
from services.runtime.ordered import SettlementWindow
from tests.unit.notify.notify_factories import (
    JUAREZ_HEALTH,
    JUAREZ_LEGAL_AID,
    PLACED_EVENT_ID,
    placed,
    screened,
)

NOW = datetime(2026, 11, 27, 23, 0, 5, tzinfo=UTC)
LEGAL_AID_ID = request_event_id("legal-aid-requested", PLACED_EVENT_ID)
INVALID = {"service": "notify", "topic": "legal-aid-requested"}
CARE_ID = request_event_id("care-requested", PLACED_EVENT_ID, "A212345679")


def request_bodies() -> tuple[bytes, bytes]:
    legal_aid = legal_aid_for_placement(placed(), screened(), JUAREZ_LEGAL_AID, {})
    (care,) = care_requests_for_placement(placed(), screened(), JUAREZ_HEALTH)
    return tuple(  # type: ignore[return-value]
        encode(
            make_envelope(
                data,
                event_id=event_id,
                producer="notify/test",
                correlation_id=data.group_id,
                causation_id=PLACED_EVENT_ID,
                crossing="ELP",
                occurred_at=NOW,
            )
        )
        for data, event_id in ((legal_aid, LEGAL_AID_ID), (care, CARE_ID))
    )


LEGAL_AID, CARE = request_bodies()
UPDATE_ID = request_event_id("request-updated", PLACED_EVENT_ID, CARE_ID)
UPDATE = encode(
    make_envelope(
        RequestUpdated(
            group_id="G-2026-000123",
            request_event_id=CARE_ID,
            request_type="care-requested",
            provider_id="HP-CJS-01",
            change="withdrawn",
            reason="GROUP_CHANGED",
            caused_by=PLACED_EVENT_ID,
            members=[],
            location="CJS",
            shelter_id="CJS-S03",
        ),
        event_id=UPDATE_ID,
        producer="notify/test",
        correlation_id="G-2026-000123",
        causation_id=PLACED_EVENT_ID,
        crossing="ELP",
        occurred_at=NOW,
    )
)


def partner(partner_id: str, *event_types: str) -> PartnerSubscription:
    return PartnerSubscription(
        partner_id=partner_id,
        url=f"https://{partner_id}.example.org/hook",
        secret="s3cret",
        event_types=frozenset(event_types),
        locations=frozenset({"CJS"}),
        max_attempts=2,
    )


LAWYERS = partner("lawyers", "legal-aid-requested")
CLINIC = partner("clinic", "care-requested")


class Harness:
    """A dispatcher whose clinic answers only once `clinic_answers` is set."""

    def __init__(
        self,
        delivered: Mapping[str, bytes] | None = None,
        fail_receipts: bool = False,
        partners: Sequence[PartnerSubscription] = (LAWYERS, CLINIC),
        retention: Retention | None = None,
        clock: Callable[[], datetime] = utc_now,
    ):
        self.acked: list[str] = []
        self.receipts: list[Envelope[Any]] = []
        self.stuck: list[BaseException] = []
        self.requests: list[str] = []  # the partners' hosts, in the order posted to
        self.idempotency_keys: list[str] = []
        self.clinic_answers = asyncio.Event()
        self.fail_receipts = fail_receipts
        window: SettlementWindow[Any] = SettlementWindow(
            lambda event: self.acked.append(event.token)
        )
        self.dispatcher: Dispatcher[Any] = Dispatcher(
            lambda on_outcome: Deliverer(
                partners,
                on_outcome,
                transport=httpx.MockTransport(self._answer),
                backoff=Backoff(base=0.001, cap=0.001),
            ),
            partners,
            settler=Settler(window, self.stuck.append),
            delivered={} if delivered is None else delivered,
            record_receipt=self._record,
            producer="notify/test",
            retention=retention,
            clock=clock,
        )
        # The deliveries agent's loop, as notify wires it (app.py).
        self.loop: Loop[Any] = Loop(
            SimpleNamespace(topic_prefix=""),
            "notify",
            "deliver",
            self._deliver,
            settler=self.dispatcher.settler,
        )

    async def _deliver(self, message: Any) -> Handled[Any]:
        return Handled(pending=await self.dispatcher.take(message.value))

    async def take(self, partition: int, offset: int, token: str, raw: bytes) -> None:
        """Hand the event at `partition`@`offset` to the loop; `token` is what is acked."""
        message = SimpleNamespace(
            tp=partition,
            topic="legal-aid-requested",
            partition=partition,
            offset=offset,
            headers=[],
            value=raw,
        )
        event = SimpleNamespace(message=message, token=token)
        await self.loop.one(event, self.dispatcher.window)

    async def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.host)
        self.idempotency_keys.append(request.headers["idempotency-key"])
        if request.url.host.startswith("clinic"):
            await self.clinic_answers.wait()
        return httpx.Response(204)

    async def _record(self, envelope: Envelope[Any]) -> asyncio.Future[None]:
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail_receipts:
            written.set_exception(ConnectionError("broker unreachable"))
        else:
            self.receipts.append(envelope)
            written.set_result(None)
        return written

    async def until(self, condition: Callable[[], bool]) -> None:
        """Let the partner lanes run until `condition` holds (at most 5 s)."""
        async with asyncio.timeout(5):
            while not condition():  # noqa: ASYNC110 - outcomes arrive via callbacks
                await asyncio.sleep(0.005)


async def test_an_event_is_acked_once_its_deliveries_and_those_before_it_settled() -> None:
    harness = Harness()
    await harness.dispatcher.start()
    await harness.take(3, 10, "care@10", CARE)
    await harness.take(3, 11, "legal@11", LEGAL_AID)
    await harness.until(lambda: len(harness.receipts) == 1)
    assert harness.receipts[0].data.partner_id == "lawyers"
    assert harness.acked == []  # the lawyers have theirs, but the clinic holds offset 10

    harness.clinic_answers.set()
    await harness.until(lambda: len(harness.acked) == 2)
    await harness.dispatcher.stop(grace=1)
    assert harness.acked == ["care@10", "legal@11"]
    assert {r.data.partner_id for r in harness.receipts} == {"lawyers", "clinic"}


async def test_a_partner_that_already_has_an_event_does_not_get_it_again() -> None:
    harness = Harness(delivered={delivered_key("lawyers", LEGAL_AID_ID): b"receipt"})
    await harness.dispatcher.start()
    await harness.take(3, 0, "legal@0", LEGAL_AID)
    await harness.dispatcher.stop(grace=1)
    assert (harness.acked, harness.requests) == (["legal@0"], [])


async def test_a_request_update_goes_to_the_partners_subscribed_to_the_request() -> None:
    harness = Harness()
    harness.clinic_answers.set()
    await harness.dispatcher.start()
    await harness.take(3, 0, "update@0", UPDATE)
    await harness.until(lambda: harness.acked == ["update@0"])
    await harness.dispatcher.stop(grace=1)
    assert harness.requests == ["clinic.example.org"]
    (receipt,) = harness.receipts
    assert (receipt.data.notified_event_id, receipt.data.notified_event_type) == (
        UPDATE_ID,
        "request-updated",
    )


def test_a_request_update_is_read_as_its_requests_type() -> None:
    update = read_request(UPDATE)
    assert (update.event_type, update.subscribed_as, update.location) == (
        "request-updated",
        "care-requested",
        "CJS",
    )


async def test_a_record_that_is_not_a_request_is_acked_and_skipped() -> None:
    harness = Harness()
    await harness.dispatcher.start()
    counted = ("returns_invalid_events_total", {**INVALID, "reason": "NOT_A_REQUEST"})
    before = metrics.REGISTRY.get_sample_value(*counted) or 0.0
    await harness.take(3, 0, "junk@0", b"{not json")
    await harness.dispatcher.stop(grace=1)
    assert harness.acked == ["junk@0"]
    assert metrics.REGISTRY.get_sample_value(*counted) == before + 1


async def test_an_event_whose_receipt_cannot_be_written_is_never_acked() -> None:
    harness = Harness(fail_receipts=True)
    await harness.dispatcher.start()
    await harness.take(3, 0, "legal@0", LEGAL_AID)
    await harness.take(3, 1, "junk@1", b"{}")
    await harness.until(lambda: bool(harness.stuck))
    await harness.dispatcher.stop(grace=1)
    assert harness.acked == []
    assert [type(e) for e in harness.stuck] == [ConnectionError]


def outcome(delivered: bool) -> Outcome:
    return Outcome(
        partner_id="lawyers",
        event_id=LEGAL_AID_ID,
        event_type="legal-aid-requested",
        group_id="G-2026-000123",
        delivered=delivered,
        attempts=3,
        status_code=200 if delivered else 503,
        last_error=None if delivered else "HTTP 503",
        at=NOW,
        crossing="ELP",
    )


def test_a_delivery_receipt_names_the_partner_the_event_and_the_attempts() -> None:
    receipt = receipt_for(outcome(True), "notify/test")
    assert receipt.event_type == "notification-delivered"
    assert (receipt.data.partner_id, receipt.data.notified_event_id) == ("lawyers", LEGAL_AID_ID)
    assert (receipt.data.attempts, receipt.data.status_code) == (3, 200)
    assert (receipt.causation_id, receipt.correlation_id) == (LEGAL_AID_ID, "G-2026-000123")
    assert receipt.crossing == "ELP"


def test_a_failure_receipt_carries_the_last_error() -> None:
    receipt = receipt_for(outcome(False), "notify/test")
    assert receipt.event_type == "notification-failed"
    assert (receipt.data.attempts, receipt.data.last_error) == (3, "HTTP 503")


def test_a_repeated_delivery_has_the_same_receipt_id_and_a_redelivery_run_its_own() -> None:
    first = receipt_for(outcome(True), "notify/test")
    assert receipt_for(outcome(True), "notify/test").event_id == first.event_id
    assert receipt_for(outcome(True), "notify/test", "redelivery 1").event_id != first.event_id
