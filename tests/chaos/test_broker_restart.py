"""Scenario 2: the broker stopped in the middle of a burst, once with SIGTERM (a controlled
shutdown) and once with SIGKILL (a crash), down for about 20 s, then started again on the
same data. The services ride it out (a worker that exits is started again, as an
orchestrator would); afterwards nothing may be lost, and `returns audit verify` must bear
out every decision, placements included."""

from __future__ import annotations

import random
import signal
import time

import pytest

from tests.chaos.harness import Broker, ChaosStack, Fault, chaos_broker, chaos_workdir, write_table
from tests.chaos.settings import BROKER_DOWN_SECONDS, PEOPLE, RATE, SEED_OFFSET

SEED = 2026_12_02 + SEED_OFFSET


def restart_broker(broker: Broker, how: signal.Signals, at_share: float = 0.4) -> Fault:
    """Stop the broker with ``how`` at ``at_share`` of the burst; start it again later."""

    def inject(stack: ChaosStack, started: float) -> float:
        time.sleep(max(0.0, started + at_share * PEOPLE / RATE - time.time()))
        broker.signal(how)
        time.sleep(BROKER_DOWN_SECONDS)
        broker.up()
        return time.time()

    return inject


@pytest.mark.chaos
@pytest.mark.timeout(900)
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_broker_restart_mid_burst_loses_nothing_and_verifies(how: signal.Signals) -> None:
    name = f"broker-{how.name.lower()}"
    with (
        chaos_broker(name) as broker,
        ChaosStack(broker.bootstrap, chaos_workdir(name)) as stack,
    ):
        burst = stack.burst(
            people=PEOPLE,
            rate=RATE,
            seed=SEED,
            fault=restart_broker(broker, how, random.Random(SEED).uniform(0.3, 0.6)),
        )
        stack.wait_quiescent()
        row = stack.row(
            f"broker restart ({how.name}, {BROKER_DOWN_SECONDS:g} s down)", burst.fault_end
        )
    if burst.failed:
        row.notes.append(f"{burst.failed} submissions failed in transport")
    write_table(row)
    assert row.lost == 0, row.line()
    assert row.incomplete == 0, row.line()
    assert row.mismatches == 0, row.line()
    assert row.recover_s is not None, row.line()
