"""Where a run sends: the upstream helper (Kafka or HTTP) and, for INM, an event producer.

A simulator floods what it points at, so it only ever points at this machine:
every address must be a loopback address (``127.0.0.0/8``, ``::1``, ``localhost``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from schemas.envelope import Envelope
from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer
from services.simulator.run import Publish, Submit
from services.upstream import HttpSubmitter, KafkaSubmitter

Via = Literal["kafka", "http"]


class NotLoopback(ValueError):
    """An address that is not on this machine."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an IP address, without port) is this machine."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_loopback_url(url: str) -> None:
    """Raise :class:`NotLoopback` unless ``url`` is http(s) on a loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not is_loopback(parts.hostname or ""):
        raise NotLoopback(f"{url} is not an http(s) URL on this machine (use 127.0.0.1)")


def require_loopback_bootstrap(servers: str) -> None:
    """Raise :class:`NotLoopback` unless every ``host:port`` of ``servers`` is loopback."""
    for server in servers.split(","):
        host = server.strip().rsplit(":", 1)[0]
        if not is_loopback(host):
            raise NotLoopback(f"Kafka at {server.strip()} is not on this machine")


@dataclass(frozen=True)
class Channels:
    """The opened channels: where submissions and (with ``--inm``) INM events go."""

    submit: Submit
    publish: Publish | None


@contextmanager
def open_channels(
    runtime: Runtime | None,
    via: Via,
    *,
    http: str | None = None,
    token: str | None = None,
    inm: bool = False,
) -> Iterator[Channels]:
    """Open the submitter (and, with ``inm``, an event producer); flush and close after.

    ``runtime`` is needed for Kafka (submissions by default, INM events always).
    """
    with ExitStack() as stack:
        if via == "http":
            if not http or not token:
                raise ValueError("--via http needs --http URL and --token")
            require_loopback_url(http)
            submit: Submit = stack.enter_context(HttpSubmitter(http, token))
        else:
            submit = stack.enter_context(KafkaSubmitter(_kafka(runtime).router))
        publish: Publish | None = None
        if inm:
            producer = stack.enter_context(
                EventProducer(_kafka(runtime).router, client_id="returns-simulator-inm")
            )

            def publish(topic: str, envelope: Envelope[Any]) -> object:
                return producer.publish(topic, envelope)

        yield Channels(submit, publish)


def _kafka(runtime: Runtime | None) -> Runtime:
    if runtime is None:
        raise ValueError("publishing to Kafka needs a runtime (settings and topology)")
    require_loopback_bootstrap(runtime.settings.bootstrap_servers)
    return runtime
