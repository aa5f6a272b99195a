"""The retention list in infra/topics.toml and the table in docs/DATA-PROTECTION.md agree."""

from __future__ import annotations

import re
import tomllib

from services.runtime.settings import REPO_ROOT

LAYOUT = tomllib.loads((REPO_ROOT / "infra" / "topics.toml").read_text(encoding="utf-8"))
DOC = (REPO_ROOT / "docs" / "DATA-PROTECTION.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| `([a-z-]+)` \| (.+?) \| (.+?) \|$", re.MULTILINE)


def test_the_docs_table_says_what_the_layout_says() -> None:
    documented = {name: (kept, personal) for name, kept, personal in ROW.findall(DOC)}
    listed = {name: (e["kept"], e["personal"]) for name, e in LAYOUT["retention"].items()}
    assert documented == listed


def test_every_topic_holding_personal_data_is_listed() -> None:
    for topic in ("returns-inbound", "person-returned", "person-keys", "intake-rejected"):
        assert topic in LAYOUT["topics"]
        assert topic in LAYOUT["retention"]
    assert LAYOUT["topics"]["person-keys"]["cleanup_policy"] == "compact"
