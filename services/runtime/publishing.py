"""Putting events on topics: one key rule and one partitioner for every producer.

The services send through faust's producer (:func:`send_event`); upstream helpers,
the simulator and tools through kafka-python (:class:`EventProducer`). Both ask
:meth:`Router.route` where an event goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer

from schemas.codec import encode
from schemas.envelope import Envelope
from services.runtime import telemetry
from services.runtime.security import ClientSecurity, kafka_python_options
from services.runtime.settings import Settings
from services.runtime.topology import Topology


@dataclass(frozen=True)
class Route:
    topic: str
    key: bytes | None
    partition: int


@dataclass(frozen=True)
class Router:
    """Maps a contract topic and an event to a physical topic, key and partition."""

    settings: Settings
    topology: Topology
    location_lanes: dict[str, str]

    def lane(self, crossing: str | None, location: str | None = None) -> str | None:
        if crossing in self.topology.lanes:
            return crossing
        if location is not None:
            return self.location_lanes.get(location)
        return None

    def route(
        self, topic: str, key: str | None, crossing: str | None, location: str | None = None
    ) -> Route:
        lane = self.lane(crossing, location)
        partition = self.topology.partition_for(topic, key, lane)
        return Route(
            self.settings.topic(topic), key.encode() if key is not None else None, partition
        )

    def route_event(self, topic: str, envelope: Envelope[Any]) -> Route:
        """Events are keyed by their ``correlation_id`` (group, location or shelter id)."""
        location = getattr(envelope.data, "location", None)
        return self.route(topic, envelope.correlation_id, envelope.crossing, location)


class EventProducer:
    """A kafka-python producer that writes through the crossing partitioner.

    Idempotent and ``acks=all``: a retried send never duplicates a record. It connects
    as the settings' principal, or as ``security`` (``services.runtime.security.for_party``).
    """

    def __init__(
        self, router: Router, client_id: str = "returns", security: ClientSecurity | None = None
    ) -> None:
        self.router = router
        self._producer = KafkaProducer(
            bootstrap_servers=router.settings.bootstrap_servers,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            **kafka_python_options(security or router.settings.security),
        )

    def publish(self, topic: str, envelope: Envelope[Any]) -> Any:
        route = self.router.route_event(topic, envelope)
        return self.send_raw(route, encode(envelope))

    def publish_bytes(self, topic: str, value: bytes, key: str | None, crossing: str | None) -> Any:
        """Raw bytes (a ``returns-inbound`` submission), routed by its crossing."""
        return self.send_raw(self.router.route(topic, key, crossing), value)

    def send_raw(self, route: Route, value: bytes) -> Any:
        return self._producer.send(
            route.topic,
            value=value,
            key=route.key,
            partition=route.partition,
            headers=telemetry.inject(),
        )

    def flush(self, timeout: float | None = None) -> None:
        self._producer.flush(timeout=timeout)

    def close(self) -> None:
        self._producer.close()

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()
        self.close()
