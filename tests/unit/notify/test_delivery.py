"""The webhook engine against httpx.MockTransport, and the partner configuration it reads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.codec import encode
from schemas.envelope import make_envelope
from services.notify.delivery import Backoff, Deliverer, Outcome, Timeouts, sign, verify
from services.notify.partners import (
    PartnerConfigError,
    PartnerSubscription,
    load_partners,
    matches,
)
from services.notify.requests import legal_aid_for_placement, request_event_id
from tests.unit.notify.notify_factories import JUAREZ_LEGAL_AID, PLACED_EVENT_ID, placed, screened

NOW = datetime(2026, 11, 27, 23, 0, 5, tzinfo=UTC)
EVENT_ID = request_event_id("legal-aid-requested", PLACED_EVENT_ID)
GROUP_ID = "G-2026-000123"
EXAMPLE = Path(__file__).parents[3] / "services" / "notify" / "partners.example.toml"

Handler = Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]]


def event_body() -> bytes:
    """A real legal-aid-requested event, as notify publishes it."""
    request = legal_aid_for_placement(placed(), screened(), JUAREZ_LEGAL_AID, {})
    envelope = make_envelope(
        request,
        event_id=EVENT_ID,
        producer="notify/0.1.0",
        correlation_id=GROUP_ID,
        causation_id=PLACED_EVENT_ID,
        crossing="ELP",
        occurred_at=NOW,
    )
    return encode(envelope)


BODY = event_body()


def partner(partner_id: str = "red-juridica-juarez", **options: int) -> PartnerSubscription:
    return PartnerSubscription(
        partner_id=partner_id,
        url=f"https://{partner_id}.example.org/webhooks/returns",
        secret=f"s3cret-{partner_id}",
        event_types=frozenset({"legal-aid-requested"}),
        locations=frozenset({"CJS"}),
        **options,
    )


class Engine:
    """A Deliverer on a mock transport, recording outcomes and backoff sleeps."""

    def __init__(
        self,
        partners: list[PartnerSubscription],
        handler: Handler,
        record: Callable[[Outcome], Awaitable[None]] | None = None,
        **options: object,
    ) -> None:
        self.outcomes: list[Outcome] = []
        self.sleeps: list[float] = []
        self.deliverer = Deliverer(
            partners,
            record or self._record,
            transport=httpx.MockTransport(handler),
            backoff=Backoff(base=0.5, cap=8.0),
            rand=lambda: 0.5,
            sleep=self._sleep,
            clock=lambda: NOW,
            **options,  # type: ignore[arg-type]
        )

    async def _record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def deliver(self, to: PartnerSubscription, event_id: str = EVENT_ID) -> Outcome:
        ticket = await self.deliverer.submit(to, event_id, "legal-aid-requested", GROUP_ID, BODY)
        settled = await asyncio.wait_for(ticket, timeout=10)
        return settled.outcome


@asynccontextmanager
async def running(engine: Engine) -> AsyncIterator[Engine]:
    await engine.deliverer.start()
    try:
        yield engine
    finally:
        await engine.deliverer.stop(drain=False)


def answering(*statuses: int | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A partner answering each request with the next status (or raising the next error)."""
    seen: list[httpx.Request] = []
    script = iter(statuses)

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = next(script, statuses[-1])
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer)

    return handler, seen


# --- signing ----------------------------------------------------------------------------


def test_a_signature_verifies_only_for_the_same_body_and_secret() -> None:
    header = sign(BODY, "s3cret")
    assert header.startswith("sha256=")
    assert len(header) == len("sha256=") + 64
    assert verify(BODY, "s3cret", header)
    assert not verify(BODY + b" ", "s3cret", header)
    assert not verify(BODY, "other", header)
    assert not verify(BODY, "s3cret", None)
    assert not verify(BODY, "s3cret", "sha256=ñ")


async def test_each_post_carries_the_exact_signed_event_and_its_idempotency_key() -> None:
    handler, seen = answering(202)
    juarez = partner()
    async with running(Engine([juarez], handler)) as engine:
        outcome = await engine.deliver(juarez)
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == juarez.url
    assert request.content == BODY
    assert verify(request.content, juarez.secret, request.headers["X-Signature"])
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == EVENT_ID
    assert request.headers["X-Event-Type"] == "legal-aid-requested"
    assert outcome == Outcome(
        "red-juridica-juarez", EVENT_ID, "legal-aid-requested", GROUP_ID, True, 1, 202, None, NOW
    )
    assert engine.outcomes == [outcome]


# --- retries ----------------------------------------------------------------------------


async def test_a_partner_failing_three_times_is_delivered_on_the_fourth_attempt() -> None:
    handler, seen = answering(httpx.ConnectError("connection refused"), 503, 502, 200)
    juarez = partner()
    async with running(Engine([juarez], handler)) as engine:
        outcome = await engine.deliver(juarez)
    assert (outcome.delivered, outcome.attempts, outcome.status_code) == (True, 4, 200)
    assert engine.sleeps == [0.25, 0.5, 1.0]  # half (rand) of 0.5, 1, 2 seconds
    assert {r.headers["Idempotency-Key"] for r in seen} == {EVENT_ID}


async def test_backoff_is_capped() -> None:
    assert Backoff(base=1.0, cap=4.0).delay(10, lambda: 1.0) == 4.0
    assert Backoff(base=1.0, cap=4.0).delay(1, lambda: 0.0) == 0.0


async def test_a_partner_that_keeps_failing_fails_after_max_attempts_with_the_last_error() -> None:
    handler, seen = answering(503, 503, 500)
    juarez = partner(max_attempts=3)
    async with running(Engine([juarez], handler)) as engine:
        outcome = await engine.deliver(juarez)
    assert (outcome.delivered, outcome.attempts, outcome.status_code) == (False, 3, 500)
    assert outcome.last_error == "HTTP 500"
    assert len(seen) == 3
    assert len(engine.sleeps) == 2
    assert engine.outcomes == [outcome]


async def test_an_unreachable_partner_fails_with_the_connection_error() -> None:
    handler, _ = answering(httpx.ConnectError("connection refused"))
    juarez = partner(max_attempts=2)
    async with running(Engine([juarez], handler)) as engine:
        outcome = await engine.deliver(juarez)
    assert (outcome.delivered, outcome.attempts, outcome.status_code) == (False, 2, None)
    assert outcome.last_error == "ConnectError: connection refused"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
async def test_a_client_error_fails_at_once(status: int) -> None:
    handler, seen = answering(status)
    juarez = partner()
    async with running(Engine([juarez], handler)) as engine:
        outcome = await engine.deliver(juarez)
    assert (outcome.delivered, outcome.attempts, outcome.last_error) == (
        False,
        1,
        f"HTTP {status}",
    )
    assert len(seen) == 1
    assert engine.sleeps == []


@pytest.mark.parametrize("status", [408, 429, 500, 503])
async def test_timeouts_throttling_and_server_errors_are_retried(status: int) -> None:
    handler, _ = answering(status, 200)
    juarez = partner()
    async with running(Engine([juarez], handler)) as engine:
        outcome = await engine.deliver(juarez)
    assert (outcome.delivered, outcome.attempts) == (True, 2)


async def test_retry_after_is_honoured_up_to_the_cap() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200)])

    async def handler(request: httpx.Request) -> httpx.Response:
        return next(answers)

    juarez = partner()
    async with running(Engine([juarez], handler)) as engine:
        await engine.deliver(juarez)
    assert engine.sleeps == [7.0]


# --- isolation and backpressure ---------------------------------------------------------


def hanging_and_fast() -> tuple[Handler, list[str]]:
    """`colapsado` never answers; everyone else answers at once."""
    delivered: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host.startswith("colapsado"):
            await asyncio.Event().wait()
        delivered.append(request.headers["Idempotency-Key"])
        return httpx.Response(200)

    return handler, delivered


async def test_a_hanging_partner_does_not_hold_back_another() -> None:
    handler, delivered = hanging_and_fast()
    stuck, healthy = partner("colapsado"), partner("salud-juarez")
    async with running(Engine([stuck, healthy], handler)) as engine:
        stuck_tickets = [
            await engine.deliverer.submit(stuck, f"e{n}", "legal-aid-requested", GROUP_ID, BODY)
            for n in range(3)
        ]
        outcome = await engine.deliver(healthy)
        assert outcome.delivered
        assert delivered == [EVENT_ID]
        assert not any(ticket.done() for ticket in stuck_tickets)
        await engine.deliverer.stop(drain=False)
    assert all(ticket.cancelled() for ticket in stuck_tickets)
    assert [o.partner_id for o in engine.outcomes] == ["salud-juarez"]


async def test_an_attempt_that_outlives_its_deadline_is_a_retried_timeout() -> None:
    handler, _ = hanging_and_fast()
    stuck = partner("colapsado", max_attempts=2)
    engine = Engine([stuck], handler, timeouts=Timeouts(attempt=0.01))
    async with running(engine):
        outcome = await engine.deliver(stuck)
    assert (outcome.delivered, outcome.attempts, outcome.status_code) == (False, 2, None)
    assert outcome.last_error is not None
    assert outcome.last_error.startswith("timeout")


async def test_a_full_queue_makes_submit_wait_until_there_is_room() -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        entered.set()
        await release.wait()
        order.append(request.headers["Idempotency-Key"])
        return httpx.Response(200)

    juarez = partner(queue_size=1)
    async with running(Engine([juarez], handler)) as engine:
        submit = engine.deliverer.submit
        first = await submit(juarez, "e1", "legal-aid-requested", GROUP_ID, BODY)
        await entered.wait()  # e1 is in flight, the queue is empty
        second = await submit(juarez, "e2", "legal-aid-requested", GROUP_ID, BODY)
        third = asyncio.create_task(submit(juarez, "e3", "legal-aid-requested", GROUP_ID, BODY))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not third.done()  # e2 fills the queue
        release.set()
        tickets = [first, second, await third]
        outcomes = await asyncio.wait_for(asyncio.gather(*tickets), timeout=10)
    assert order == ["e1", "e2", "e3"]
    assert all(settled.outcome.delivered for settled in outcomes)


# --- settling and stopping --------------------------------------------------------------


async def test_a_ticket_fails_when_the_outcome_cannot_be_recorded() -> None:
    handler, _ = answering(200)
    juarez = partner()
    calls = 0

    async def flaky_record(outcome: Outcome) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("broker unavailable")

    engine = Engine([juarez], handler, record=flaky_record)
    async with running(engine):
        with pytest.raises(ConnectionError):
            await engine.deliver(juarez)
        assert (await engine.deliver(juarez, "e2")).delivered  # the lane lives on


async def test_stop_drains_queued_deliveries() -> None:
    handler, seen = answering(200)
    juarez = partner()
    engine = Engine([juarez], handler)
    await engine.deliverer.start()
    submit = engine.deliverer.submit
    tickets = [await submit(juarez, f"e{n}", "care-requested", GROUP_ID, BODY) for n in range(5)]
    await engine.deliverer.stop()
    assert [t.result().outcome.event_id for t in tickets] == [f"e{n}" for n in range(5)]
    assert len(seen) == 5
    with pytest.raises(RuntimeError):
        await submit(juarez, "e6", "care-requested", GROUP_ID, BODY)


async def test_submitting_to_an_unknown_partner_or_before_start_is_refused() -> None:
    handler, _ = answering(200)
    engine = Engine([partner()], handler)
    with pytest.raises(RuntimeError):
        await engine.deliver(partner())
    async with running(engine):
        with pytest.raises(KeyError):
            await engine.deliver(partner("desconocido"))


async def test_logs_name_partner_and_event_but_never_the_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler, _ = answering(503, 200)
    juarez = partner()
    caplog.set_level(logging.DEBUG, logger="services.notify.delivery")
    async with running(Engine([juarez], handler)) as engine:
        await engine.deliver(juarez)
    assert "red-juridica-juarez" in caplog.text
    assert EVENT_ID in caplog.text
    assert "A212345678" not in caplog.text
    assert juarez.secret not in caplog.text


# --- partner configuration --------------------------------------------------------------


def test_the_example_partners_file_loads() -> None:
    environ = {
        "NOTIFY_SECRET_RED_JURIDICA_JUAREZ": "k1",
        "NOTIFY_SECRET_SALUD_TIJUANA": "k2",
    }
    juarez, tijuana = load_partners(EXAMPLE, environ, known_locations={"CJS", "TIJ"})
    assert (juarez.partner_id, juarez.secret, juarez.max_attempts) == (
        "red-juridica-juarez",
        "k1",
        8,
    )
    assert juarez.event_types == frozenset({"legal-aid-requested"})
    assert (tijuana.locations, tijuana.queue_size) == (frozenset({"TIJ"}), 500)
    assert "k1" not in repr(juarez)


def test_every_problem_in_a_partners_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "partners.toml"
    path.write_text(
        """
[[partners]]
partner_id = "Red Jurídica"
url = "ftp://127.0.0.1/hook"
secret = "x"
secret_env = "ALSO"
event_types = ["screened"]
max_attempts = 0

[[partners]]
partner_id = "salud"
url = "http://127.0.0.1:8702/hook"
secret_env = "MISSING_SECRET"
event_types = ["care-requested"]
locations = ["tij"]
colour = "blue"
""",
        encoding="utf-8",
    )
    with pytest.raises(PartnerConfigError) as caught:
        load_partners(path, environ={})
    text = str(caught.value)
    for fragment in (
        "partner_id is required",
        "url must be an absolute http(s) URL",
        "exactly one of secret or secret_env",
        "event_types must be a non-empty list",
        "max_attempts must be a positive integer",
        "MISSING_SECRET is not set",
        'location "tij"',
        '"colour" is not a known field',
    ):
        assert fragment in text
    assert len(caught.value.problems) == 8


def test_a_partner_matches_its_event_types_and_locations() -> None:
    juarez = partner()
    everywhere = PartnerSubscription(
        "red-nacional", "https://x.org/h", "k", frozenset({"care-requested"})
    )
    assert matches(juarez, "legal-aid-requested", "CJS")
    assert not matches(juarez, "legal-aid-requested", "TIJ")
    assert not matches(juarez, "care-requested", "CJS")
    assert not matches(juarez, "legal-aid-requested", None)
    assert matches(everywhere, "care-requested", None)
    assert matches(everywhere, "care-requested", "MAM")
