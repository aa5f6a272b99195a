"""The resources report as a Markdown page, in Spanish or English (`resources_data`: CSV
and JSON with the same figures).

Codes stay codes in every language: location, shelter and provider ids, deferral
reasons, months (`YYYY-MM`).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from services.audit.legal_aid_progress import ProviderMonth
from services.audit.report import percentile
from services.audit.resources import ResourcesReport, TopicRead
from services.audit.resources_text import text
from services.audit.waits import CAUSE_ORDER, WaitMonth


def _pct(share: float | None) -> str:
    return "" if share is None else f"{100 * share:.1f}"


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def at_text(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat(timespec="seconds")


def to_markdown(report: ResourcesReport, lang: str = "es", level: int = 1) -> str:
    """The report as a page; `level` 2 makes it a section of another page."""
    t = partial(text, lang=lang)
    h1, h2 = "#" * level, "#" * (level + 1)
    out = [f"{h1} {t('title')}", ""]
    out += [f"- {t('period')}: {report.start} {t('to')} {report.end}"]
    out += [f"- {t('until')}: {at_text(report.until) or '-'}"]
    if report.clock_scale != 1.0:
        scale = t("clock_scale").format(
            scale=f"{report.clock_scale:g}", origin=at_text(report.origin)
        )
        out += [f"- {scale}"]
    out += [""]
    out += [f"{h2} {t('shelters')}", ""]
    out += _shelters(report, lang) or [t("none")]
    out += ["", f"{h2} {t('unmet')}", ""]
    for cause in CAUSE_ORDER:
        rows = [w for w in report.waits if w.cause == cause]
        if rows or cause != "location_suspended":
            out += [f"{h2}# {t(cause)}", ""]
            out += _waits(rows, lang) if rows else [t("none")]
            out += [""]
    out += [f"{h2} {t('legal_aid')}", ""]
    out += _legal_aid(report.legal_aid, lang) if report.legal_aid else [t("none")]
    out += ["", f"{h2} {t('vaccination')}", ""]
    vaccination = [[v.location, v.month, v.requests, v.withdrawn] for v in report.vaccination]
    header = [t("location"), t("month"), t("requests"), t("withdrawn")]
    out += _table(header, vaccination) if vaccination else [t("none")]
    out += ["", f"{h2} {t('read')}", ""]
    out += _read(report.read, lang)
    if report.missing_topics:
        out += ["", f"- {t('missing_topics')}: {', '.join(report.missing_topics)}"]
    out += ["", f"- {t('duplicates')}: {report.duplicates}"]
    out += [f"- {t('unmatched')}: {report.unmatched_reports}"]
    out += ["", f"{h2} {t('notes')}", ""]
    out += [f"- {t(key)}" for key in ("note_nights", "note_waits", "note_legal")]
    return "\n".join(out) + "\n"


def _shelters(report: ResourcesReport, lang: str) -> list[str]:
    t = partial(text, lang=lang)
    header = [t("location"), t("month"), t("shelter"), t("bed_nights")]
    header += [t("peak_occupied"), t("beds_at_peak"), t("peak_share")]
    rows = [
        [
            s.location,
            s.month,
            s.shelter_id,
            s.bed_nights,
            s.peak_occupied,
            s.beds_at_peak,
            _pct(s.peak_share),
        ]
        for s in report.shelters
    ]
    return _table(header, rows) if rows else []


def _waits(rows: list[WaitMonth], lang: str) -> list[str]:
    t = partial(text, lang=lang)
    header = [t("location"), t("month"), t("reason"), t("groups"), t("people"), t("served")]
    header += [t("still_waiting"), t("days_p50"), t("days_max"), t("person_days")]
    body = [
        [
            w.location,
            w.month,
            w.reason,
            w.groups,
            w.people,
            w.served,
            w.still_waiting,
            _num(percentile(w.days, 0.5), 2),
            _num(max(w.days, default=None), 2),
            _num(w.person_days, 2),
        ]
        for w in rows
    ]
    return _table(header, body)


def _legal_aid(rows: list[ProviderMonth], lang: str) -> list[str]:
    t = partial(text, lang=lang)
    keys = ["location", "month", "provider", "requests", "accepted", "declined", "first_contact"]
    keys += ["h_accepted_p50", "h_accepted_p95", "h_contact_p50", "h_contact_p95", "due"]
    keys += ["overdue", "overdue_share", "reassigned_to", "reassigned_away"]
    body = [
        [
            p.location,
            p.month,
            p.provider_id,
            p.requests,
            p.reported["accepted"],
            p.reported["declined"],
            p.reported["first_contact"],
            _num(percentile(p.hours_to_accepted, 0.5)),
            _num(percentile(p.hours_to_accepted, 0.95)),
            _num(percentile(p.hours_to_first_contact, 0.5)),
            _num(percentile(p.hours_to_first_contact, 0.95)),
            p.due,
            p.overdue,
            _pct(p.overdue_share),
            _reassigned(p),
            p.reassigned_away,
        ]
        for p in rows
    ]
    return _table([t(k) for k in keys], body)


def _reassigned(p: ProviderMonth) -> str:
    total = sum(p.reassigned_to.values())
    if not total:
        return "0"
    return f"{total} (" + ", ".join(f"{k} {v}" for k, v in sorted(p.reassigned_to.items())) + ")"


def _offsets(read: TopicRead) -> str:
    return " ".join(f"{p}:{low}-{high}" for p, (low, high) in sorted(read.offsets.items()))


def _read(read: list[TopicRead], lang: str) -> list[str]:
    t = partial(text, lang=lang)
    header = [t("topic"), t("events"), t("offsets"), t("first_at"), t("last_at")]
    rows = [[r.topic, r.events, _offsets(r), at_text(r.first_at), at_text(r.last_at)] for r in read]
    return _table(header, rows)
