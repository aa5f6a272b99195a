"""The chaos suite's sizes, overridable from the environment to probe a machine."""

from __future__ import annotations

import os

PEOPLE = int(os.environ.get("RETURNS_CHAOS_PEOPLE", "1000"))  # returns per burst
RATE = float(os.environ.get("RETURNS_CHAOS_RATE", "15"))  # returns per second in a burst
OUTAGE_SECONDS = float(os.environ.get("RETURNS_CHAOS_OUTAGE_SECONDS", "300"))  # scenario 4
BROKER_DOWN_SECONDS = float(os.environ.get("RETURNS_CHAOS_BROKER_DOWN_SECONDS", "20"))
# Added to every scenario's seed: another run of the same faults at other moments.
SEED_OFFSET = int(os.environ.get("RETURNS_CHAOS_SEED", "0"))
# Seconds a worker may take to be ready; a loaded machine with a fresh cluster needs more.
READY_SECONDS = float(os.environ.get("RETURNS_CHAOS_READY_SECONDS", "90"))
