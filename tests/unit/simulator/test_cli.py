"""``returns simulate`` on the command line: bad options are refused, a short run reports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from services.simulator import cli
from services.simulator.channels import Channels

app = typer.Typer()
app.command("simulate")(cli.simulate)
app.command("noop")(lambda: None)  # two commands, so that "simulate" is a subcommand
runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--surge", "ELP:10x"], "CODE:FACTORx@START"),
        (["--crossings", "ELP", "--surge", "SAN:2x@1s"], "SAN is not in this run"),
        (["--crossings", "XYZ"], "not a designated crossing"),
        (["--duration", "0"], "must be positive"),
        (["--via", "http", "--http", "http://intake.example.org", "--token", "t"], "this machine"),
        (["--via", "http"], "--token"),
    ],
)
def test_bad_options_are_refused(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["simulate", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.replace("│", " ").split())


def test_a_short_run_submits_and_reports_without_showing_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[dict[str, Any]] = []

    @contextmanager
    def fake_channels(*args: Any, **kwargs: Any) -> Iterator[Channels]:
        yield Channels(sent.append, None)

    monkeypatch.setattr(cli, "open_channels", fake_channels)
    result = runner.invoke(
        app,
        ["simulate", "--rate", "40", "--duration", "0.5", "--crossings", "ELP,SAN", "--seed", "3"],
    )
    assert result.exit_code == 0, result.output
    assert "seed 3" in result.output
    assert sent
    assert {r["crossing"] for r in sent} <= {"ELP", "SAN"}
    shown = set(result.output.replace("│", " ").split())
    for record in sent:
        person = record["person"]
        assert not shown & set(f"{person['given_names']} {person['family_names']}".split())
