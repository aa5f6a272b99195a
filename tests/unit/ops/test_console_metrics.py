"""The console serves /metrics, and counts its answers by route template and status."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.unit.console import test_web

console = test_web.console  # the console on a fake placement and publisher
ANSWERS = "returns_http_responses_total"


async def scraped(client: Any) -> dict[tuple[str, str], float]:
    """The console's answers so far, (route, status) -> count, read from its own /metrics."""
    answer = await client.get("/metrics")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    counts: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(await answer.text()):
        for sample in family.samples:
            if sample.name == ANSWERS and sample.labels["service"] == "console":
                counts[sample.labels["route"], sample.labels["status"]] = sample.value
    return counts


def grew(
    before: dict[tuple[str, str], float], after: dict[tuple[str, str], float]
) -> dict[Any, float]:
    return {
        key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)
    }


async def test_pages_refusals_and_actions_are_counted_by_route_and_status(console: Any) -> None:
    client, _ = console
    before = await scraped(client)
    await client.get("/locations", allow_redirects=False)  # no session: to the login
    await client.get("/api/locations")  # no session: 401
    await client.get("/api/locations", headers={"Authorization": "Bearer tok-ana"})
    token = await test_web.log_in(client, "beto", "pw-beto")
    refused = await client.post(
        "/locations/CJS/status", data={"csrf": token, "action": "suspend", "note": "x"}
    )
    assert refused.status == 403  # a shelter coordinator may not suspend a location
    after = await scraped(client)
    assert grew(before, after) == {
        ("/locations", "303"): 1,
        ("/locations", "200"): 1,
        ("/api/locations", "401"): 1,
        ("/api/locations", "200"): 1,
        ("/login", "200"): 1,
        ("/login", "303"): 1,
        ("/locations/{code}/status", "403"): 1,  # the template, never the code
        ("/metrics", "200"): 1,  # the first scrape
    }


async def test_an_unknown_path_never_becomes_a_label(console: Any) -> None:
    client, _ = console
    before = await scraped(client)
    assert (await client.get("/G-2026-000777/whatever")).status == 404
    after = await scraped(client)
    assert grew(before, after) == {("unmatched", "404"): 1, ("/metrics", "200"): 1}
    assert not any("G-2026" in route for route, _ in after)
