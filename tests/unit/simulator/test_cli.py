"""``returns simulate`` on the command line: bad options are refused, a short run reports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
        (["--delay-profile", "overnight"], "no delay profile 'overnight'"),
        (["--member-spread", "5m..1m"], "LOW..HIGH"),
        (["--max-delay", "soon"], "not a duration"),
        (["--spread-share", "2"], "spread-share"),
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


def test_a_run_is_late_from_several_sources_and_keyed_as_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[dict[str, Any]] = []
    opened: dict[str, Any] = {}

    @contextmanager
    def fake_channels(*args: Any, **kwargs: Any) -> Iterator[Channels]:
        opened.update(kwargs)
        yield Channels(sent.append, None)

    monkeypatch.setattr(cli, "open_channels", fake_channels)
    args = ["simulate", "--rate", "60", "--duration", "1", "--crossings", "ELP", "--seed", "5"]
    result = runner.invoke(app, [*args, "--key", "group_id"])
    assert result.exit_code == 0, result.output
    assert opened["key"] == "group_id"
    assert "delays realistic (up to 48.0h)" in result.output
    assert len({r["source"] for r in sent}) > 1
    late = [datetime.now(UTC) - datetime.fromisoformat(r["returned_at"]) for r in sent]
    assert max(late) > timedelta(hours=1)
    immediate = ["--delay-profile", "immediate", "--spread-share", "0"]
    sent.clear()
    assert runner.invoke(app, [*args, *immediate]).exit_code == 0
    assert opened["key"] == "submission_id"
    assert {r["source"] for r in sent} == {"cbp-elp"}


def test_http_with_a_tokens_file_needs_every_source_of_the_run(tmp_path: Path) -> None:
    path = tmp_path / "dev-tokens.txt"
    path.write_text("cbp-elp t1\n")
    result = runner.invoke(
        app,
        ["simulate", "--crossings", "ELP", "--http", "http://127.0.0.1:1", "--tokens", str(path)],
    )
    assert result.exit_code == 2
    assert "no token for cbp-elp-batch, inm-desk-cjs" in " ".join(result.output.split())
