"""Scenario 4: a webhook partner down (503) for five minutes while a burst is decided, then
back. Notify gives up on each request after its attempts (`notification-failed`); the
operator runs `returns notify redeliver` once the partner answers again. The partner
de-duplicates by `Idempotency-Key` and must end up with every request addressed to it,
each key once; the other partner, up all along, is not touched by the outage.

The outage lasts RETURNS_CHAOS_OUTAGE_SECONDS (300 s under `make chaos`)."""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.chaos.harness import (
    REPO_ROOT,
    RETURNS,
    ChaosStack,
    chaos_broker,
    chaos_workdir,
    write_table,
)
from tests.chaos.settings import OUTAGE_SECONDS, PEOPLE, RATE, SEED_OFFSET

SEED = 2026_12_04 + SEED_OFFSET
DOWN = "/legal-aid"


def keys_delivered(stack: ChaosStack, path: str) -> Counter[str]:
    """The partner's de-duplication: each Idempotency-Key it accepted, with how often."""
    return Counter(r.headers["idempotency-key"] for r in stack.partners.delivered(path))


def redeliver(stack: ChaosStack, since: datetime) -> str:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap,
        "RETURNS_TOPIC_PREFIX": stack.runtime.settings.topic_prefix,
        "RETURNS_PARTNERS_FILE": str(stack.workdir / "partners.toml"),
    }
    result = subprocess.run(
        [
            str(RETURNS),
            "notify",
            "redeliver",
            "--partner",
            "legal-aid",
            "--since",
            since.isoformat(),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def expected_keys(stack: ChaosStack) -> set[str]:
    """Every request the partner must get: the legal-aid requests, and their updates."""
    events = stack.read(("legal-aid-requested", "request-updated"))
    legal_aid = {e.event_id for e in events["legal-aid-requested"]}
    updates = {
        e.event_id for e in events["request-updated"] if e.data.request_event_id in legal_aid
    }
    return legal_aid | updates


@pytest.mark.chaos
@pytest.mark.timeout(int(OUTAGE_SECONDS) + 900)
def test_a_partner_down_for_minutes_gets_every_request_once_after_redelivery() -> None:
    with (
        chaos_broker("partner") as broker,
        ChaosStack(broker.bootstrap, chaos_workdir("partner")) as stack,
    ):
        since = datetime.now(UTC) - timedelta(seconds=5)
        stack.partners.set_down(DOWN, True)
        down_at = time.time()
        burst = stack.burst(people=PEOPLE, rate=RATE, seed=SEED)
        time.sleep(max(0.0, down_at + OUTAGE_SECONDS - time.time()))
        stack.partners.set_down(DOWN, False)
        back = time.time()
        while stack.lag.latest() != 0 and time.time() - back < 120:
            time.sleep(0.5)  # notify has settled what it was still trying
        during = sum(1 for r in stack.partners.tried(DOWN) if r.status != 200)
        summary = redeliver(stack, since)  # the operator's step, as soon as the partner is back

        deadline = time.monotonic() + 300
        while not expected_keys(stack) <= keys_delivered(stack, DOWN).keys():
            if time.monotonic() > deadline:
                break
            time.sleep(2.0)
        all_delivered = time.time()
        stack.wait_quiescent()
        row = stack.row(f"partner outage ({OUTAGE_SECONDS:g} s, 503)", back)
        expected = expected_keys(stack)  # once quiescent: every request there will be
        care = {e.event_id for e in stack.read(("care-requested",))["care-requested"]}
        delivered = keys_delivered(stack, DOWN)
        other = keys_delivered(stack, "/care")

    missing = expected - delivered.keys()
    unexpected = delivered.keys() - expected
    repeats = sum(n - 1 for n in delivered.values())
    row.lost += len(missing)
    row.recover_s = all_delivered - back if not missing else None
    row.notes += [
        f"{len(expected)} requests for the partner, {len(delivered)} distinct keys delivered, "
        f"{len(missing)} missing, {repeats} repeated deliveries (de-duplicated by key)",
        f"{during} attempts refused during the outage; redeliver: {summary}",
        "recover = partner back -> every request delivered",
    ]
    write_table(row)
    assert burst.failed == 0
    assert missing == set(), f"{len(missing)} requests never delivered"
    assert unexpected == set(), f"{len(unexpected)} keys the partner should not have got"
    assert care <= other.keys(), "the partner that stayed up missed requests"
    assert row.lost == 0, row.line()
    assert row.incomplete == 0, row.line()
    assert row.mismatches == 0, row.line()
