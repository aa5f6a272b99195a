"""The produced and decided counters, looked up once per label set, still count right."""

from __future__ import annotations

from services.runtime import instrument, metrics


def _value(name: str, **labels: str) -> float:
    found = metrics.REGISTRY.get_sample_value(name, labels)
    return found or 0.0


def test_each_send_counts_once_under_its_own_crossing() -> None:
    labels = {"service": "intake", "topic": "person-returned"}
    tij, elp = (
        _value("returns_events_out_total", **labels, crossing="TIJ"),
        _value("returns_events_out_total", **labels, crossing="ELP"),
    )

    for _ in range(3):
        instrument.produced("intake", "person-returned", "TIJ")
    instrument.produced("intake", "person-returned", "ELP")

    assert _value("returns_events_out_total", **labels, crossing="TIJ") == tij + 3
    assert _value("returns_events_out_total", **labels, crossing="ELP") == elp + 1


def test_a_crossing_that_is_no_code_is_counted_as_unknown_and_adds_no_series() -> None:
    labels = {"service": "screening", "kind": "accepted"}
    unknown = _value("returns_decisions_total", **labels, crossing="unknown")
    before = len(instrument._COUNTERS)

    instrument.decided("screening", "accepted", "Tijuana, the gate by the river")
    instrument.decided("screening", "accepted", "somewhere else entirely")
    instrument.decided("screening", "accepted", None)

    assert _value("returns_decisions_total", **labels, crossing="unknown") == unknown + 3
    assert len(instrument._COUNTERS) <= before + 1
