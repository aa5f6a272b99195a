"""`returns audit verify --metrics-file`: what the mismatch alert reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.audit import reader, textfile
from services.audit.findings import (
    MISSING_CARE,
    PERSON_WITHOUT_DECISION,
    SPLIT_FAMILY,
    WRONG_LOCATION,
    Mismatch,
    Pending,
)
from services.audit.verify import VerifyReport
from tests.unit.audit.test_cli import audit, generated
from tests.unit.audit.test_reader import FakeConsumer, as_records


def samples(path: Path) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            out[(sample.name, sample.labels.get("category", ""))] = sample.value
    return out


def test_a_clean_history_writes_zero_for_every_category(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    logs = as_records(generated(), {"person-returned": 2})
    monkeypatch.setattr(reader, "KafkaConsumer", lambda **config: FakeConsumer(logs, **config))
    target = tmp_path / "textfile" / "returns_verify.prom"

    result = audit("verify", "--as-of", "2027-06-01T00:00:00Z", "--metrics-file", str(target))

    assert result.exit_code == 0, result.output
    found = samples(target)
    assert found[("returns_verify_mismatches", SPLIT_FAMILY)] == 0
    assert found[("returns_verify_mismatches", PERSON_WITHOUT_DECISION)] == 0
    assert found[("returns_verify_decisions_rechecked", "")] > 0
    assert found[("returns_verify_last_run_timestamp_seconds", "")] > 1.7e9


def test_mismatches_are_counted_per_category_and_name_no_group(tmp_path: Path) -> None:
    report = VerifyReport(
        events={"screened": 3},
        duplicates=0,
        decisions_rechecked=3,
        placements_checked=2,
        late_members_accepted=0,
        mismatches=[
            Mismatch(SPLIT_FAMILY, "two live decisions", "G-2026-000123", "screened[3]@7"),
            Mismatch(SPLIT_FAMILY, "two live decisions", "G-2026-000124", "screened[3]@9"),
            Mismatch(WRONG_LOCATION, "placed at TIJ", "G-2026-000125", "placed[3]@2"),
        ],
        pending=[Pending(MISSING_CARE, "G-2026-000126", "within grace")],
    )
    target = tmp_path / "returns_verify.prom"

    textfile.write_metrics_file(target, report)

    found = samples(target)
    assert found[("returns_verify_mismatches", SPLIT_FAMILY)] == 2
    assert found[("returns_verify_mismatches", WRONG_LOCATION)] == 1
    assert found[("returns_verify_mismatches", PERSON_WITHOUT_DECISION)] == 0
    assert found[("returns_verify_pending", "")] == 1
    assert "G-2026" not in target.read_text()
