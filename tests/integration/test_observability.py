"""Traces, logs and metrics of the whole pipeline, on a real broker.

The four services run as separate processes; each writes its finished spans as JSON
lines to one shared file (``RETURNS_TRACE_FILE``), which stands in for a collector.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.intake.auth import hash_token, new_token
from services.runtime.context import Runtime
from tests.support.kafka import read_topic
from tests.support.services import ServiceProcess
from tests.unit.contracts.samples import submission

SERVICES = ("intake", "screening", "placement", "notify")
# Personal data that must never leave the events: a rare name and a rare language.
GIVEN, FAMILY = "Xochiquetzalli Itzpapalotl", "Quetzalcoatl Zyxwvuts"
RARE_LANGUAGE = "ixl"  # Ixil


@dataclass
class Pipeline:
    runtime: Runtime
    processes: dict[str, ServiceProcess]
    spans_file: Path
    token: str

    def spans(self) -> list[dict[str, Any]]:
        if not self.spans_file.exists():
            return []
        return [json.loads(line) for line in self.spans_file.read_text().splitlines() if line]

    def logs(self) -> str:
        return "\n".join(p.log_path.read_text(errors="replace") for p in self.processes.values())


@pytest.fixture
def pipeline(runtime: Runtime, tmp_path: Path) -> Iterator[Pipeline]:
    token = new_token()
    tokens = tmp_path / "tokens.toml"
    tokens.write_text(f'[sources]\ncbp-elp = "{hash_token(token)}"\n')
    spans = tmp_path / "spans.jsonl"
    env = {"RETURNS_TRACE_FILE": str(spans), "RETURNS_INTAKE_TOKENS_FILE": str(tokens)}
    processes = {
        name: ServiceProcess(name, runtime, tmp_path / f"{name}.log", env_extra=env)
        for name in SERVICES
    }
    for process in processes.values():
        process.start(wait=False)
    try:
        for process in processes.values():
            process.wait_ready()
        yield Pipeline(runtime, processes, spans, token)
    finally:
        for process in processes.values():
            process.stop()


def submit(pipeline: Pipeline, group: str, case: str, **changes: Any) -> str:
    record = submission(
        submission_id=f"obs-{group}",
        case_id=case,
        group_id=group,
        group_size=1,
        **changes,
    )
    answer = httpx.post(
        f"{pipeline.processes['intake'].url}/v1/returns",
        content=json.dumps(record).encode(),
        headers={
            "Authorization": f"Bearer {pipeline.token}",
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["event_id"])


def wait_for_legal_aid(pipeline: Pipeline, group: str) -> None:
    records = read_topic(
        pipeline.runtime.settings,
        "legal-aid-requested",
        until=lambda rs: any(r.key == group.encode() for r in rs),
        timeout=90,
    )
    assert any(r.key == group.encode() for r in records), "no legal-aid request arrived"


def spans_of_trace(pipeline: Pipeline, trace_id: str, services: set[str]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = [s for s in pipeline.spans() if s["context"]["trace_id"] == trace_id]
        if services <= {s["resource"]["attributes"]["service.name"] for s in found}:
            break
        time.sleep(0.5)
    return found


def test_one_trace_follows_a_return_through_all_four_services(pipeline: Pipeline) -> None:
    submit(pipeline, "G-TRACE-0001", "A400000001")
    wait_for_legal_aid(pipeline, "G-TRACE-0001")
    [http_span] = [s for s in pipeline.spans() if s["name"] == "intake.http.submit"]
    trace_id = http_span["context"]["trace_id"]
    expected = {f"returns-{name}" for name in SERVICES}
    spans = spans_of_trace(pipeline, trace_id, expected)
    assert {s["resource"]["attributes"]["service.name"] for s in spans} == expected
    names = {s["name"] for s in spans}
    assert {"intake.validate", "screening.gather", "screening.decide", "placement.place"} <= names
    decide = next(s for s in spans if s["name"] == "screening.decide")
    assert decide["attributes"]["returns.decision"] == "accepted"
    assert decide["attributes"]["returns.crossing"] == "ELP"


def traceparent_of(headers: list[tuple[str, bytes]]) -> tuple[str, str]:
    """The trace id and parent span id a record's ``traceparent`` header names, in the
    form the span file writes them."""
    value = dict(headers).get("traceparent")
    assert value is not None, "a request was sent without a traceparent"
    _, trace_id, span_id, _ = value.decode().split("-")
    return f"0x{trace_id}", f"0x{span_id}"


def chain_up(pipeline: Pipeline, span_id: str) -> list[dict[str, Any]]:
    """The spans from `span_id` up to its trace's root, waiting for them to be written."""
    deadline = time.monotonic() + 30
    chain: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        by_id = {s["context"]["span_id"]: s for s in pipeline.spans()}
        chain, at = [], span_id
        while at in by_id:
            chain.append(by_id[at])
            at = by_id[at]["parent_id"]
        if chain and chain[-1]["parent_id"] is None:
            break
        time.sleep(0.5)
    return chain


def test_each_groups_requests_continue_its_own_trace_back_to_its_submission(
    pipeline: Pipeline,
) -> None:
    groups = {"G-TRACE-0101": "A400000101", "G-TRACE-0102": "A400000102"}
    for group, case in groups.items():
        submit(pipeline, group, case)
    keys = {group.encode() for group in groups}
    requests = read_topic(
        pipeline.runtime.settings,
        "legal-aid-requested",
        until=lambda rs: keys <= {r.key for r in rs},
        timeout=90,
    )
    requests += read_topic(pipeline.runtime.settings, "care-requested", timeout=2)
    submitted = read_topic(
        pipeline.runtime.settings, "person-returned", until=lambda rs: keys <= {r.key for r in rs}
    )
    trace_of_group: dict[str, set[str]] = {}
    for record in (r for r in requests if r.key in keys):
        trace_id, parent = traceparent_of(record.headers)
        trace_of_group.setdefault(record.key.decode(), set()).add(trace_id)
        chain = chain_up(pipeline, parent)
        names = [span["name"] for span in chain]
        assert names[0] == "notify.issue", names  # sent by the handling of its decision
        assert {"placement.place", "screening.decide"} <= set(names), names
        assert names[-1] == "intake.http.submit", names  # the root: its submission
        assert {span["context"]["trace_id"] for span in chain} == {trace_id}
    assert set(trace_of_group) == set(groups)
    assert all(len(traces) == 1 for traces in trace_of_group.values()), trace_of_group
    assert len({trace for traces in trace_of_group.values() for trace in traces}) == 2
    # Each group's trace is the one its submission started.
    assert keys <= {r.key for r in submitted}
    for record in (r for r in submitted if r.key in keys):
        assert {traceparent_of(record.headers)[0]} == trace_of_group[record.key.decode()]


def test_personal_data_stays_out_of_logs_spans_and_metrics(pipeline: Pipeline) -> None:
    submit(
        pipeline,
        "G-PII-0001",
        "A400000002",
        person__given_names=GIVEN,
        person__family_names=FAMILY,
        person__languages=[RARE_LANGUAGE, "spa"],
        person__date_of_birth="1987-10-31",
    )
    wait_for_legal_aid(pipeline, "G-PII-0001")
    metrics = "\n".join(
        httpx.get(f"{p.url}/metrics", timeout=5).text for p in pipeline.processes.values()
    )
    spans = pipeline.spans_file.read_text()
    logs = pipeline.logs()
    for secret in (GIVEN, FAMILY, "Xochiquetzalli", "Zyxwvuts", "1987-10-31"):
        assert secret not in logs
        assert secret not in spans
        assert secret not in metrics
    assert f'"{RARE_LANGUAGE}"' not in spans
    assert RARE_LANGUAGE not in metrics
    assert f'"{RARE_LANGUAGE}"' not in logs


def metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_move_per_crossing(pipeline: Pipeline) -> None:
    screening = pipeline.processes["screening"]
    before = httpx.get(f"{screening.url}/metrics", timeout=5).text
    submit(pipeline, "G-METRICS-0001", "A400000003")
    wait_for_legal_aid(pipeline, "G-METRICS-0001")
    after = httpx.get(f"{screening.url}/metrics", timeout=5).text
    name = "returns_decisions_total"
    assert metric(after, name, kind="accepted", crossing="ELP") == (
        metric(before, name, kind="accepted", crossing="ELP") + 1
    )
    in_total = "returns_events_in_total"
    assert metric(after, in_total, topic="person-returned", crossing="ELP") >= 1
    assert metric(after, "returns_event_age_seconds_count", crossing="ELP") >= 1
    assert "returns_consumer_lag{" in after
    placement = httpx.get(f"{pipeline.processes['placement'].url}/metrics", timeout=5).text
    assert metric(placement, name, kind="placed", crossing="ELP") >= 1
