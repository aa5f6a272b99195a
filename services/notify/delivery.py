"""Webhook delivery to partners: signed POSTs, retried with backoff, one lane per partner.

Each partner has its own bounded queue and worker, so a slow or dead partner only ever
delays its own deliveries. A delivery is settled once it is delivered or has failed for
good and its `Outcome` has been reported; only then does its ticket resolve, to a
:class:`Settled` that carries the outcome and what reporting it returned (the service:
the pending write of its receipt), which is when the Kafka side may commit the offset
of the event that caused it once that write is done.

Logs carry partner ids, event ids, attempt numbers and statuses only: never a body.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

import httpx

from services.notify.metrics import count_delivery, expect_deliveries
from services.notify.partners import PartnerSubscription

log = logging.getLogger(__name__)

_RETRYABLE_STATUS = frozenset({408, 429})
_PERMANENT_ERRORS = (httpx.UnsupportedProtocol, httpx.InvalidURL)  # retrying cannot help
_MAX_ERROR_TEXT = 500
R = TypeVar("R")


def sign(body: bytes, secret: str) -> str:
    """The `X-Signature` value for `body`: `sha256=<hex HMAC-SHA256 of body keyed by secret>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """Whether `header` is the signature of `body` under `secret` (constant-time compare)."""
    if header is None:
        return False
    return hmac.compare_digest(sign(body, secret).encode(), header.encode("utf-8", "replace"))


@dataclass(frozen=True)
class Outcome:
    """How one delivery of one event to one partner ended."""

    partner_id: str
    event_id: str
    event_type: str
    group_id: str
    delivered: bool
    attempts: int
    status_code: int | None
    last_error: str | None
    at: datetime
    crossing: str | None = None  # the event's crossing, so that its receipt joins its lane


@dataclass(frozen=True)
class Settled(Generic[R]):
    """A delivery's `outcome`, and what `on_outcome` returned for it (`recorded`)."""

    outcome: Outcome
    recorded: R


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, in seconds.

    Before attempt n+1 the engine waits `rand() * min(cap, base * 2**(n-1))`, and at least
    a partner's `Retry-After` (capped at `cap`) after a 429 or 503.
    """

    base: float = 0.5
    cap: float = 60.0

    def delay(self, attempt: int, rand: Callable[[], float]) -> float:
        """The wait after failed attempt number `attempt` (1-based)."""
        return rand() * min(self.cap, self.base * 2.0 ** (attempt - 1))


@dataclass(frozen=True)
class Timeouts:
    """Seconds allowed to connect, to wait for each read (also used for writes and the
    pool), and for a whole attempt: httpx's limits are per operation, so a partner that
    trickles its answer would otherwise hold its lane for ever."""

    connect: float = 2.0
    read: float = 5.0
    attempt: float = 15.0


@dataclass(frozen=True)
class _Attempt:
    status_code: int | None
    error: str | None  # None: delivered
    retryable: bool = False
    retry_after: float | None = None


@dataclass(frozen=True)
class _Job(Generic[R]):
    partner: PartnerSubscription
    event_id: str
    event_type: str
    group_id: str
    body: bytes
    future: asyncio.Future[Settled[R]]
    crossing: str | None = None


OutcomeCallback = Callable[[Outcome], Awaitable[R]]


class Deliverer(Generic[R]):
    """Delivers events to partners' webhooks; see the module docstring.

    `transport` replaces the network (tests pass `httpx.MockTransport`); `rand`, `sleep`
    and `clock` replace the jitter source, the backoff wait and the outcome timestamps.
    `secret_of` gives a partner's current secret (re-read files), else the one it
    started with is used.
    """

    def __init__(
        self,
        partners: Iterable[PartnerSubscription],
        on_outcome: OutcomeCallback[R],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeouts: Timeouts | None = None,
        backoff: Backoff | None = None,
        rand: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        secret_of: Callable[[str], str | None] | None = None,
    ) -> None:
        self._partners = {p.partner_id: p for p in partners}
        self._secret_of = secret_of
        self._on_outcome = on_outcome
        self._transport = transport
        self._timeouts, self._backoff = timeouts or Timeouts(), backoff or Backoff()
        self._rand, self._sleep, self._clock = rand, sleep, clock
        self._queues: dict[str, asyncio.Queue[_Job[R]]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        self._accepting = False
        self._closed = False

    async def start(self) -> None:
        """Open the HTTP client and start one worker per partner."""
        if self._client is not None:
            raise RuntimeError("the deliverer is already running")
        self._client = httpx.AsyncClient(
            transport=self._transport,
            timeout=httpx.Timeout(self._timeouts.read, connect=self._timeouts.connect),
            # Each lane has one request in flight, so lanes, not the pool, bound connections.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=None),
            headers={"User-Agent": "returns-notify"},
        )
        for partner_id, partner in self._partners.items():
            expect_deliveries(partner_id)
            queue = self._queues[partner_id] = asyncio.Queue(maxsize=partner.queue_size)
            work = self._work(queue)
            self._workers.append(asyncio.create_task(work, name=f"deliver:{partner_id}"))
        self._accepting, self._closed = True, False

    async def submit(
        self,
        partner: PartnerSubscription,
        event_id: str,
        event_type: str,
        group_id: str,
        body: bytes,
        crossing: str | None = None,
    ) -> asyncio.Future[Settled[R]]:
        """Queue `body` (the exact event JSON) for `partner`; wait while its queue is full.

        Returns a ticket that resolves to the `Outcome` and what `on_outcome` returned
        for it, once the delivery is settled and `on_outcome` has returned. It raises
        what `on_outcome` raised, and is cancelled
        when `stop` abandons the delivery. Raises `KeyError` for an unknown partner.
        `crossing` is handed back in the `Outcome`.
        """
        if not self._accepting:
            raise RuntimeError("the deliverer is not running")
        queue, registered = self._queues[partner.partner_id], self._partners[partner.partner_id]
        future: asyncio.Future[Settled[R]] = asyncio.get_running_loop().create_future()
        job = _Job(registered, event_id, event_type, group_id, body, future, crossing)
        await queue.put(job)
        if self._closed:  # stop() abandoned the queue while we waited for room in it
            future.cancel()
        return future

    def backlog(self) -> dict[str, int]:
        """Deliveries waiting in each partner's queue (the one being attempted excluded)."""
        return {partner_id: queue.qsize() for partner_id, queue in self._queues.items()}

    async def stop(self, *, drain: bool = True, grace: float | None = None) -> None:
        """Stop taking deliveries, settle queued ones (`drain`, for up to `grace` seconds)
        or abandon them (their tickets are cancelled), then close the HTTP client."""
        if self._client is None:
            return
        self._accepting = False
        if drain:
            try:
                joined = asyncio.gather(*(queue.join() for queue in self._queues.values()))
                await asyncio.wait_for(joined, grace)
            except TimeoutError:
                log.warning("webhook drain timed out; abandoning the remaining deliveries")
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._closed = True
        for queue in self._queues.values():
            _abandon(queue)
        self._queues.clear()
        self._workers.clear()
        await self._client.aclose()
        self._client = None

    async def _work(self, queue: asyncio.Queue[_Job[R]]) -> None:
        while True:
            job = await queue.get()
            try:
                if not job.future.done():
                    await self._settle(job, await self._deliver(job))
            except asyncio.CancelledError:
                job.future.cancel()
                raise
            except Exception as exc:  # a bug must not stall the partner's lane
                _log(logging.ERROR, job, f"crashed error={type(exc).__name__}")
                if not job.future.done():
                    job.future.set_exception(exc)
            finally:
                queue.task_done()

    async def _deliver(self, job: _Job[R]) -> Outcome:
        attempt = 0
        while True:
            attempt += 1
            result = await self._attempt(job)
            final = result.error is None or not result.retryable
            final = final or attempt >= job.partner.max_attempts
            status = result.status_code or (result.error or "").split(":", 1)[0]
            failed = logging.ERROR if final else logging.WARNING
            level = logging.INFO if result.error is None else failed
            _log(level, job, f"attempt={attempt} status={status} final={final}")
            if final:
                break
            delay = self._backoff.delay(attempt, self._rand)
            if result.retry_after is not None:
                delay = max(delay, min(result.retry_after, self._backoff.cap))
            await self._sleep(delay)
        return Outcome(
            partner_id=job.partner.partner_id,
            event_id=job.event_id,
            event_type=job.event_type,
            group_id=job.group_id,
            delivered=result.error is None,
            attempts=attempt,
            status_code=result.status_code,
            last_error=result.error,
            at=self._clock(),
            crossing=job.crossing,
        )

    async def _attempt(self, job: _Job[R]) -> _Attempt:
        assert self._client is not None
        headers = {
            "Content-Type": "application/json",
            "X-Signature": sign(job.body, self._secret(job.partner)),
            "Idempotency-Key": job.event_id,
            "X-Event-Type": job.event_type,
        }
        try:
            async with asyncio.timeout(self._timeouts.attempt):
                response = await self._client.post(
                    job.partner.url, content=job.body, headers=headers
                )
        except TimeoutError:
            return _Attempt(None, f"timeout: no answer within {self._timeouts.attempt}s", True)
        except _PERMANENT_ERRORS as exc:
            return _Attempt(None, _describe(exc))
        except httpx.HTTPError as exc:  # connection refused or reset, httpx timeouts, ...
            return _Attempt(None, _describe(exc), retryable=True)
        code = response.status_code
        if 200 <= code < 300:
            return _Attempt(code, None)
        if code >= 500 or code in _RETRYABLE_STATUS:
            return _Attempt(code, f"HTTP {code}", True, _retry_after(response))
        return _Attempt(code, f"HTTP {code}")

    def _secret(self, partner: PartnerSubscription) -> str:
        current = self._secret_of(partner.partner_id) if self._secret_of else None
        return current or partner.secret

    async def _settle(self, job: _Job[R], outcome: Outcome) -> None:
        count_delivery(outcome.partner_id, outcome.delivered)
        try:
            recorded = await self._on_outcome(outcome)
        except Exception as exc:
            _log(logging.ERROR, job, f"outcome not recorded error={type(exc).__name__}")
            if not job.future.done():
                job.future.set_exception(exc)
            return
        if not job.future.done():
            job.future.set_result(Settled(outcome, recorded))


def _log(level: int, job: _Job[R], text: str) -> None:
    # Ids, attempt numbers and statuses only: bodies carry personal data.
    log.log(level, "webhook partner=%s event=%s %s", job.partner.partner_id, job.event_id, text)


def _describe(exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:_MAX_ERROR_TEXT]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else None


def _abandon(queue: asyncio.Queue[_Job[R]]) -> None:
    while not queue.empty():
        job = queue.get_nowait()
        job.future.cancel()
        queue.task_done()
