"""The topic layout (``infra/topics.toml``) and the crossing partitioner.

Every crossing owns dedicated partitions ("lanes") of each decision topic; see
docs/adr/0002-crossing-lanes.md. The partitioner is the only place that maps an
event to a partition, and every producer in the project goes through it.
"""

from __future__ import annotations

import tomllib
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from schemas.registry import TOPICS
from services.runtime.settings import ConfigurationError

Partitioning = Literal["lanes", "hash"]


class TopologyError(ConfigurationError):
    pass


@dataclass(frozen=True)
class TopicLayout:
    name: str
    partitioning: Partitioning
    partitions: int
    config: dict[str, str]


@dataclass(frozen=True)
class Topology:
    lanes: dict[str, tuple[int, ...]]
    topics: dict[str, TopicLayout]

    @property
    def lane_partitions(self) -> int:
        return sum(len(p) for p in self.lanes.values())

    def partition_for(self, topic: str, key: str | None, lane: str | None) -> int:
        """The partition of an event of ``topic`` keyed ``key`` in ``lane``.

        ``lane`` is the crossing code (or MTY). Unknown or missing lanes fall back
        to hashing over all partitions, so that unreadable input is still written.
        """
        layout = self.topics[topic]
        digest = zlib.crc32((key or "").encode())
        if layout.partitioning == "lanes" and lane in self.lanes:
            owned = self.lanes[lane]
            return owned[digest % len(owned)]
        return digest % layout.partitions

    def lane_of_partition(self, partition: int) -> str | None:
        for lane, owned in self.lanes.items():
            if partition in owned:
                return lane
        return None


def load_topology(path: Path) -> Topology:
    """Read and check the layout; every problem is reported in one error."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TopologyError(f"{path}: cannot read the topic layout: {exc}") from None
    lanes = {lane: tuple(int(p) for p in parts) for lane, parts in raw.get("lanes", {}).items()}
    used = sorted(p for parts in lanes.values() for p in parts)
    if used != list(range(len(used))) or not used:
        raise TopologyError(f"{path}: lane partitions must cover 0..N-1 exactly once, got {used}")
    defaults: dict[str, Any] = raw.get("defaults", {})
    topics = {
        name: _layout(path, name, {**defaults, **spec}, len(used))
        for name, spec in raw.get("topics", {}).items()
    }
    internal = {
        name: _layout(path, name, {**defaults, **spec}, len(used))
        for name, spec in raw.get("internal", {}).items()
    }
    missing = sorted(set(TOPICS) - set(topics))
    extra = sorted(set(topics) - set(TOPICS))
    if missing or extra:
        raise TopologyError(
            f"{path}: topics differ from the contract: missing {missing}, unknown {extra}"
        )
    return Topology(lanes=lanes, topics={**topics, **internal})


def _layout(path: Path, name: str, merged: dict[str, Any], lane_partitions: int) -> TopicLayout:
    partitioning = merged.pop("partitioning", "lanes")
    partitions = int(merged.pop("partitions", lane_partitions))
    merged.pop("owner", None)
    if partitioning == "lanes" and partitions != lane_partitions:
        raise TopologyError(f"{path}: {name}: a lanes topic has {lane_partitions} partitions")
    config = {key.replace("_", "."): str(value) for key, value in merged.items()}
    return TopicLayout(name, partitioning, partitions, config)
