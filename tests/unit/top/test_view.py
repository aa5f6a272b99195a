"""A frame shows every crossing's figures; unknown lags and empty p95s show as a dash."""

from __future__ import annotations

from rich.console import Console

from services.observe import Observer
from services.top.view import lag, per_second, render, seconds
from tests.unit.top.factories import T0, reached, returned, screened


def text_of(renderable: object) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_a_frame_has_a_row_per_crossing_with_its_lags_and_p95() -> None:
    observer = Observer(["SAN", "ELP"], window=60)
    observer.add(returned("G-ELP-1", 0, T0))
    observer.add(screened("G-ELP-1", T0 + 0.42))
    observer.add(reached("placed", "G-ELP-1", T0 + 0.9))
    lags = {"intake": {"ELP": 12, "SAN": 0}, "screening": {"ELP": 1_500}}
    frame = text_of(render(observer.snapshot(T0 + 2), lags, source="127.0.0.1:9092"))
    [elp] = [line for line in frame.splitlines() if line.startswith("│ ELP")]
    assert "12" in elp
    assert "1,500" in elp
    assert "0.42s (1)" in elp
    assert "0.90s (1)" in elp
    assert "returns top · 127.0.0.1:9092" in frame
    assert any(line.startswith("│ SAN") for line in frame.splitlines())


def test_notes_are_shown_under_the_table() -> None:
    observer = Observer(["ELP"], window=60)
    frame = text_of(
        render(observer.snapshot(T0), {}, source="x", notes=("no such topics: placed",))
    )
    assert "no such topics: placed" in frame


def test_cells_format_for_a_narrow_column() -> None:
    assert [per_second(r) for r in (0.25, 2.4, 12.46, 160.4)] == ["0.25", "2.40", "12.5", "160"]
    assert [lag(v) for v in (None, 0, 12_345)] == ["-", "0", "12,345"]
    assert seconds(None, 0) == "-"
    assert seconds(0.4234, 35) == "0.42s (35)"
    assert seconds(42.4, 3) == "42s (3)"
