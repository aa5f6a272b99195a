"""The cohort report as Markdown, CSV (one tidy table) and JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from services.audit.report import (
    DECISIONS,
    UNHCR_CODES,
    CohortReport,
    Row,
    percentile,
    unhcr_code,
)

NOTES = (
    "Specific needs count people by flag; fear of return (LP-RR) is only known for "
    "groups referred for it, since decision events carry flags, not declarations.",
    "MONOLINGUAL_INDIGENOUS and MEXICAN_NATIONAL have no UNHCR specific-needs code.",
    "Hours to placement run from the group's return to its placed event (nearest rank).",
)


def _rows(report: CohortReport) -> list[Row]:
    return [report.rows[code] for code in sorted(report.rows)] + [report.total()]


def _hours(row: Row, share: float) -> str:
    value = percentile(row.hours_to_placement, share)
    return "" if value is None else f"{value:.1f}"


def to_markdown(report: CohortReport) -> str:
    """A page for publication: summary, specific needs, interpreters, legal aid."""
    rows = _rows(report)
    out = [f"# Returns received, {report.start} to {report.end}", ""]
    out += _summary(rows)
    out += ["", "Decisions are groups (people). Hours run from return to placement.", ""]
    out += ["## Specific needs (people)", ""]
    codes = list(UNHCR_CODES)
    out += _table(
        ["crossing", *(f"{flag} ({unhcr_code(flag)})" for flag in codes)],
        [[r.crossing, *(r.specific_needs[flag] for flag in codes)] for r in rows],
    )
    out += ["", "## Interpreter languages (people)", ""]
    out += _table(["crossing", "languages"], [[r.crossing, _languages(r)] for r in rows])
    out += ["", "## Legal-aid requests", ""]
    kinds = sorted({kind for r in rows for kind in r.legal_aid})
    out += _table(
        ["crossing", *(f"{purpose} {priority}" for purpose, priority in kinds)],
        [[r.crossing, *(r.legal_aid[kind] for kind in kinds)] for r in rows],
    )
    out += ["", "## Notes", "", *(f"- {note}" for note in NOTES), ""]
    return "\n".join(out)


def _summary(rows: list[Row]) -> list[str]:
    header = ["crossing", "location", "people", "groups", *DECISIONS]
    header += ["placed", "rerouted", "vaccination needs", "p50 h", "p95 h"]
    return _table(
        header,
        [
            [
                r.crossing,
                r.location,
                r.returns,
                r.groups,
                *(f"{r.group_decisions[d]} ({r.person_decisions[d]})" for d in DECISIONS),
                r.placed_groups,
                r.rerouted_groups,
                r.vaccination_needs,
                _hours(r, 0.5),
                _hours(r, 0.95),
            ]
            for r in rows
        ],
    )


def _languages(row: Row) -> str:
    return ", ".join(f"{code} {count}" for code, count in sorted(row.interpreters.items())) or "-"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def tidy_rows(report: CohortReport) -> list[tuple[str, str, str, str, float | int]]:
    """(crossing, location, measure, category, value): one row per published figure."""
    out: list[tuple[str, str, str, str, float | int]] = []
    for r in _rows(report):

        def put(measure: str, category: str, value: float | int, r: Row = r) -> None:
            out.append((r.crossing, r.location, measure, category, value))

        put("people_returned", "", r.returns)
        put("groups", "", r.groups)
        for d in DECISIONS:
            put("groups_by_decision", d, r.group_decisions[d])
            put("people_by_decision", d, r.person_decisions[d])
        for flag in UNHCR_CODES:
            put("people_with_specific_need", f"{flag} ({unhcr_code(flag)})", r.specific_needs[flag])
        put("vaccination_needs", "covid_vaccination", r.vaccination_needs)
        put("vaccination_requests", "covid_vaccination", r.vaccination_requests)
        for language, count in sorted(r.interpreters.items()):
            put("interpreter_language", language, count)
        put("groups_placed", "", r.placed_groups)
        put("people_placed", "", r.placed_people)
        put("groups_rerouted", "", r.rerouted_groups)
        for reason, count in sorted(r.deferrals.items()):
            put("deferrals", reason, count)
        for share, name in ((0.5, "p50"), (0.95, "p95")):
            value = percentile(r.hours_to_placement, share)
            if value is not None:
                put("hours_return_to_placement", name, value)
        for (purpose, priority), count in sorted(r.legal_aid.items()):
            put("legal_aid_requests", f"{purpose}/{priority}", count)
    return out


def to_csv(report: CohortReport) -> str:
    """The report as one tidy CSV table."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["crossing", "location", "measure", "category", "value"])
    writer.writerows(tidy_rows(report))
    return buffer.getvalue()


def to_json(report: CohortReport) -> str:
    """The report as JSON: one object per crossing, and the totals."""
    document = {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "rows": [_row_json(r) for r in _rows(report)],
        "notes": list(NOTES),
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _row_json(r: Row) -> dict[str, Any]:
    return {
        "crossing": r.crossing,
        "location": r.location,
        "people_returned": r.returns,
        "groups": r.groups,
        "groups_by_decision": {d: r.group_decisions[d] for d in DECISIONS},
        "people_by_decision": {d: r.person_decisions[d] for d in DECISIONS},
        "specific_needs": {
            flag: {"unhcr_code": UNHCR_CODES[flag], "people": r.specific_needs[flag]}
            for flag in UNHCR_CODES
        },
        "vaccination": {"needs": r.vaccination_needs, "requests": r.vaccination_requests},
        "interpreter_languages": dict(sorted(r.interpreters.items())),
        "placed": {
            "groups": r.placed_groups,
            "people": r.placed_people,
            "rerouted": r.rerouted_groups,
        },
        "deferrals": dict(sorted(r.deferrals.items())),
        "hours_return_to_placement": {
            "p50": percentile(r.hours_to_placement, 0.5),
            "p95": percentile(r.hours_to_placement, 0.95),
        },
        "legal_aid_requests": {
            f"{purpose}/{priority}": count
            for (purpose, priority), count in sorted(r.legal_aid.items())
        },
    }
