"""The writer's table, read and written through one small seam (a mapping of str to bytes).

The app passes its faust table; tests and the audit's simulator pass a dict. Writes
happen only in the writer agent, while it processes the unit's partition (faust sends
each to that changelog partition, in order): the group records first, the unit value
last, so a crash leaves either the whole command or a prefix that `applied_offset` shows
to be incomplete. The queues are an in-memory index over the records (`queues`), built
on a unit's first use and kept in step by `save`; so is the index of ended records by
the time they may be deleted (`retention`), which `expire` works off a few at a time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, replace
from datetime import datetime

from pydantic import ValidationError

from services.placement.handlers import GroupLookup, Outcome
from services.placement.legacy import LegacyEntry, read_legacy_unit
from services.placement.queues import LocationQueue, UnitQueues
from services.placement.records import (
    GROUP_CODEC,
    UNIT_CODEC,
    GroupRecord,
    UnitState,
    group_key,
    group_prefix,
    seed_unit,
    unit_key,
)
from services.placement.retention import EXPIRED_PER_COMMAND, Retention, noting_expiry
from services.placement.routing import PlacementUnits
from services.placement.state import LocationState
from services.reference import Reference
from services.runtime.due import DueHeap
from services.runtime.memory import release_free_memory
from services.runtime.stores import values_with_prefix


@dataclass(frozen=True)
class UnitView:
    """A unit as last applied: its small state and its queues (for ops, metrics and tests)."""

    state: UnitState
    queues: UnitQueues

    @property
    def unit(self) -> str:
        return self.state.unit

    @property
    def locations(self) -> Mapping[str, LocationState]:
        return self.state.locations

    def queue(self, code: str) -> tuple[GroupRecord, ...]:
        return tuple(self.queues.queue(code).groups)


class UnitStore:
    """Unit values and group records in one table, and the unit's queues in memory."""

    def __init__(
        self,
        table: MutableMapping[str, bytes],
        reference: Reference,
        units: PlacementUnits,
        retention: Retention | None = None,
    ) -> None:
        self.table = table
        self.units = units
        self.retention = retention or Retention()
        self._seeds = {
            unit: seed_unit(reference, unit, units.locations_of(unit))
            for unit in units.partition_by_unit
        }
        self._queues: dict[str, UnitQueues] = {}
        self._expiring: dict[str, DueHeap] = {}
        self._legacy: dict[str, dict[str, LegacyEntry]] = {}  # unit -> waits not yet written

    def load(self, unit: str) -> UnitState:
        """The unit's state: as last written, or seeded from the reference data."""
        raw = self.table.get(unit_key(unit))
        if raw is None:
            return self._seeds[unit]
        try:
            state = UNIT_CODEC.validate_json(raw)
        except ValidationError:
            legacy = read_legacy_unit(raw)
            if legacy is None:
                raise
            state, queues = legacy
            entries = (entry for queue in queues.values() for entry in queue)
            self._legacy[unit] = {entry.group_id: entry for entry in entries}
        return state.seeded(self._seeds[unit])

    def queues(self, state: UnitState) -> UnitQueues:
        """The queues of `state`'s unit as of its `applied_offset`, built from the records if
        the index is missing or belongs to another offset."""
        index = self._queues.get(state.unit)
        if index is None or index.applied_offset != state.applied_offset:
            index = self._built(state)
        return index

    def _built(self, state: UnitState) -> UnitQueues:
        """Both indexes of `state`'s unit in one pass over its records.

        Each record is parsed, noted and let go: the queues keep only the waiting groups
        and the expiry index only an id and a time, never the unit's records as a list
        (62,951 at 100,000 groups; 20,000 took 34 MiB of heap at once). What the pass
        freed is handed back to the system once it is over."""
        expiring = DueHeap()
        stored = self._records(state.unit)
        noted = noting_expiry(stored, state.applied_offset, self.retention, expiring)
        if state.unit in self._legacy:
            deque(noted, maxlen=0)
            find = self.lookup(state)
            records = (find(group_id) for group_id in self._legacy[state.unit])
            waiting = [record for record in records if record is not None]
            index = UnitQueues.built(waiting, state.applied_offset)
        else:
            index = UnitQueues.built(noted, state.applied_offset)
        self._queues[state.unit] = index
        self._expiring[state.unit] = expiring
        release_free_memory()
        return index

    def forget(self) -> None:
        """Partitions were assigned: the queues are built again on each unit's next use."""
        self._queues = {}
        self._expiring = {}

    def expire(self, state: UnitState, now: datetime, limit: int = EXPIRED_PER_COMMAND) -> int:
        """Delete the ended records of `state`'s unit kept past the retention by `now`,
        at most `limit` (the rest on later calls); how many were deleted.

        Called by the writer once a command's writes are in the table: each record is
        read again first, and one written by a command not yet applied, or live again,
        is left alone. A record stored before `changed_at` was kept is stamped `now`
        instead (it is deleted a retention later).
        """
        self.queues(state)
        expiring = self._expiring[state.unit]
        done = 0
        while done < limit:
            group_id = expiring.pop_due(now)
            if group_id is None:
                break
            key = group_key(state.unit, group_id)
            raw = self.table.get(key)
            if raw is None:
                continue
            record = GROUP_CODEC.validate_json(raw)
            due = self.retention.expires_at(record)
            if record.written_offset > state.applied_offset or due is None or due > now:
                continue  # partial, live again, or changed since: a later entry covers it
            if record.changed_at is None:
                stamped = record.stamped(now)
                self.table[key] = GROUP_CODEC.dump_json(stamped)
                expiring.add(group_id, now + self.retention.keep)
            else:
                del self.table[key]
            done += 1
        return done

    def expiry_due(self, unit: str, now: datetime) -> bool:
        """Whether `unit` has a record to delete (or stamp) by `now`."""
        self.queues(self.load(unit))
        due = self._expiring[unit].next_at()
        return due is not None and due <= now

    def view(self, unit: str) -> UnitView:
        state = self.load(unit)
        return UnitView(state, self.queues(state))

    def lookup(self, state: UnitState) -> GroupLookup:
        """Group records of `state`'s unit as of its last applied command."""

        def find(group_id: str) -> GroupRecord | None:
            raw = self.table.get(group_key(state.unit, group_id))
            if raw is None:
                return None
            record = GROUP_CODEC.validate_json(raw).valid_at(state.applied_offset)
            legacy = self._legacy.get(state.unit, {}).get(group_id)
            if record is not None and legacy is not None and record.status == "waiting":
                return replace(record, wait=legacy.wait)  # its wait, as the old value had it
            return record

        return find

    def save(self, outcome: Outcome, before: UnitState) -> bool:
        """Write what `outcome` changed in the unit `before`; False when nothing changed.

        Each group record keeps the version it replaces, so that a crash between the
        records and the unit value cannot lose what the unit value still relies on.
        The queues the command left replace the index's only once all is written.
        """
        index = self.queues(before)
        if not outcome.changed:
            index.installed(before.applied_offset, outcome.queues)
            return False
        find = self.lookup(before)
        state = outcome.state
        records = list(outcome.records)
        if before.unit in self._legacy:
            records += self._migrated(index, outcome, state.applied_offset)
        expiring = self._expiring[before.unit]
        for record in records:
            written = record.replacing(find(record.group_id))
            self.table[group_key(record.unit, record.group_id)] = GROUP_CODEC.dump_json(written)
            due = self.retention.expires_at(record)
            if due is not None:
                expiring.add(record.group_id, due)
        self.table[unit_key(state.unit)] = UNIT_CODEC.dump_json(state)
        self._legacy.pop(before.unit, None)
        index.installed(state.applied_offset, outcome.queues)
        return True

    def _migrated(self, index: UnitQueues, outcome: Outcome, offset: int) -> list[GroupRecord]:
        """The waiting groups an old unit value listed that `outcome` does not write itself."""
        written = {record.group_id for record in outcome.records}
        queues = {**index.locations, **outcome.queues}
        return [
            replace(record, written_offset=offset)
            for queue in queues.values()
            for record in queue.groups
            if record.group_id not in written
        ]

    def group(self, unit: str, group_id: str) -> GroupRecord | None:
        """A group's record as stored (for ops and tests), valid or not."""
        raw = self.table.get(group_key(unit, group_id))
        return None if raw is None else GROUP_CODEC.validate_json(raw)

    def _records(self, unit: str) -> Iterator[GroupRecord]:
        # A seek on a worker's RocksDB store; a dict (tests) is walked and filtered.
        for raw in values_with_prefix(self.table, group_prefix(unit)):
            yield GROUP_CODEC.validate_json(raw)


__all__ = ["LocationQueue", "UnitQueues", "UnitStore", "UnitView"]
