"""The console's other pages: login, requests, case lookup, charts and the API documents.

Pure: data in, HTML out. Personal data reaches a page only when the caller asked the
audit timeline for it, which it does only for roles that may see it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from services.audit.timeline import ChainStep, TimelineEntry
from services.console import apidocs
from services.console.charts import (
    DEFERRED_COLOUR,
    PLACED_COLOUR,
    WAIT_COLOUR,
    PlacementFigures,
    bars_svg,
)
from services.console.layout import Frame, csrf_field, duration, e, table
from services.console.requests_view import RequestRow


def login_body(frame: Frame, next_path: str, failed: bool) -> str:
    problem = f'<p class="error" role="alert">{frame.t("login_failed")}</p>' if failed else ""
    return (
        f'{problem}<form method="post" action="/login" class="login">{csrf_field(frame)}'
        f'<input type="hidden" name="next" value="{e(next_path)}">'
        f'<label for="user">{frame.t("user")}</label>'
        '<input id="user" name="user" autocomplete="username" required autofocus>'
        f'<label for="password">{frame.t("password")}</label>'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>'
        f'<div class="buttons"><button type="submit">{frame.t("login")}</button></div></form>'
    )


def requests_body(
    frame: Frame,
    rows: list[RequestRow] | None,
    from_notify: list[dict[str, Any]] | None,
    queues: dict[str, Any] | None,
    now: datetime,
) -> str:
    parts = []
    if from_notify is not None:
        parts.append(f'<p class="notice">{frame.t("requests_from_notify")}</p>')
        parts.append(_notify_requests(frame, from_notify))
    elif rows is None:
        parts.append(f'<p class="error" role="alert">{frame.t("log_unreachable")}</p>')
    else:
        parts.append(f'<p class="notice">{frame.t("requests_from_log")}</p>')
        parts.append(_request_rows(frame, rows, now))
    if queues is None:
        parts.append(f'<p class="stale">{frame.t("notify_unreachable")}</p>')
    else:
        queued = queues.get("queued") or {}
        partners = queues.get("partners") or sorted(queued)
        q_rows = [[e(partner), e(queued.get(partner, 0))] for partner in partners]
        if not q_rows:
            q_rows = [["—", "0"]]
        parts.append(table(frame.t("notify_queues"), [frame.t("provider"), "#"], q_rows))
    return "".join(parts)


def _request_rows(frame: Frame, rows: list[RequestRow], now: datetime) -> str:
    if not rows:
        return f"<p>{frame.t('no_requests')}</p>"
    headers = [
        frame.t("provider"),
        frame.t("group"),
        frame.t("kind"),
        frame.t("priority"),
        frame.t("due_by"),
        frame.t("state"),
        frame.t("delivery"),
    ]
    body = []
    for row in rows:
        state = "withdrawn" if row.withdrawn else ("overdue" if row.overdue(now) else "open")
        body.append(
            [
                e(row.provider_id),
                e(row.group_id),
                e(row.kind),
                e(row.priority or "—"),
                e(row.due_by.isoformat() if row.due_by else "—"),
                f'<span class="state {state}">{frame.t(state)}</span>',
                f'<span class="delivery {row.delivery}">{frame.t(row.delivery)}</span>',
            ]
        )
    return table(frame.t("requests_title"), headers, body)


def _notify_requests(frame: Frame, items: list[dict[str, Any]]) -> str:
    if not items:
        return f"<p>{frame.t('no_requests')}</p>"
    # Whatever columns notify reports, in its order; personal data is not among them.
    columns = list(dict.fromkeys(key for item in items for key in item))
    rows = [[e(item.get(col, "")) for col in columns] for item in items]
    return table(frame.t("requests_title"), [e(c) for c in columns], rows)


def case_body(
    frame: Frame,
    wanted: str,
    found: tuple[list[TimelineEntry], list[ChainStep], list[dict[str, Any]]] | None,
    personal: bool,
    problem: str | None,
) -> str:
    form = (
        '<form method="get" action="/case" class="lookup" role="search">'
        f'<label for="case-id">{frame.t("case_id_label")}</label>'
        f'<input id="case-id" name="id" value="{e(wanted)}" maxlength="64" required>'
        f'<div class="buttons"><button type="submit">{frame.t("look_up")}</button></div>'
        f'</form><p class="hint">{frame.t("case_recorded")} '
        f"{frame.t('personal_shown' if personal else 'personal_hidden')}</p>"
    )
    if problem is not None:
        return form + f'<p class="error" role="alert">{e(problem)}</p>'
    if found is None:
        return form
    entries, chain, documents = found
    if not entries:
        return form + f'<p class="none">{frame.t("case_none", wanted=wanted)}</p>'
    headers = ["#", frame.t("occurred_at"), frame.t("topic"), frame.t("caused_by"), frame.t("what")]
    rows = [
        [
            e(entry.number),
            e(entry.event.occurred_at.isoformat(timespec="seconds")),
            e(entry.event.topic),
            e(", ".join(f"#{n}" for n in entry.caused_by)),
            e(entry.summary),
        ]
        for entry in entries
    ]
    timeline = table(frame.t("timeline") + " · " + e(wanted), headers, rows)
    chain_headers = ["#", frame.t("group"), frame.t("topic"), frame.t("what"), frame.t("state")]
    chain_rows = [
        [
            e(step.number),
            e(step.group_id),
            e(step.topic),
            e(step.outcome),
            frame.t("live_decision") if step.live else frame.t("ended"),
        ]
        for step in chain
    ]
    details = "".join(
        f"<details><summary>#{doc['number']} {e(doc['topic'])}</summary>"
        f"<pre>{e(json.dumps(doc['event'], indent=2, ensure_ascii=False))}</pre></details>"
        for doc in documents
    )
    return form + timeline + table(frame.t("chain"), chain_headers, chain_rows) + details


def charts_body(frame: Frame, figures: PlacementFigures | None) -> str:
    if figures is None:
        return f'<p class="error" role="alert">{frame.t("log_unreachable")}</p>'
    if not figures.days:
        return f"<p>{frame.t('no_data')}</p>"
    parts = [f"<h2>{frame.t('placements_per_day')}</h2>"]
    days = figures.days
    for location in figures.locations:
        placed = [figures.placed[(day, location)] for day in days]
        deferred = [figures.deferred[(day, location)] for day in days]
        title = f"{frame.t('placements_per_day')} · {location}"
        labels = [day.isoformat()[5:] for day in days]
        series = [
            (frame.t("placements"), PLACED_COLOUR, placed),
            (frame.t("deferrals"), DEFERRED_COLOUR, deferred),
        ]
        rows = [
            [e(d.isoformat()), e(p), e(f)] for d, p, f in zip(days, placed, deferred, strict=True)
        ]
        headers = [frame.t("day"), frame.t("placements"), frame.t("deferrals")]
        parts.append(
            f'<figure class="chart-box" id="chart-{e(location)}"><figcaption>{e(location)}'
            f"</figcaption>{bars_svg(title, labels, series)}"
            f"<details><summary>{frame.t('groups')}</summary>"
            f"{table(e(title), headers, rows)}</details></figure>"
        )
    parts.append(f"<h2>{frame.t('wait_title')}</h2>")
    bands = figures.wait_bands()
    parts.append(
        '<figure class="chart-box" id="chart-wait">'
        + bars_svg(
            frame.t("wait_title"),
            [label for label, _ in bands],
            [(frame.t("groups"), WAIT_COLOUR, [count for _, count in bands])],
        )
        + "</figure>"
    )
    rows = [
        [e(loc), e(len(figures.waits.get(loc, []))), duration(figures.median_wait(loc))]
        for loc in figures.locations
    ]
    headers = [frame.t("location"), frame.t("groups"), frame.t("median")]
    parts.append(table(frame.t("wait_title"), headers, rows))
    return "".join(parts)


def _openapi_paths(frame: Frame, openapi: dict[str, Any] | None) -> str:
    """Intake's operations, one row each: method, path, what it does."""
    if openapi is None:
        return f'<p class="stale">{frame.t("intake_unreachable")}</p>'
    rows = [
        [f"<code>{e(method.upper())}</code>", f"<code>{e(path)}</code>", e(op.get("summary", ""))]
        for path, methods in sorted((openapi.get("paths") or {}).items())
        for method, op in methods.items()
        if isinstance(op, dict)
    ]
    headers = [frame.t("method"), frame.t("path"), frame.t("what")]
    return table(e(openapi.get("info", {}).get("title", "OpenAPI")), headers, rows)


def api_body(
    frame: Frame,
    openapi: dict[str, Any] | None,
    topics: list[apidocs.TopicDoc] | None,
    problem: str | None,
) -> str:
    parts = [
        f"<h2>{frame.t('openapi')}</h2>"
        f'<p><a href="/api-docs/openapi.json">openapi.json</a> ({frame.t("download")})</p>',
        _openapi_paths(frame, openapi),
        f"<h2>{frame.t('asyncapi')}</h2>",
    ]
    if topics is None:
        parts.append(f'<p class="stale">{e(problem or frame.t("asyncapi_missing"))}</p>')
        return "".join(parts)
    parts.append(
        f'<p><a href="/api-docs/asyncapi.yaml">asyncapi.yaml</a> ({frame.t("download")})</p>'
    )
    index = "".join(f'<li><a href="#topic-{e(t.name)}">{e(t.name)}</a></li>' for t in topics)
    parts.append(f'<nav aria-label="{frame.t("topic")}"><ul class="index">{index}</ul></nav>')
    for topic in topics:
        facts = (
            f"<dl class='facts'><div><dt>{frame.t('key')}</dt><dd>{e(topic.key or '—')}</dd></div>"
            f"<div><dt>{frame.t('writer')}</dt><dd>{e(topic.writer or '—')}</dd></div>"
            f"<div><dt>{frame.t('headers')}</dt><dd>{e(', '.join(topic.headers) or '—')}</dd></div>"
            f"<div><dt>{frame.t('payload')}</dt><dd>{e(topic.payload_title or '—')}</dd></div></dl>"
        )
        headers = [frame.t("field"), frame.t("type"), frame.t("required"), frame.t("sensitive")]
        rows = [
            [
                f"<code>{e(f.name)}</code>",
                e(f.type),
                frame.t("yes") if f.required else frame.t("no"),
                frame.t("yes") if f.sensitive else frame.t("no"),
            ]
            for f in topic.fields
        ]
        parts.append(
            f'<section class="topic" id="topic-{e(topic.name)}"><h3>{e(topic.name)}</h3>'
            f"<p>{e(topic.description)}</p>{facts}"
            f"{table(e(topic.name), headers, rows) if rows else ''}</section>"
        )
    return "".join(parts)
