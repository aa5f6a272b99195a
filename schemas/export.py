"""Generate the committed JSON Schemas: ``python -m schemas.export [--check]``.

``--check`` exits 1 when the committed files differ from the models (drift).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from schemas.envelope import Envelope
from schemas.person import PersonReturned
from schemas.registry import EVENT_TYPES

JSON_DIR = Path(__file__).parent / "json"


def schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema, for every event type and for a raw submission."""
    out: dict[str, dict[str, Any]] = {}
    for event_type, model in sorted(EVENT_TYPES.items()):
        schema = Envelope[model].model_json_schema(mode="serialization")  # type: ignore[valid-type]
        schema["title"] = f"{event_type} v{model.SCHEMA_VERSION}"
        schema["$id"] = f"urn:returns:event:{event_type}:v{model.SCHEMA_VERSION}"
        out[f"{event_type}.v{model.SCHEMA_VERSION}.json"] = schema
    # Older versions readers still accept (upcast on read): their schemas stay published.
    for legacy in (PersonReturned,):
        schema = Envelope[legacy].model_json_schema(mode="serialization")  # type: ignore[valid-type]
        schema["title"] = f"{legacy.EVENT_TYPE} v{legacy.SCHEMA_VERSION}"
        schema["$id"] = f"urn:returns:event:{legacy.EVENT_TYPE}:v{legacy.SCHEMA_VERSION}"
        out[f"{legacy.EVENT_TYPE}.v{legacy.SCHEMA_VERSION}.json"] = schema
    submission = PersonReturned.model_json_schema(mode="validation")
    submission["title"] = "returns-inbound submission"
    submission["$id"] = "urn:returns:submission:v1"
    out["returns-inbound.submission.v1.json"] = submission
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def drift(directory: Path = JSON_DIR) -> list[str]:
    """Names of schema files that are missing, stale or no longer generated."""
    expected = {name: render(schema) for name, schema in schemas().items()}
    present = {p.name for p in directory.glob("*.json")} if directory.exists() else set()
    problems = [name for name in sorted(present - expected.keys())]
    for name, text in expected.items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            problems.append(name)
    return sorted(problems)


def write(directory: Path = JSON_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    generated = schemas()
    for stale in directory.glob("*.json"):
        if stale.name not in generated:
            stale.unlink()
    for name, schema in generated.items():
        (directory / name).write_text(render(schema), encoding="utf-8")


def main(argv: list[str]) -> int:
    if "--check" in argv:
        problems = drift()
        if problems:
            print("JSON Schemas drifted from the models: " + ", ".join(problems))
            print("Run `make schemas` and commit schemas/json/.")
            return 1
        print("JSON Schemas match the models.")
        return 0
    write()
    print(f"wrote {len(schemas())} schemas to {JSON_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
