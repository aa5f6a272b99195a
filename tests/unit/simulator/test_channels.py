"""The simulator only ever points at this machine, and keys and signs as told."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.simulator import channels
from services.simulator.channels import (
    KafkaSend,
    Key,
    NotLoopback,
    is_loopback,
    open_channels,
    read_tokens,
    require_loopback_bootstrap,
    require_loopback_url,
)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "example.org", "0.0.0.0", ""])
def test_other_hosts(host: str) -> None:
    assert not is_loopback(host)


def test_urls_and_bootstrap_servers_must_be_loopback() -> None:
    require_loopback_url("http://127.0.0.1:8080")
    require_loopback_bootstrap("127.0.0.1:19092,localhost:9092")
    with pytest.raises(NotLoopback):
        require_loopback_url("https://intake.example.org")
    with pytest.raises(NotLoopback):
        require_loopback_url("file:///etc/passwd")
    with pytest.raises(NotLoopback):
        require_loopback_bootstrap("127.0.0.1:9092,kafka.example.org:9092")


def test_http_needs_a_url_and_a_token() -> None:
    with (
        pytest.raises(ValueError, match="--token"),
        open_channels(None, "http", http="http://127.0.0.1:1"),
    ):
        pass


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, str | None, str | None]] = []

    def publish_bytes(
        self, topic: str, value: bytes, key: str | None, crossing: str | None
    ) -> None:
        self.sent.append((topic, value, key, crossing))


RECORD = {"submission_id": "cbp-elp-1", "source": "cbp-elp", "group_id": "G-1", "crossing": "ELP"}


@pytest.mark.parametrize(("key", "expected"), [("submission_id", "cbp-elp-1"), ("group_id", "G-1")])
def test_kafka_records_are_keyed_by_submission_id_unless_told(key: Key, expected: str) -> None:
    producer = FakeProducer()
    KafkaSend(producer, key)(dict(RECORD))  # type: ignore[arg-type]
    [(topic, value, sent_key, crossing)] = producer.sent
    assert (topic, sent_key, crossing) == ("returns-inbound", expected, "ELP")
    assert json.loads(value) == RECORD


def test_over_http_each_source_uses_its_own_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[tuple[str, str]] = []

    class FakeHttp:
        def __init__(self, url: str, token: str) -> None:
            self.token = token

        def __enter__(self) -> FakeHttp:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def __call__(self, record: dict[str, Any]) -> str:
            used.append((record["source"], self.token))
            return "event"

    monkeypatch.setattr(channels, "HttpSubmitter", FakeHttp)
    path = tmp_path / "dev-tokens.txt"
    path.write_text("# one per source\ncbp-elp t-desk\ncbp-elp-batch t-batch\n\n")
    tokens = read_tokens(path)
    assert tokens == {"cbp-elp": "t-desk", "cbp-elp-batch": "t-batch"}
    with open_channels(None, "http", http="http://127.0.0.1:1", tokens=tokens) as opened:
        opened.submit({"source": "cbp-elp-batch"})
        opened.submit({"source": "cbp-elp"})
        with pytest.raises(ValueError, match="no token for source inm-desk-cjs"):
            opened.submit({"source": "inm-desk-cjs"})
    assert used == [("cbp-elp-batch", "t-batch"), ("cbp-elp", "t-desk")]
