"""The ops view over HTTP, answered by the worker that owns each location's unit.

``GET /v1/locations/{code}``: the owner answers from its table; any other worker forwards
the request to the owner (faust's assignment tells who it is) and relays the answer.
``GET /v1/locations``: every location, each asked of its owner. ``GET
/v1/placement/counters``: this worker's counters and its last rejected inputs.
faust's own ``table_route`` cannot be used: it finds a key's partition by hashing the
key, while placement keeps a unit's keys on the unit's fixed partition.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import faust
from faust.types import TP
from faust.web import Request, Response, View

from services.placement.metrics import PlacementCounters
from services.placement.ops_view import location_view
from services.placement.routing import PlacementUnits
from services.placement.store import UnitStore

FORWARDED = "X-Returns-Forwarded"
FORWARD_TIMEOUT_S = 3.0

Answer = tuple[int, dict[str, Any]]
RecordRead = Callable[[Request, str, str, dict[str, Any]], Awaitable[None]]
"""Records one read (request, view, location or "all", the answer) on ``access-logged``."""


class OpsView:
    """Finds the owner of a location's unit and gets its view, locally or from the owner."""

    def __init__(
        self,
        app: faust.App,
        store: UnitStore,
        units: PlacementUnits,
        commands_topic: str,
        changelog_topic: str,
        ready: Callable[[], bool],
    ) -> None:
        self.app = app
        self.store = store
        self.units = units
        self.commands_topic = commands_topic
        self.changelog_topic = changelog_topic
        self.ready = ready

    def owns(self, code: str) -> bool:
        tp = TP(self.commands_topic, self.units.partition_for(code))
        return tp in self.app.assignor.assigned_actives()

    def owner_url(self, code: str) -> str | None:
        partition = self.units.partition_for(code)
        for url, topics in self.app.router.tables_metadata().items():
            if partition in topics.get(self.changelog_topic, ()):
                return str(url)
        return None

    async def answer(self, code: str, forwarded: bool) -> Answer:
        """The view of location `code`, with the HTTP status to answer it with."""
        if code not in self.units.unit_by_location:
            return 404, {"error": "unknown_location", "location": code}
        if self.owns(code):
            if not self.ready():
                return 503, {"error": "recovering", "location": code}
            state = self.store.view(self.units.unit_of(code))
            view = location_view(state, code, datetime.now(UTC))
            return 200, {**view, "served_by": str(self.app.conf.canonical_url)}
        owner = self.owner_url(code)
        if forwarded or owner is None or owner == str(self.app.conf.canonical_url):
            # Assignment is changing (or unknown): never forward twice.
            return 503, {"error": "owner_unknown", "location": code}
        return await self._from_owner(owner, code)

    async def _from_owner(self, owner: str, code: str) -> Answer:
        url = f"{owner.rstrip('/')}/v1/locations/{code}"
        timeout = aiohttp.ClientTimeout(total=FORWARD_TIMEOUT_S)
        try:
            async with self.app.http_client.get(
                url, headers={FORWARDED: "1"}, timeout=timeout
            ) as response:
                body: dict[str, Any] = await response.json()
                return response.status, body
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return 503, {"error": "owner_unreachable", "location": code, "owner": owner}

    async def answer_all(self) -> Answer:
        """Every location in code order; 200 with ``complete: false`` when one did not answer."""
        codes = sorted(self.units.unit_by_location)
        answers = await asyncio.gather(*(self.answer(code, forwarded=False) for code in codes))
        locations = [body for _, body in answers]
        complete = all(status == 200 for status, _ in answers)
        return 200, {
            "as_of": datetime.now(UTC).isoformat(),
            "complete": complete,
            "locations": locations,
        }


def register_ops_routes(
    app: faust.App,
    ops: OpsView,
    counters: PlacementCounters,
    record_read: RecordRead | None = None,
) -> None:
    """``/v1/locations``, ``/v1/locations/{code}`` and ``/v1/placement/counters``.

    The location views show groups: each answer is recorded with ``record_read`` (by the
    worker the request came to, not on a forwarded hop) before it is sent; a read that
    cannot be recorded is answered 503.
    """

    async def recorded(request: Request, view: str, subject: str, answer: Answer) -> Answer:
        status, body = answer
        if record_read is None or status != 200 or FORWARDED in request.headers:
            return answer
        try:
            await record_read(request, view, subject, body)
        except Exception:  # the broker, whichever way it failed: the read is not served
            return 503, {"error": "access_not_recorded", "message": "try again shortly"}
        return answer

    @app.page("/v1/locations/{code}")
    async def one_location(self: View, request: Request, code: str) -> Response:
        answer = await ops.answer(code, forwarded=FORWARDED in request.headers)
        status, body = await recorded(request, "GET /v1/locations/{code}", code, answer)
        return self.json(body, status=status)

    @app.page("/v1/locations")
    async def all_locations(self: View, request: Request) -> Response:
        answer = await ops.answer_all()
        status, body = await recorded(request, "GET /v1/locations", "all", answer)
        return self.json(body, status=status)

    @app.page("/v1/placement/counters")
    async def placement_counters(self: View, request: Request) -> Response:
        return self.json(
            {"served_by": str(app.conf.canonical_url), **counters.snapshot()}, status=200
        )
