"""Who a service is on the broker and in its events, spelled in one place.

A service's faust app id is also its consumer group, the prefix of its tables'
changelog topics and (with ACLs) the prefix it is granted on groups and internal
topics; its producer name goes into every envelope it writes. These names were built
with f-strings wherever they were needed; a difference between two of them (a consumer
group read by `returns top` that is not the one the service commits to, an ACL on a
prefix the service does not use) fails quietly. Every place that needs one asks
:class:`ServiceIdentity` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

VERSION = "0.1.0"
"""The version a service writes in `producer` unless it names its own."""


@dataclass(frozen=True)
class ServiceIdentity:
    """`service` (``notify``, ``placement``, ...) under topic prefix `prefix`."""

    service: str
    prefix: str = ""
    version: str = VERSION

    @property
    def app_id(self) -> str:
        """The faust app id: ``<prefix>returns-<service>``."""
        return f"{self.prefix}returns-{self.service}"

    @property
    def consumer_group(self) -> str:
        """The consumer group the service commits its offsets to (its app id)."""
        return self.app_id

    @property
    def producer(self) -> str:
        """The envelopes' `producer`: ``<service>/<version>``."""
        return f"{self.service}/{self.version}"

    @property
    def client_id(self) -> str:
        """The Kafka client id of the service's own admin or plain clients."""
        return f"returns-{self.service}"

    def datadir(self, worker: str) -> str:
        """The name of the state folder of worker `worker` of the service."""
        return f"{self.app_id}-{worker}"

    @classmethod
    def of_app_id(cls, app_id: str, prefix: str = "") -> ServiceIdentity:
        """The identity whose app id is `app_id` (`prefix` included)."""
        name = app_id.removeprefix(prefix)
        if not name.startswith("returns-"):
            raise ValueError(f"{app_id!r} is not a service's app id under {prefix!r}")
        return cls(name.removeprefix("returns-"), prefix)
