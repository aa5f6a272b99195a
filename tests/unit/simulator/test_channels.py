"""The simulator only ever points at this machine."""

from __future__ import annotations

import pytest

from services.simulator.channels import (
    NotLoopback,
    is_loopback,
    open_channels,
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
