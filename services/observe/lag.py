"""Consumer lag per crossing: each service's group on its input topic, per lane.

Lag is the end offset minus the group's committed offset, summed over the lane's
partitions. A partition the group never committed counts from its first offset
(the group would start there: the services read from the earliest offset).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from services.runtime.identity import ServiceIdentity

# The input whose backlog tells whether a service keeps up (placement also reads the
# INM topics and notify ``screened``, but these carry the bulk of each one's work).
SERVICE_INPUTS: dict[str, str] = {
    "intake": "returns-inbound",
    "screening": "person-returned",
    "placement": "screened",
    "notify": "placed",
}


def consumer_group(prefix: str, service: str) -> str:
    """The consumer group (faust app id) of ``service`` under topic prefix ``prefix``."""
    return ServiceIdentity(service, prefix).consumer_group


def lane_lags(
    committed: Mapping[int, int],
    ends: Mapping[int, int],
    starts: Mapping[int, int],
    lanes: Mapping[str, Iterable[int]],
) -> dict[str, int | None]:
    """Lag per lane, from per-partition offsets of one group on one topic.

    ``committed`` holds the committed offsets (a missing or negative one: never
    committed). When the group committed nothing at all, every lane is None: the
    group is unknown or has not started, and a number would mislead.
    """
    if not any(offset >= 0 for offset in committed.values()):
        return dict.fromkeys(lanes)
    lags: dict[str, int | None] = {}
    for lane, partitions in lanes.items():
        total = 0
        for partition in partitions:
            done = committed.get(partition, -1)
            base = done if done >= 0 else starts.get(partition, 0)
            total += max(0, ends.get(partition, 0) - base)
        lags[lane] = total
    return lags
