"""`what-if`: another rule set over the recorded history, grouped as recorded."""

from __future__ import annotations

from pathlib import Path

from services.audit.whatif import WhatIf, whatif_json
from services.reference import load_reference
from services.screening.ruleset import RULE_SETS_DIR, load_rule_set
from tests.unit.audit.audit_factories import Log
from tests.unit.screening.factories import returned

REFERENCE = load_reference()


def older_at_65(tmp_path: Path):
    text = (RULE_SETS_DIR / "2021-12.toml").read_text()
    text = text.replace('name = "2021-12"', 'name = "older-at-65"')
    text = text.replace("older_person_age = 60", "older_person_age = 65")
    path = tmp_path / "older-at-65.toml"
    path.write_text(text)
    return load_rule_set(path)


def history() -> Log:
    log = Log()
    # 62 and alone: declined as an older person at 60, accepted at 65.
    log.screen([log.person(returned("A100000001", group_id="G-1", born="1964-05-01"), 0)], 1)
    # 62 and pregnant: declined either way, for fewer reasons.
    pregnant = returned("A100000002", group_id="G-2", born="1964-05-01", pregnant=True)
    log.screen([log.person(pregnant, 2)], 3)
    # 63 and afraid of return: referred instead of declined at 65.
    afraid = returned(
        "A100000003", group_id="G-3", born="1963-01-01", fear_of_return_to_mexico=True
    )
    log.screen([log.person(afraid, 4)], 5)
    # 70: declined either way.
    log.screen([log.person(returned("A100000004", group_id="G-4", born="1956-01-01"), 6)], 7)
    return log


def run(log: Log, tmp_path: Path):
    whatif = WhatIf(older_at_65(tmp_path), REFERENCE)
    for event in log.events:
        whatif.feed(event)
    return whatif.finish()


def test_exactly_the_groups_whose_decision_changes_are_listed(tmp_path: Path) -> None:
    result = run(history(), tmp_path)
    assert [(c.group_id, c.recorded, c.alternative) for c in result.changed] == [
        ("G-1", "declined", "accepted"),
        ("G-3", "declined", "referred"),
    ]
    assert result.decided == {"CJS": 4}
    assert result.reasons_only == 1  # G-2 stays declined, without OLDER_PERSON
    assert result.transitions[("CJS", "declined", "accepted")] == 1


def test_why_names_the_flags_and_reasons_that_differ(tmp_path: Path) -> None:
    result = run(history(), tmp_path)
    assert result.changed[0].why == ("-A100000001:OLDER_PERSON",)
    assert result.changed[1].why == ("-A100000003:OLDER_PERSON", "+A100000003:FEAR_OF_RETURN")
    document = whatif_json(result)
    assert document["transitions"][0] == {
        "location": "CJS",
        "recorded": "declined",
        "would_be": "accepted",
        "groups": 1,
    }
