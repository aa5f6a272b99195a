"""Intake on the real broker under hostile requests: specific 4xx answers, never a 500.

One intake process serves the whole module: every test adds its own submissions and
looks only at its own, so that the order the tests run in does not matter.
"""

from __future__ import annotations

import itertools
import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from services.intake.auth import hash_token, new_token
from tests.integration.stack import dump
from tests.support.broker import BrokerInfo
from tests.support.intake import JSON, Intake, running_intake, write_tokens
from tests.support.kafka import read_topic
from tests.unit.contracts.samples import submission


@pytest.fixture(scope="module")
def intake(kafka: BrokerInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Intake]:
    with running_intake(kafka.bootstrap_servers, tmp_path_factory.mktemp("hostile")) as started:
        yield started


def record(submission_id: str, **changes: Any) -> dict[str, Any]:
    return submission(submission_id=submission_id, **changes)


HOSTILE = [
    pytest.param(
        b"[" * 1200 + b"]" * 1200, JSON, 400, "too_deeply_nested", id="1200-nested-arrays"
    ),
    pytest.param(
        b'{"a": ' * 2000 + b"0" + b"}" * 2000, JSON, 400, "too_deeply_nested", id="objects"
    ),
    pytest.param(
        dump(record("hostile-number")).replace(b'"group_size": 3', b'"group_size": ' + b"7" * 6000),
        JSON,
        400,
        "number_out_of_range",
        id="6000-digit-number",
    ),
    pytest.param(
        dump(record("hostile-latin1")).replace("María".encode(), "María".encode("latin-1")),
        JSON,
        400,
        "not_utf8",
        id="latin-1-body",
    ),
    pytest.param(b'{"submission_id": ', JSON, 400, "json_invalid", id="truncated-json"),
    pytest.param(
        dump(record("hostile-oversize", group_id="G-" + "9" * 70_000)),
        JSON,
        413,
        "body_too_large",
        id="70-KiB",
    ),
    pytest.param(
        dump(record("hostile-text")), "text/plain", 415, "unsupported_media_type", id="text-plain"
    ),
    pytest.param(
        dump(record("hostile-no-type")), None, 415, "unsupported_media_type", id="no-content-type"
    ),
    pytest.param(
        dump(record("hostile-charset")),
        "application/json; charset=latin-1",
        415,
        "unsupported_media_type",
        id="latin-1-charset",
    ),
    pytest.param(
        dump(record("hostile-form")),
        "application/x-www-form-urlencoded",
        415,
        "unsupported_media_type",
        id="form",
    ),
]


@pytest.mark.parametrize(("body", "content_type", "status", "code"), HOSTILE)
def test_hostile_bodies_get_a_specific_answer_and_are_recorded(
    intake: Intake, body: bytes, content_type: str | None, status: int, code: str
) -> None:
    answer = intake.post(body, content_type)
    assert answer.status_code == status, answer.text
    assert [e["code"] for e in answer.json()["errors"]] == [code]
    assert intake.ready()
    [data] = intake.rejections_of(body)
    assert [r.code for r in data.reasons] == [code]
    assert data.origin.channel == "http"


def raw_request(intake: Intake, head: bytes) -> int:
    """Send bytes no HTTP client would send; the status code of the answer."""
    with socket.create_connection(("127.0.0.1", intake.process.port), timeout=10) as sock:
        sock.sendall(head)
        answer = sock.recv(4096)
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(b"X-Note: a\x00b", id="nul-in-a-header"),
        pytest.param(b"Authorization: Bearer abc\x00def", id="nul-in-the-token"),
        pytest.param(b"Content-Type: application/json\x00", id="nul-in-the-type"),
        pytest.param(b"X-Note: " + b"a" * 20_000, id="20-KiB-header"),
        pytest.param(b"Content-Length: many", id="unreadable-length"),
    ],
)
def test_unparseable_headers_are_a_bad_request(intake: Intake, header: bytes) -> None:
    body = dump(record("hostile-nul"))
    head = (
        b"POST /v1/returns HTTP/1.1\r\nHost: intake\r\n" + header + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    assert raw_request(intake, head) == 400
    assert intake.ready()


def test_a_non_ascii_token_is_unauthorised_not_an_error(intake: Intake) -> None:
    body = dump(record("hostile-token"))
    head = (
        b"POST /v1/returns HTTP/1.1\r\nHost: intake\r\nAuthorization: Bearer \xff\xfe\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    assert raw_request(intake, head) == 401


def test_nothing_hostile_is_published(intake: Intake) -> None:
    accepted = intake.post(dump(record("hostile-control", group_id="G-HOSTILE-OK")))
    assert accepted.status_code == 202
    for body, content_type, *_ in (p.values for p in HOSTILE):
        intake.post(body, content_type)  # type: ignore[arg-type]
    returned = read_topic(
        intake.runtime.settings,
        "person-returned",
        until=lambda rs: any(r.key == b"G-HOSTILE-OK" for r in rs),
        timeout=45,
        settle=2.0,
    )
    ids = {r.event().data.submission_id for r in returned}
    assert "hostile-control" in ids
    assert not {i for i in ids if i.startswith("hostile-") and i != "hostile-control"}


def test_a_whole_number_written_as_a_float_is_accepted(intake: Intake) -> None:
    body = dump(record("hostile-float")).replace(b'"group_size": 3', b'"group_size": 3.0')
    assert intake.post(body).status_code == 202


def test_responses_are_counted_by_route_and_status(intake: Intake) -> None:
    intake.post(b"{}", "text/plain")
    httpx.get(f"{intake.url}/v1/returns/A212345678", timeout=5)  # no such route
    text = intake.metrics()
    counted = [
        line for line in text.splitlines() if line.startswith("returns_http_responses_total")
    ]
    assert any('route="/v1/returns"' in line and 'status="415"' in line for line in counted)
    assert any('route="unmatched"' in line and 'status="404"' in line for line in counted)
    assert "A212345678" not in text


def test_a_lower_case_bearer_is_accepted(intake: Intake) -> None:
    answer = httpx.post(
        f"{intake.url}/v1/returns",
        content=dump(record("hostile-lower-bearer")),
        headers={"Authorization": f"bearer {intake.token}", "Content-Type": JSON},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text


def test_tokens_rotate_without_a_restart_and_never_reach_the_log(intake: Intake) -> None:
    old, new, wrong = intake.token, new_token(), new_token()
    pid = intake.process.process.pid if intake.process.process else None
    write_tokens(intake.tokens_file, **{"cbp-elp": new, "cbp-san": new_token()})
    assert intake.post(dump(record("hostile-rotated")), token=new).status_code == 202
    assert intake.post(dump(record("hostile-old")), token=old).status_code == 401
    assert intake.post(dump(record("hostile-wrong")), token=wrong).status_code == 401
    write_tokens(intake.tokens_file, **{"cbp-elp": old})  # for the other tests
    assert intake.post(dump(record("hostile-back")), token=old).status_code == 202
    assert intake.process.process is not None
    assert intake.process.process.pid == pid
    log = intake.process.log_path.read_text(errors="replace")
    assert "intake tokens reloaded" in log
    for secret in (old, new, wrong):
        assert secret not in log
        assert hash_token(secret).removeprefix("sha256:") not in log


def test_generated_valid_requests_are_accepted(intake: Intake) -> None:
    auth = {"Authorization": f"Bearer {intake.token}"}
    schema = schemathesis.openapi.from_url(f"{intake.url}/openapi.json", headers=auth)
    operation = schema["/v1/returns"]["POST"]
    serial = itertools.count()
    answers: list[tuple[int, str]] = []

    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case=operation.as_strategy())
    def post_one(case: Any) -> None:
        # Each case gets its own submission_id: re-using one with other content is a
        # conflicting resubmission, a rule about history that no schema can state.
        body = dict(case.body)
        body["submission_id"] = f"generated-{next(serial)}-{body['submission_id']}"[:128]
        answer = httpx.post(
            f"{intake.url}/v1/returns",
            content=json.dumps(body).encode(),
            headers=auth | {"Content-Type": JSON},
            timeout=10,
        )
        answers.append((answer.status_code, answer.text))

    post_one()
    assert len(answers) >= 50
    assert [a for a in answers if a[0] != 202] == []
