"""The resources report as md, csv, json and png, in Spanish and English, from the command."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from services.audit import charts, cli, reader
from services.audit.cli import audit_app
from services.audit.resources_data import to_csv, to_json
from services.audit.resources_formats import to_markdown
from tests.unit.audit.test_cli import AccessLogInMemory
from tests.unit.audit.test_reader import PREFIX, FakeConsumer, as_records
from tests.unit.audit.test_resources import NOVEMBER, build, history

runner = CliRunner()


def audit(*args: str) -> Any:
    result = runner.invoke(audit_app, [*args, "--bootstrap", "fake:9092", "--prefix", PREFIX])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture
def on_the_broker(monkeypatch: pytest.MonkeyPatch) -> dict[Any, Any]:
    logs = as_records(history(), {"placed": 2})
    monkeypatch.setattr(reader, "KafkaConsumer", lambda **config: FakeConsumer(logs, **config))
    return logs


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("es", ("noches-cama", "Tope diario de recepción", "Camas de albergue", "Eventos leídos")),
        ("en", ("bed-nights", "Daily reception cap", "Shelter beds", "Events read")),
    ],
)
def test_markdown_in_each_language_carries_the_figures(lang: str, words: tuple[str, ...]) -> None:
    page = to_markdown(build(history().events, *NOVEMBER), lang)
    for word in words:
        assert word in page
    assert "| CJS | 2026-11 | CJS-S16 | 5 | 3 | 4 | 75.0 |" in page
    assert (
        "| CJS | 2026-11 | LA-CJS-01 | 3 | 3 | 0 | 2 | 1.0 | 2.0 | 3.0 | 25.0 | 3 | 2 | 66.7 |"
        in (page)
    )


def test_csv_and_json_carry_the_same_figures_in_both_languages() -> None:
    found = build(history().events, *NOVEMBER)
    for lang, header in (("es", "ubicación"), ("en", "location")):
        rows = list(csv.reader(io.StringIO(to_csv(found, lang))))
        assert rows[0][0] == header
        figures = {(r[2], r[3], r[5]): r[6] for r in rows[1:]}
        assert figures[("CJS-S16", "bed_nights", "")] == "5"
        assert figures[("LA-CJS-01", "hours_to_first_contact", "p95")] == "25.0"
        assert figures[("daily_cap", "days_waited_p50", "DAILY_CAP_REACHED")] == "1.5"
        document = json.loads(to_json(found, lang))
        assert document["lang"] == lang
        assert document["shelters"][0]["bed_nights"] == 5
        provider = next(p for p in document["legal_aid"] if p["provider_id"] == "LA-CJS-01")
        assert provider["overdue_share"] == pytest.approx(2 / 3)
        assert provider["reassigned_to"] == {"DECLINED": 1}
    assert to_json(found, "es") != to_json(found, "en")  # titles and notes differ


def test_the_command_writes_every_format_and_charts_in_spanish_by_default(
    on_the_broker: dict[Any, Any], tmp_path: Path
) -> None:
    result = audit(
        "report", "--resources", "--from", "2026-11-01", "--to", "2026-11-30",
        "--format", "all", "--out", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("resources-es.md", "resources-es.csv", "resources-es.json"):
        assert (tmp_path / name).stat().st_size > 0
    assert "Albergues: noches-cama" in (tmp_path / "resources-es.md").read_text(encoding="utf-8")
    document = json.loads((tmp_path / "resources-es.json").read_text(encoding="utf-8"))
    read = {r["topic"]: r for r in document["events_read"]}
    assert read["placed"]["events"] == 2
    assert set(read["placed"]["offsets"]) == {"0", "1"}  # both partitions, each named
    if charts.charts_available():
        pngs = sorted(p.name for p in tmp_path.glob("*.png"))
        assert pngs == [
            "bed-nights-CJS-es.png",
            "legal-aid-first-contact-es.png",
            "unmet-demand-CJS-es.png",
        ]
        assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in tmp_path.glob("*.png"))


def test_english_on_request_and_a_missing_progress_topic_is_stated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logs = as_records(history(), {})
    for tp in [tp for tp in logs if tp.topic == PREFIX + "legal-aid-updated"]:
        del logs[tp]  # a stack from before partner reports
    monkeypatch.setattr(reader, "KafkaConsumer", lambda **config: FakeConsumer(logs, **config))
    result = audit(
        "report", "--resources", "--from", "2026-11-01", "--to", "2026-11-30",
        "--format", "json", "--lang", "en",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["missing_topics"] == ["legal-aid-updated"]
    assert document["title"].startswith("Resources")
    assert all(not p["reported"] for p in document["legal_aid"])


def test_a_language_we_do_not_write_is_a_usage_error(on_the_broker: dict[Any, Any]) -> None:
    result = audit("report", "--resources", "--from", "2026-11-01", "--to", "2026-11-30",
                   "--lang", "fr")  # fmt: skip
    assert result.exit_code == 2
    assert "--lang" in result.output


def test_the_case_lists_each_requests_states(
    on_the_broker: dict[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "KafkaAccessLog", AccessLogInMemory)  # the read is recorded
    monkeypatch.setattr(cli, "out", Console(width=240))  # states unwrapped
    result = audit("case", "G-D")
    assert result.exit_code == 0, result.output
    assert "Legal-aid requests" in result.stdout
    for state in ("issued", "declined", "reassigned", "accepted", "first_contact"):
        assert state in result.stdout
    assert "DECLINED" in result.stdout  # the summary of the replacing request
