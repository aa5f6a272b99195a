"""The single writer's loop body: one command of ``placement-commands`` from bytes to effects.

Order of effects, and why: the events are sent and acknowledged first, then the group
records and, last, the unit state are written, then the writes are flushed. A crash
before the unit state is on the changelog leaves the command unapplied
(`applied_offset` is older), so it is processed again from the same state, emitting the
same events: identical duplicates, never a different placement. A command whose offset
the unit has already applied is skipped. Once a command is written, the unit's ended
records kept past their retention are deleted, a few per command (`retention`); an
accepted decision too old for that memory, of a group the unit does not know, is
refused instead of placed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn

from pydantic import ValidationError

from services.placement.commands import Command, PlaceGroup, decode_command
from services.placement.handlers import Emission, Outcome, decide
from services.placement.metrics import PlacementCounters, Rejection
from services.placement.records import UnitState
from services.placement.routing import PlacementUnits
from services.placement.store import UnitStore
from services.runtime.consume import InvalidEvent

log = logging.getLogger(__name__)

Emit = Callable[[Emission], Awaitable[None]]
"""Send one event and return once the broker has acknowledged it."""


@dataclass
class CommandWriter:
    """Applies commands to the unit states in `store`; `emit` and `flush` do the I/O."""

    store: UnitStore
    units: PlacementUnits
    counters: PlacementCounters
    emit: Emit
    flush: Callable[[], Awaitable[None]]
    producer: str

    async def handle(self, raw: bytes, partition: int, offset: int) -> Outcome | None:
        """Process the command `raw` read at `partition`@`offset`; None when it was
        applied already. Raises `InvalidEvent` for one that cannot be applied."""
        command = self._command(raw, partition, offset)
        self.counters.commands[command.kind] += 1
        state = self.store.load(command.unit)
        if offset <= state.applied_offset:
            self.counters.duplicates_skipped += 1  # redelivered after a crash: already applied
            return None
        if self._forgotten(command, state):
            return None
        try:
            queues = self.store.queues(state).locations
            outcome = decide(
                command, state, queues, offset, self.store.lookup(state), self.producer
            )
        except (KeyError, ValueError) as exc:
            self._reject("UNPROCESSABLE_COMMAND", f"{command.kind} at {offset}: {exc}")
        for emission in outcome.emissions:
            await self.emit(emission)
        if self.store.save(outcome, state):
            await self.flush()
        self.store.expire(outcome.state, command.issued_at)
        self._count(outcome)
        return outcome

    def _forgotten(self, command: Command, state: UnitState) -> bool:
        """Whether `command` places a group of a decision older than the unit's memory of
        ended groups, which the unit does not know (see `retention`): it is refused."""
        if not isinstance(command, PlaceGroup):
            return False
        if not self.store.retention.forgotten(command.decided_at, command.issued_at):
            return False
        if self.store.lookup(state)(command.group_id) is not None:
            return False
        detail = "decided longer ago than RETURNS_PLACEMENT_RETAIN_DAYS; not placed"
        self.counters.reject(
            Rejection(
                "DECISION_BEYOND_RETENTION",
                command.screened_event_id,
                "screened",
                detail,
                command.location,
            )
        )
        return True

    def _command(self, raw: bytes, partition: int, offset: int) -> Command:
        try:
            command = decode_command(raw)
        except ValidationError:
            self._reject("INVALID_COMMAND", f"unreadable command at {partition}@{offset}")
        owned = self.units.partition_by_unit.get(command.unit)
        if owned != partition:
            # The topic layout changed under the unit: its state is on another partition.
            self._reject("WRONG_PARTITION", f"{command.unit} at {partition}, expected {owned}")
        return command

    def _count(self, outcome: Outcome) -> None:
        for emission in outcome.emissions:
            data = emission.envelope.data
            if emission.topic == "placed":
                self.counters.count_placed(rerouted=data.rerouted_from is not None)
            elif emission.topic == "placement-withdrawn":
                self.counters.withdrawn[data.reason] += 1
            else:
                self.counters.count_deferred(data.reason)
        for rejection in outcome.rejections:
            self.counters.reject(rejection)
        if outcome.duplicate:
            self.counters.duplicates_skipped += 1

    def _reject(self, reason: str, detail: str) -> NoReturn:
        """Skip a command that cannot be applied, before any effect: kept for the ops view,
        logged and counted by the consuming loop."""
        self.counters.record(Rejection(reason, None, "placement-commands", detail))
        raise InvalidEvent(reason)
