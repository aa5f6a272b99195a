"""The resources report as data: one tidy CSV table, and JSON, in Spanish or English.

Both carry the figures of the Markdown page (`resources_formats`). JSON keys and CSV
measure names are the same in both languages; only headers, labels and notes change.
"""

from __future__ import annotations

import csv
import io
import json
from functools import partial
from typing import Any

from services.audit.legal_aid_progress import ProviderMonth
from services.audit.report import percentile
from services.audit.resources import ResourcesReport
from services.audit.resources_formats import at_text
from services.audit.resources_text import text
from services.audit.waits import WaitMonth

Figure = tuple[str, str, str, str, str, float | int | None]
"""(location, month, subject, measure, category, value): one published figure."""


def tidy_rows(report: ResourcesReport) -> list[Figure]:
    """Every published figure, one per row."""
    out: list[Figure] = []
    for s in report.shelters:
        where = (s.location, s.month, s.shelter_id)
        out += [(*where, "bed_nights", "", s.bed_nights)]
        out += [(*where, "peak_beds_held", "", s.peak_occupied)]
        out += [(*where, "beds_at_peak", "", s.beds_at_peak)]
    for w in report.waits:
        where = (w.location, w.month, w.cause)
        out += [(*where, "groups_deferred", w.reason, w.groups)]
        out += [(*where, "people_deferred", w.reason, w.people)]
        out += [(*where, "groups_placed_after_waiting", w.reason, w.served)]
        out += [(*where, "groups_still_waiting", w.reason, w.still_waiting)]
        out += [(*where, "days_waited_p50", w.reason, percentile(w.days, 0.5))]
        out += [(*where, "days_waited_max", w.reason, max(w.days, default=None))]
        out += [(*where, "person_days_waited", w.reason, round(w.person_days, 4))]
    for p in report.legal_aid:
        where = (p.location, p.month, p.provider_id)
        out += [
            (*where, "legal_aid_requests", purpose, n)
            for purpose, n in sorted(p.by_purpose.items())
        ]
        out += [(*where, "reported", status, n) for status, n in sorted(p.reported.items())]
        for name, values in (
            ("hours_to_accepted", p.hours_to_accepted),
            ("hours_to_first_contact", p.hours_to_first_contact),
        ):
            out += [(*where, name, "p50", percentile(values, 0.5))]
            out += [(*where, name, "p95", percentile(values, 0.95))]
        out += [(*where, "requests_due", "", p.due), (*where, "requests_overdue", "", p.overdue)]
        out += [(*where, "reassigned_to", k, n) for k, n in sorted(p.reassigned_to.items())]
        out += [(*where, "reassigned_away", "", p.reassigned_away)]
    for v in report.vaccination:
        out += [(v.location, v.month, "", "vaccination_requests", "covid_vaccination", v.requests)]
        out += [
            (v.location, v.month, "", "vaccination_withdrawn", "covid_vaccination", v.withdrawn)
        ]
    return out


_LABELS = {
    "bed_nights": "bed_nights",
    "peak_beds_held": "peak_occupied",
    "beds_at_peak": "beds_at_peak",
    "groups_deferred": "groups",
    "people_deferred": "people",
    "groups_placed_after_waiting": "served",
    "groups_still_waiting": "still_waiting",
    "days_waited_p50": "days_p50",
    "days_waited_max": "days_max",
    "person_days_waited": "person_days",
    "legal_aid_requests": "requests",
    "reported": "requests",
    "hours_to_accepted": "h_accepted_p50",
    "hours_to_first_contact": "h_contact_p50",
    "requests_due": "due",
    "requests_overdue": "overdue",
    "reassigned_to": "reassigned_to",
    "reassigned_away": "reassigned_away",
    "vaccination_requests": "vaccination",
    "vaccination_withdrawn": "withdrawn",
}


def to_csv(report: ResourcesReport, lang: str = "es") -> str:
    """One tidy table: a header in `lang`, stable measure names, and a label in `lang`."""
    t = partial(text, lang=lang)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    keys = ("location", "month", "csv_subject", "csv_measure", "csv_label", "csv_category")
    writer.writerow([t(key) for key in (*keys, "csv_value")])
    for location, month, subject, measure, category, value in tidy_rows(report):
        label = _label(measure, category, lang)
        writer.writerow([location, month, subject, measure, label, category, _csv(value)])
    return buffer.getvalue()


def _label(measure: str, category: str, lang: str) -> str:
    if measure == "reported" and category:
        return text(category, lang)
    if measure in ("hours_to_accepted", "hours_to_first_contact"):
        stem = "h_accepted_" if measure == "hours_to_accepted" else "h_contact_"
        return text(stem + category, lang)
    return text(_LABELS[measure], lang)


def _csv(value: float | int | None) -> str:
    return "" if value is None else str(value)


def to_json(report: ResourcesReport, lang: str = "es") -> str:
    """The report as JSON: the same figures, keys in English, `title` in `lang`."""
    document = {
        "title": text("title", lang),
        "lang": lang,
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "until": at_text(report.until) or None,
        "clock_scale": report.clock_scale,
        "clock_origin": at_text(report.origin) or None,
        "shelters": [
            {
                "location": s.location,
                "month": s.month,
                "shelter_id": s.shelter_id,
                "bed_nights": s.bed_nights,
                "peak_beds_held": s.peak_occupied,
                "beds_at_peak": s.beds_at_peak,
                "peak_at": at_text(s.peak_at) or None,
            }
            for s in report.shelters
        ],
        "unmet_demand": [_wait_json(w) for w in report.waits],
        "legal_aid": [_provider_json(p) for p in report.legal_aid],
        "vaccination": [vars(v) for v in report.vaccination],
        "events_read": [
            {
                "topic": r.topic,
                "events": r.events,
                "offsets": {str(p): [low, high] for p, (low, high) in sorted(r.offsets.items())},
                "first_occurred_at": at_text(r.first_at),
                "last_occurred_at": at_text(r.last_at),
            }
            for r in report.read
        ],
        "missing_topics": report.missing_topics,
        "duplicates_dropped": report.duplicates,
        "reports_without_request": report.unmatched_reports,
        "notes": [text(key, lang) for key in ("note_nights", "note_waits", "note_legal")],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _wait_json(w: WaitMonth) -> dict[str, Any]:
    return {
        "location": w.location,
        "month": w.month,
        "cause": w.cause,
        "reason": w.reason,
        "groups": w.groups,
        "people": w.people,
        "placed_after_waiting": w.served,
        "still_waiting": w.still_waiting,
        "days_waited": {"p50": percentile(w.days, 0.5), "max": max(w.days, default=None)},
        "person_days": round(w.person_days, 4),
    }


def _provider_json(p: ProviderMonth) -> dict[str, Any]:
    return {
        "location": p.location,
        "month": p.month,
        "provider_id": p.provider_id,
        "requests": p.requests,
        "by_purpose": dict(sorted(p.by_purpose.items())),
        "reported": {status: p.reported[status] for status in sorted(p.reported)},
        "hours_to_accepted": {
            "p50": percentile(p.hours_to_accepted, 0.5),
            "p95": percentile(p.hours_to_accepted, 0.95),
        },
        "hours_to_first_contact": {
            "p50": percentile(p.hours_to_first_contact, 0.5),
            "p95": percentile(p.hours_to_first_contact, 0.95),
        },
        "due": p.due,
        "overdue": p.overdue,
        "overdue_share": p.overdue_share,
        "reassigned_to": dict(sorted(p.reassigned_to.items())),
        "reassigned_away": p.reassigned_away,
    }
