"""`report`: the cohort report per crossing, its figures and its three formats."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import date
from pathlib import Path

from services.audit import charts
from services.audit.events import Logged
from services.audit.report import NO_UNHCR_CODE, CohortBuilder, percentile, unhcr_code
from services.audit.report_formats import to_csv, to_json, to_markdown
from services.audit.synthetic import HistoryOptions, synthetic_history
from services.reference import load_reference
from tests.unit.audit.audit_factories import Log
from tests.unit.screening.factories import returned

REFERENCE = load_reference()
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def build(events: list[Logged], start: date, end: date):
    builder = CohortBuilder(REFERENCE, start, end)
    for event in events:
        builder.feed(event)
    return builder.result()


def generated() -> list[Logged]:
    events = synthetic_history(REFERENCE, HistoryOptions(groups=200, seed=5))
    return [Logged.of(topic, envelope, 0, n) for n, (topic, envelope) in enumerate(events)]


def test_the_totals_equal_the_events_of_the_cohort() -> None:
    events = generated()
    counts = Counter(e.topic for e in events)
    total = build(events, date(2026, 1, 1), date(2027, 12, 31)).total()
    corrections = sum(1 for e in events if e.topic == "person-returned" and e.data.corrects)
    assert corrections > 0
    assert total.returns == counts["person-returned"] - corrections
    live = {e.data.group_id: e.data for e in events if e.topic == "screened"}  # the last
    assert counts["screened"] > total.groups == len(live)
    assert sum(total.person_decisions.values()) == sum(len(s.members) for s in live.values())
    assert total.group_decisions == Counter(s.decision for s in live.values())
    assert total.placed_groups == counts["placed"]
    assert sum(total.legal_aid.values()) == counts["legal-aid-requested"]
    assert total.vaccination_requests == counts["care-requested"]
    assert sum(total.deferrals.values()) == counts["placement-deferred"]
    assert len(total.hours_to_placement) == counts["placed"]


def test_the_cohort_is_the_groups_returned_on_those_local_dates() -> None:
    log = Log()
    late_evening = returned("A212345678", returned_at="2026-11-30T23:30:00-07:00")
    log.screen([log.person(late_evening, 0)], 1)
    december = returned("A212345679", group_id="G-DEC", returned_at="2026-12-01T00:30:00-07:00")
    log.screen([log.person(december, 2)], 3)
    report = build(log.events, *NOVEMBER)
    assert report.total().returns == 1
    assert report.rows["ELP"].location == "CJS"


def test_flags_are_counted_as_unhcr_codes_and_fear_as_lp_rr() -> None:
    log = Log()
    log.screen([log.person(returned(born="1950-01-01", lgbti=True), 0)], 1)
    feared = returned("A212345679", group_id="G-2", fear_of_return_to_mexico=True)
    log.screen([log.person(feared, 2)], 3)
    row = build(log.events, *NOVEMBER).rows["ELP"]
    assert row.specific_needs == Counter({"OLDER_PERSON": 1, "LGBTI": 1, "FEAR_OF_RETURN": 1})
    assert unhcr_code("LGBTI") == "LP-RP"
    assert unhcr_code("FEAR_OF_RETURN") == "LP-RR"
    assert unhcr_code("MONOLINGUAL_INDIGENOUS") == NO_UNHCR_CODE
    assert unhcr_code("MEXICAN_NATIONAL") == NO_UNHCR_CODE


def test_needs_languages_placements_and_legal_aid_are_counted() -> None:
    log = Log()
    person = log.person(
        returned(doses=0, languages=("mam", "spa"), hearing_at="2026-12-01T09:00:00-07:00"), 0
    )
    screened = log.screen([person], 1)
    placed = log.place(screened, "CJS", "CJS-S16", 121)
    log.legal_aid(placed, 122)
    log.care(placed, "A212345678", 123)
    row = build(log.events, *NOVEMBER).rows["ELP"]
    assert (row.vaccination_needs, row.vaccination_requests) == (1, 1)
    assert row.interpreters == Counter({"mam": 1})
    assert row.hours_to_placement == [2.017]  # returned at 15:58, placed 2 h 1 min later
    assert row.legal_aid == Counter({("immigration_hearing", "normal"): 1})


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 0.5) == 10.0
    assert percentile(values, 0.95) == 19.0
    assert percentile([], 0.5) is None


def test_the_three_formats_carry_the_same_figures() -> None:
    report = build(generated(), date(2026, 1, 1), date(2027, 12, 31))
    total = report.total()
    markdown = to_markdown(report)
    assert f"| ALL | ALL | {total.returns} | {total.groups} |" in markdown
    assert "LGBTI (LP-RP)" in markdown
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    people = [r for r in rows if r["crossing"] == "ALL" and r["measure"] == "people_returned"]
    assert int(people[0]["value"]) == total.returns
    document = json.loads(to_json(report))
    assert document["rows"][-1]["people_returned"] == total.returns
    assert document["rows"][-1]["specific_needs"]["MEXICAN_NATIONAL"]["unhcr_code"] is None


def test_charts_are_written_only_when_matplotlib_is_there(tmp_path: Path) -> None:
    report = build(generated(), date(2026, 1, 1), date(2027, 12, 31))
    written = charts.write_charts(report, tmp_path)
    if charts.charts_available():
        assert written
        assert all(path.suffix == ".png" and path.stat().st_size > 0 for path in written)
    else:
        assert written == []


def test_a_re_decision_and_a_withdrawal_take_back_what_they_replace() -> None:
    log = Log()
    mother = log.person(returned("A212345678", group_size=2), 0)
    incomplete = log.first([mother], 10.5, closed_by="window")
    son = log.person(returned("A212345679", group_size=2, born="2015-06-01", role="child"), 12)
    accepted = log.again(incomplete, [mother, son], 12.1)
    placed = log.place(accepted, "CJS", "CJS-S16", 13)
    log.withdraw(placed, accepted, "GROUP_CHANGED", 14)
    row = build(log.events, *NOVEMBER).rows["ELP"]
    assert (row.groups, dict(row.group_decisions)) == (1, {"accepted": 1})
    assert dict(row.person_decisions) == {"accepted": 2}
    assert (row.placed_groups, row.placed_people, row.hours_to_placement) == (0, 0, [])
