"""The topic layout and the crossing partitioner."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas import TOPICS
from services.reference import load_reference
from services.runtime.context import location_lanes
from services.runtime.publishing import Router
from services.runtime.settings import Settings
from services.runtime.topology import TopologyError, load_topology

LAYOUT = Settings().topology_file


def test_the_shipped_layout_lists_every_contract_topic() -> None:
    topology = load_topology(LAYOUT)
    assert set(TOPICS) <= set(topology.topics)


def test_decision_topics_keep_everything_forever() -> None:
    topology = load_topology(LAYOUT)
    for name, spec in TOPICS.items():
        if spec.audit_log:
            config = topology.topics[name].config
            assert config["retention.ms"] == "-1", name
            assert config["retention.bytes"] == "-1", name
            assert config["cleanup.policy"] == "delete", name


def test_every_crossing_and_mty_own_a_lane() -> None:
    topology = load_topology(LAYOUT)
    assert set(topology.lanes) == {"SAN", "CXL", "OLS", "ELP", "EGP", "LRD", "BRO", "MTY"}
    assert topology.lane_partitions == 10


def test_a_crossing_is_only_ever_written_to_its_own_partitions() -> None:
    topology = load_topology(LAYOUT)
    for lane, owned in topology.lanes.items():
        for n in range(500):
            assert topology.partition_for("screened", f"G-2026-{n:06d}", lane) in owned


def test_a_busy_crossing_spreads_its_groups_over_its_partitions() -> None:
    topology = load_topology(LAYOUT)
    used = {topology.partition_for("person-returned", f"G-{n}", "ELP") for n in range(200)}
    assert used == {3, 9}


def test_the_same_group_always_lands_on_the_same_partition() -> None:
    topology = load_topology(LAYOUT)
    first = topology.partition_for("person-returned", "G-2026-000123", "ELP")
    assert all(
        topology.partition_for("screened", "G-2026-000123", "ELP") == first for _ in range(10)
    )


def test_unknown_lanes_and_hash_topics_fall_back_to_plain_hashing() -> None:
    topology = load_topology(LAYOUT)
    assert 0 <= topology.partition_for("returns-inbound", "x", "ZZZ") < 10
    assert 0 <= topology.partition_for("intake-rejected", None, None) < 3


def test_location_events_use_the_lane_of_their_crossing() -> None:
    topology = load_topology(LAYOUT)
    router = Router(Settings(), topology, location_lanes(load_reference()))
    assert router.lane(None, "CJS") == "ELP"
    assert router.lane(None, "MTY") == "MTY"
    route = router.route("capacity-updated", "CJS-S01", None, "CJS")
    assert route.partition in topology.lanes["ELP"]


def test_the_prefix_namespaces_physical_topics() -> None:
    topology = load_topology(LAYOUT)
    router = Router(Settings(topic_prefix="t1."), topology, {})
    assert router.route("screened", "G", "ELP").topic == "t1.screened"


@pytest.mark.parametrize(
    ("lanes", "message"),
    [
        ("SAN = [0]\nELP = [2]", "cover 0..N-1"),
        ("SAN = [0, 1]\nELP = [1]", "cover 0..N-1"),
    ],
)
def test_a_broken_lane_layout_is_refused(tmp_path: Path, lanes: str, message: str) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(f"[lanes]\n{lanes}\n")
    with pytest.raises(TopologyError, match=message):
        load_topology(path)


def test_a_layout_missing_a_contract_topic_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(LAYOUT.read_text().replace("[topics.placed]", "[topics.placed-typo]"))
    with pytest.raises(TopologyError, match=r"missing \['placed'\], unknown \['placed-typo'\]"):
        load_topology(path)
