"""The committed JSON Schemas are exactly what the models generate."""

from __future__ import annotations

import json
from pathlib import Path

from schemas import export


def test_committed_json_schemas_do_not_drift() -> None:
    assert export.drift() == [], "run `make schemas` and commit schemas/json/"


def test_drift_is_detected(tmp_path: Path) -> None:
    export.write(tmp_path)
    assert export.drift(tmp_path) == []
    screened = tmp_path / "screened.v1.json"
    schema = json.loads(screened.read_text())
    schema["properties"]["data"]["title"] = "edited by hand"
    screened.write_text(json.dumps(schema))
    (tmp_path / "obsolete.v0.json").write_text("{}")
    assert export.drift(tmp_path) == ["obsolete.v0.json", "screened.v1.json"]


def test_sensitive_fields_are_marked_in_the_published_schema() -> None:
    schema = json.loads((export.JSON_DIR / "person-returned.v1.json").read_text())
    person = schema["$defs"]["Person"]["properties"]
    assert person["given_names"]["x-sensitive"] is True
    assert "x-sensitive" not in person["role_in_group"]
