"""The writer's table, read and written through one small seam (a mapping of str to bytes).

The app passes its faust table; tests pass a dict. Writes happen only in the writer
agent, while it processes the unit's partition (faust sends each to that changelog
partition, in order): the group records first, the unit state last, so a crash leaves
either the whole command or a prefix that `applied_offset` shows to be incomplete.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from services.placement.handlers import GroupLookup, Outcome
from services.placement.records import (
    GroupRecord,
    UnitState,
    group_key,
    seed_unit,
    unit_key,
    with_seeded,
)
from services.placement.routing import PlacementUnits
from services.reference import Reference


class UnitStore:
    """Unit states and group records in one table."""

    def __init__(
        self, table: MutableMapping[str, bytes], reference: Reference, units: PlacementUnits
    ) -> None:
        self.table = table
        self.units = units
        self._seeds = {
            unit: seed_unit(reference, unit, units.locations_of(unit))
            for unit in units.partition_by_unit
        }

    def load(self, unit: str) -> UnitState:
        """The unit's state: as last written, or seeded from the reference data."""
        raw = self.table.get(unit_key(unit))
        if raw is None:
            return self._seeds[unit]
        return with_seeded(UnitState.model_validate_json(raw), self._seeds[unit])

    def lookup(self, state: UnitState) -> GroupLookup:
        """Group records of `state`'s unit as of its last applied command."""

        def find(group_id: str) -> GroupRecord | None:
            raw = self.table.get(group_key(state.unit, group_id))
            if raw is None:
                return None
            return GroupRecord.model_validate_json(raw).valid_at(state.applied_offset)

        return find

    def save(self, outcome: Outcome, before: UnitState) -> bool:
        """Write what `outcome` changed in the unit `before`; False when nothing changed.

        Each group record keeps the version it replaces, so that a crash between the
        records and the unit state cannot lose what the unit state still relies on.
        """
        if not outcome.changed:
            return False
        find = self.lookup(before)
        latest = {record.group_id: record for record in outcome.records}  # last version wins
        for record in latest.values():
            replaced = find(record.group_id)
            if replaced is not None:
                record = record.model_copy(
                    update={"previous": replaced.model_copy(update={"previous": None})}
                )
            self.table[group_key(record.unit, record.group_id)] = record.model_dump_json().encode()
        state = outcome.state
        self.table[unit_key(state.unit)] = state.model_dump_json().encode()
        return True

    def group(self, unit: str, group_id: str) -> GroupRecord | None:
        """A group's record as stored (for ops and tests), valid or not."""
        raw = self.table.get(group_key(unit, group_id))
        return None if raw is None else GroupRecord.model_validate_json(raw)
