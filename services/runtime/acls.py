"""Who may do what on the secure broker: the access-control list, as data.

Derived, not typed out, so that it cannot drift from the contract:

- a topic's **writer** (``schemas/registry.py``, and ``owner`` for the internal topics of
  ``infra/topics.toml``) is the only principal that may write it;
- a service reads only the inputs in :data:`READS`, and manages only its own consumer
  group and its own internal topics (changelogs, repartitions), both named after its
  faust app id ``<prefix>returns-<service>`` (``services/runtime/faust_app.py``);
- upstream sources, INM and the shelters only write; auditors only read.

Pure: the ACLs of ``services/runtime/acl_admin.py`` and docs/SECURITY.md come from
:func:`grants`. The super users (the broker itself and ``admin``) are set in the broker
config and need no grant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from schemas.registry import TOPICS
from services.runtime.identity import ServiceIdentity

SERVICES = ("intake", "screening", "placement", "notify")
UPSTREAM_SOURCES = ("upstream-cbp", "upstream-inm-desk")  # US ports; INM's desks
AUDITOR = "auditor"
ADMIN = "admin"
# The officials' web console publishes INM's and the shelters' events for them (status,
# beds, departures) and looks cases up in the log: their writes, an auditor's reads.
CONSOLE = "console"
# A registry writer that is not a service is one principal of its own name (``inm``,
# ``shelters``, ...), except: each upstream system has its own; and ``readers`` (the
# access log, ``access-logged``) is whoever reads cases: placement's ops view, the
# audit and the console each record their own reads. That record is the one thing an
# auditor may write; it is evidence of the auditor's reading, never a decision.
WRITERS = {"upstream": UPSTREAM_SOURCES, "readers": ("placement", AUDITOR, CONSOLE)}
CONSOLE_WRITES_FOR = ("inm", "shelters")

# The contract topics each service consumes (its agents, and notify's redeliver
# command). Its own internal topics (``[internal.*] owner``) it may always read.
READS: dict[str, tuple[str, ...]] = {
    "intake": ("returns-inbound", "person-keys"),
    "screening": ("person-returned", "person-keys"),
    "placement": ("screened", "location-status-changed", "capacity-updated", "shelter-departed"),
    "notify": (
        "screened",
        "placed",
        "placement-withdrawn",
        "request-status-reported",
        "provider-capacity-changed",
        "legal-aid-requested",
        "care-requested",
        "request-updated",
        "notification-delivered",
        "notification-failed",
    ),
}
# Besides the registry writer: intake's HTTP API puts valid submissions on
# ``returns-inbound`` (docs/CONTRACT.md, Topics), where its own agent reads them.
EXTRA_WRITES: dict[str, tuple[str, ...]] = {"intake": ("returns-inbound",)}
# Besides the audit log: the replay opens sealed personal data with the case keys
# (services/audit/reader.py), so auditors read ``person-keys`` too.
AUDITOR_EXTRA_READS = ("person-keys",)

Resource = Literal["topic", "group"]
Pattern = Literal["literal", "prefixed"]
Operation = Literal["read", "write", "create", "describe"]


@dataclass(frozen=True, order=True)
class Grant:
    """``principal`` may do ``operation`` on the topic or group ``name`` (or its prefix)."""

    principal: str
    resource: Resource
    pattern: Pattern
    name: str
    operation: Operation


def principals() -> tuple[str, ...]:
    """Every principal with grants (``admin`` is a super user and has none)."""
    writers = (p for spec in TOPICS.values() for p in WRITERS.get(spec.writer, (spec.writer,)))
    return tuple(dict.fromkeys((*SERVICES, *writers, AUDITOR, CONSOLE)))


def app_id(prefix: str, service: str) -> str:
    """The faust app id: ``service``'s consumer group and its internal topics' prefix."""
    return ServiceIdentity(service, prefix).app_id


def grants(prefix: str, internal_owners: Mapping[str, str]) -> list[Grant]:
    """The whole list for topic prefix ``prefix``; ``internal_owners`` maps each internal
    topic of ``infra/topics.toml`` to the service that owns it."""
    found: set[Grant] = set()
    found.update(_writes(prefix, internal_owners))
    for service, topics in READS.items():
        found.update(_topic(prefix, service, topic, "read") for topic in topics)
        own = app_id(prefix, service)
        found.add(Grant(service, "group", "prefixed", own, "read"))
        found.update(
            Grant(service, "topic", "prefixed", f"{own}-", operation)
            for operation in ("create", "read", "write", "describe")
        )
    found.update(_auditor(prefix, AUDITOR))
    found.update(_auditor(prefix, CONSOLE))
    found.update(
        _topic(prefix, CONSOLE, spec.name, "write")
        for spec in TOPICS.values()
        if spec.writer in CONSOLE_WRITES_FOR
    )
    return sorted(found)


def _writes(prefix: str, internal_owners: Mapping[str, str]) -> Iterable[Grant]:
    for spec in TOPICS.values():
        for principal in WRITERS.get(spec.writer, (spec.writer,)):
            yield _topic(prefix, principal, spec.name, "write")
    for topic, owner in internal_owners.items():
        yield _topic(prefix, owner, topic, "write")
        yield _topic(prefix, owner, topic, "read")
    for service, topics in EXTRA_WRITES.items():
        yield from (_topic(prefix, service, topic, "write") for topic in topics)


def _auditor(prefix: str, principal: str) -> Iterable[Grant]:
    """Reads the audit log; sees offsets (no records) of the rest and of the services'
    groups, which is what ``returns top`` shows as lag."""
    for spec in TOPICS.values():
        readable = spec.audit_log or spec.name in AUDITOR_EXTRA_READS
        yield _topic(prefix, principal, spec.name, "read" if readable else "describe")
    yield Grant(principal, "group", "prefixed", f"{prefix}returns-", "describe")


def _topic(prefix: str, principal: str, topic: str, operation: Operation) -> Grant:
    return Grant(principal, "topic", "literal", f"{prefix}{topic}", operation)


def writers_of(all_grants: Iterable[Grant], topic: str) -> set[str]:
    """The principals that may write the physical topic ``topic``."""
    return {
        g.principal
        for g in all_grants
        if g.operation == "write"
        and g.resource == "topic"
        and (g.name == topic if g.pattern == "literal" else topic.startswith(g.name))
    }
