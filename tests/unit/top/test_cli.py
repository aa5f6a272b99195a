"""``returns top --once`` on fakes: it catches up, prints one frame and exits."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from services.observe import Observation
from services.runtime.settings import Settings
from services.top import cli
from tests.unit.top.factories import reached, returned, screened


class FakeReader:
    """A reader whose history is a family at Ciudad Juárez screened and placed in 1.2 s."""

    opened: list[dict[str, Any]] = []

    def __init__(self, settings: Settings, *, from_beginning: bool = False) -> None:
        FakeReader.opened.append({"prefix": settings.topic_prefix, "from": from_beginning})
        self.missing: list[str] = []
        now = time.time() - 5
        self._history: list[Observation] = [
            returned("G-2026-000123", 0, now, size=2),
            returned("G-2026-000123", 1, now + 0.1, size=2),
            screened("G-2026-000123", now + 0.5),
            reached("placed", "G-2026-000123", now + 1.2),
        ]

    def read_until_caught_up(self, timeout: float) -> list[Observation]:
        history, self._history = self._history, []
        return history

    def poll(self, timeout: float) -> list[Observation]:
        time.sleep(min(timeout, 0.01))
        return []

    def __enter__(self) -> FakeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class FakeProbe:
    def __init__(self, settings: Settings, lanes: Mapping[str, Sequence[int]]) -> None:
        self.last_error: str | None = None

    def measure(self) -> dict[str, dict[str, int | None]]:
        return {"screening": {"ELP": 4_321}}

    def __enter__(self) -> FakeProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setattr(cli, "TopicReader", FakeReader)
    monkeypatch.setattr(cli, "LagProbe", FakeProbe)
    monkeypatch.setattr(cli, "ONCE_SAMPLE_SECONDS", 0.05)
    FakeReader.opened = []
    app = typer.Typer()
    app.command("top")(cli.top)
    app.command("other")(lambda: None)  # two commands: `top` stays a subcommand
    return app


def test_once_prints_one_frame_with_the_figures_and_exits(app: typer.Typer) -> None:
    result = CliRunner().invoke(
        app, ["top", "--once", "--from-beginning", "--prefix", "t1.", "--bootstrap", "h:1"]
    )
    assert result.exit_code == 0, result.output
    [elp] = [line for line in result.output.splitlines() if line.startswith("│ ELP")]
    assert "4,321" in elp
    assert "0.50s (1)" in elp
    assert "1.20s (1)" in elp
    assert "h:1 · prefix t1." in result.output
    assert FakeReader.opened == [{"prefix": "t1.", "from": True}]


def test_a_window_under_five_seconds_is_refused(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["top", "--once", "--window", "1"])
    assert result.exit_code != 0
