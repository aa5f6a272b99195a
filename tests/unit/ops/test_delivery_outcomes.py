"""Notify counts each settled webhook delivery per partner, which the partner-down alert reads."""

from __future__ import annotations

from typing import Any

import httpx

from services.runtime import metrics
from tests.unit.notify.test_delivery import Engine, partner, running

DELIVERIES = "returns_webhook_deliveries_total"


def deliveries(partner_id: str, outcome: str) -> float | None:
    labels = {"partner": partner_id, "outcome": outcome}
    return metrics.REGISTRY.get_sample_value(DELIVERIES, labels)


def by_host(**statuses: int) -> Any:
    """Each partner (by its URL's first label) answers with its own status."""

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(statuses[request.url.host.split(".")[0].replace("-", "_")])

    return handler


async def test_a_dead_partner_counts_failures_while_the_live_one_counts_deliveries() -> None:
    alive, dead = partner("ops-alive-juarez"), partner("ops-dead-tijuana", max_attempts=2)
    handler: Any = by_host(ops_alive_juarez=202, ops_dead_tijuana=503)
    async with running(Engine([alive, dead], handler)) as engine:
        assert deliveries("ops-dead-tijuana", "failed") == 0  # a series from the start
        assert deliveries("ops-alive-juarez", "delivered") == 0
        for n in range(3):
            assert (await engine.deliver(alive, f"ev-alive-{n}")).delivered
        for n in range(2):
            assert not (await engine.deliver(dead, f"ev-dead-{n}")).delivered
    assert deliveries("ops-alive-juarez", "delivered") == 3
    assert deliveries("ops-alive-juarez", "failed") == 0
    assert deliveries("ops-dead-tijuana", "failed") == 2  # once per delivery, not per attempt
    assert deliveries("ops-dead-tijuana", "delivered") == 0


async def test_a_permanent_refusal_counts_as_failed_at_once() -> None:
    refused = partner("ops-refusing-nogales")

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(410)

    async with running(Engine([refused], handler)) as engine:
        outcome = await engine.deliver(refused, "ev-refused")
    assert (outcome.delivered, outcome.attempts) == (False, 1)
    assert deliveries("ops-refusing-nogales", "failed") == 1
