"""Where a run sends: the upstream helper (Kafka or HTTP) and, for INM, an event producer.

A simulator floods what it points at, so it only ever points at this machine:
every address must be a loopback address (``127.0.0.0/8``, ``::1``, ``localhost``).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from schemas.envelope import Envelope
from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer
from services.runtime.security import for_party
from services.simulator.run import Publish, Submit
from services.upstream import HttpSubmitter

Via = Literal["kafka", "http"]
Key = Literal["submission_id", "group_id"]


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


def read_tokens(path: Path) -> dict[str, str]:
    """``source token`` per line (``returns dev tokens`` writes such a file); ``#`` comments."""
    tokens: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.split()
        if len(parts) != 2:
            raise ValueError(f"{path}, line {number}: expected 'SOURCE TOKEN'")
        tokens[parts[0]] = parts[1]
    return tokens


class KafkaSend:
    """Submits to ``returns-inbound`` through the crossing partitioner, keyed by ``key``.

    The contract allows any key; ``submission_id`` spreads a family over its lane's
    partitions as independent upstream systems would, ``group_id`` keeps it on one.
    """

    def __init__(self, producer: EventProducer, key: Key = "submission_id") -> None:
        self._producer, self._key = producer, key

    def __call__(self, record: dict[str, Any]) -> None:
        raw = json.dumps(record, ensure_ascii=False).encode()
        key, crossing = record.get(self._key), record.get("crossing")
        self._producer.publish_bytes("returns-inbound", raw, key=key, crossing=crossing)


class HttpBySource:
    """POSTs each record with the bearer token of its ``source`` (else ``fallback``)."""

    def __init__(
        self, stack: ExitStack, url: str, tokens: Mapping[str, str], fallback: str | None
    ) -> None:
        self._stack, self._url = stack, url
        self._tokens, self._fallback = dict(tokens), fallback
        self._open: dict[str, HttpSubmitter] = {}

    def __call__(self, record: dict[str, Any]) -> str:
        token = self._tokens.get(str(record.get("source")), self._fallback)
        if token is None:
            raise ValueError(f"no token for source {record.get('source')}")
        if token not in self._open:
            self._open[token] = self._stack.enter_context(HttpSubmitter(self._url, token))
        return self._open[token](record)


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
    tokens: Mapping[str, str] | None = None,
    inm: bool = False,
    key: Key = "submission_id",
) -> Iterator[Channels]:
    """Open the submitter (and, with ``inm``, an event producer); flush and close after.

    ``runtime`` is needed for Kafka (submissions by default, INM events always).
    Over HTTP a record goes with its source's token from ``tokens``, else ``token``.
    """
    with ExitStack() as stack:
        if via == "http":
            if not http or not (token or tokens):
                raise ValueError("--via http needs --http URL and --token (or --tokens FILE)")
            require_loopback_url(http)
            submit: Submit = HttpBySource(stack, http, tokens or {}, token)
        else:
            producer = EventProducer(_kafka(runtime).router, client_id="returns-upstream")
            submit = KafkaSend(stack.enter_context(producer), key)
        publish: Publish | None = None
        if inm:
            producer = stack.enter_context(
                EventProducer(
                    _kafka(runtime).router,
                    client_id="returns-simulator-inm",
                    security=for_party(_kafka(runtime).settings.security, "inm"),
                )
            )

            def publish(topic: str, envelope: Envelope[Any]) -> object:
                return producer.publish(topic, envelope)

        yield Channels(submit, publish)


def _kafka(runtime: Runtime | None) -> Runtime:
    if runtime is None:
        raise ValueError("publishing to Kafka needs a runtime (settings and topology)")
    require_loopback_bootstrap(runtime.settings.bootstrap_servers)
    return runtime
