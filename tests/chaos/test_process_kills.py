"""Scenario 1: every service killed with SIGKILL in the middle of a burst, five times each
at random (seeded) moments, screening and placement with two workers each; each victim
starts again a few seconds later. Nothing may be lost or mis-decided; duplicates carry
the same event id and are counted."""

from __future__ import annotations

import random
import time

import pytest

from tests.chaos.harness import (
    WORKERS,
    ChaosStack,
    chaos_broker,
    chaos_workdir,
    write_table,
)
from tests.chaos.settings import PEOPLE, RATE, SEED_OFFSET
from tests.support.services import ServiceProcess

KILLS_PER_SERVICE = 5
SEED = 2026_12_01 + SEED_OFFSET


def kill_schedule(duration: float, rng: random.Random) -> list[tuple[float, str, int, float]]:
    """(at, service, worker index, seconds down) for every kill, in time order."""
    kills = []
    for service, workers in WORKERS.items():
        for _ in range(KILLS_PER_SERVICE):
            at = rng.uniform(0.1 * duration, 0.85 * duration)
            kills.append((at, service, rng.randrange(workers), rng.uniform(2.0, 5.0)))
    return sorted(kills)


@pytest.mark.chaos
@pytest.mark.timeout(900)
def test_sigkill_of_every_service_mid_burst_loses_nothing() -> None:
    rng = random.Random(SEED)
    schedule = kill_schedule(PEOPLE / RATE, rng)

    def inject(stack: ChaosStack, started: float) -> float:
        pending: list[tuple[float, ServiceProcess]] = []  # (when, worker) to start again
        kills = list(schedule)
        while kills or pending:
            now = time.time() - started
            if kills and kills[0][0] <= now:
                _, service, index, down = kills.pop(0)
                victim = stack.workers[service][index]
                if all(victim is not w for _, w in pending):  # already down: skip this one
                    stack.kill(victim)
                    pending.append((now + down, victim))
            for due in [p for p in pending if p[0] <= now]:
                pending.remove(due)
                stack.restart(due[1])
            time.sleep(0.1)
        return time.time()

    with (
        chaos_broker("kills") as broker,
        ChaosStack(broker.bootstrap, chaos_workdir("kills")) as stack,
    ):
        burst = stack.burst(people=PEOPLE, rate=RATE, seed=SEED, fault=inject)
        stack.wait_quiescent()
        row = stack.row("process kills (SIGKILL x5 each)", burst.fault_end)
    row.notes.insert(0, f"{len(schedule)} kills")
    write_table(row)
    assert burst.failed == 0
    assert row.lost == 0, row.line()
    assert row.incomplete == 0, row.line()
    assert row.mismatches == 0, row.line()
    assert row.recover_s is not None, row.line()
