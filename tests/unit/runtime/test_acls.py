"""The ACL table: each topic's single writer, each service's own inputs, read-only auditors."""

from __future__ import annotations

import pytest

from schemas.registry import TOPICS
from services.runtime.acl_admin import internal_owners, markdown_table, to_acl
from services.runtime.acls import (
    AUDITOR,
    CONSOLE,
    READS,
    SERVICES,
    UPSTREAM_SOURCES,
    WRITERS,
    Grant,
    app_id,
    grants,
    principals,
    writers_of,
)
from services.runtime.settings import REPO_ROOT

OWNERS = internal_owners()
TABLE = grants("", OWNERS)


def of(principal: str, operation: str | None = None) -> list[Grant]:
    return [g for g in TABLE if g.principal == principal and operation in (None, g.operation)]


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_only_the_registry_writer_may_write_a_contract_topic(topic: str) -> None:
    writer = TOPICS[topic].writer
    expected = set(WRITERS.get(writer, (writer,)))
    if topic == "returns-inbound":
        expected.add("intake")  # its HTTP API forwards valid submissions there
    if writer in ("inm", "shelters"):
        expected.add(CONSOLE)  # the officials' console publishes for them
    assert writers_of(TABLE, topic) == expected


@pytest.mark.parametrize("topic", sorted(OWNERS))
def test_an_internal_topic_is_its_owners_alone(topic: str) -> None:
    assert writers_of(TABLE, topic) == {OWNERS[topic]}
    readers = {g.principal for g in TABLE if g.name == topic and g.operation == "read"}
    assert readers == {OWNERS[topic]}


def test_no_service_reads_or_manages_another_services_group_or_changelogs() -> None:
    for service in SERVICES:
        for grant in of(service):
            if grant.pattern == "prefixed":
                assert grant.name.startswith(app_id("", service))
        others = [app_id("", other) for other in SERVICES if other != service]
        for grant in of(service):
            assert not any(
                other.startswith(grant.name) for other in others if grant.pattern == "prefixed"
            )


def test_a_service_reads_only_its_inputs_and_its_own_topics() -> None:
    for service in SERVICES:
        read = {g.name for g in of(service, "read") if g.resource == "topic"}
        own = {t for t, owner in OWNERS.items() if owner == service}
        assert read == set(READS[service]) | own | {app_id("", service) + "-"}
    assert [s for s in SERVICES if "returns-inbound" in READS[s]] == ["intake"]


def test_every_input_named_is_a_topic_that_exists() -> None:
    known = set(TOPICS) | set(OWNERS)
    assert {topic for topics in READS.values() for topic in topics} <= known


def test_sources_only_write_and_auditors_only_read() -> None:
    for source in UPSTREAM_SOURCES:
        assert [(g.name, g.operation) for g in of(source)] == [("returns-inbound", "write")]
    # Auditors write nothing but the record of their own reading (the access log).
    assert {g.name for g in of(AUDITOR, "write")} <= {"access-logged"}
    assert not of(AUDITOR, "create")
    assert {g.operation for g in of(AUDITOR)} <= {"read", "describe", "write"}
    assert {g.operation for g in of("inm")} == {"write"}
    assert {g.operation for g in of("shelters")} == {"write"}


def test_auditors_read_the_audit_log_and_see_only_offsets_of_raw_submissions() -> None:
    read = {g.name for g in of(AUDITOR, "read")}
    assert {name for name, spec in TOPICS.items() if spec.audit_log} <= read
    assert "returns-inbound" not in read
    assert Grant(AUDITOR, "topic", "literal", "returns-inbound", "describe") in TABLE


def test_a_topic_prefix_namespaces_every_grant() -> None:
    prefixed = grants("t42.", OWNERS)
    assert len(prefixed) == len(TABLE)
    assert all(g.name.startswith("t42.") for g in prefixed)
    assert writers_of(prefixed, "t42.placed") == {"placement"}
    assert writers_of(prefixed, "placed") == set()


def test_every_principal_has_a_grant_and_the_table_renders() -> None:
    assert {g.principal for g in TABLE} == set(principals())
    assert "admin" not in principals()  # a super user, set in the broker config
    table = markdown_table()
    assert table.count("\n") == len({(g.principal, g.resource, g.name) for g in TABLE}) + 1


def test_a_grant_becomes_an_allow_acl_for_its_user() -> None:
    acl = to_acl(Grant("screening", "group", "prefixed", "returns-screening", "read"))
    assert acl.principal == "User:screening"
    assert acl.resource_pattern.resource_name == "returns-screening"
    assert acl.permission_type.name == "ALLOW"
    assert acl.operation.name == "READ"
    assert acl.resource_pattern.pattern_type.name == "PREFIXED"


def test_the_security_docs_list_every_acl() -> None:
    docs = (REPO_ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    assert markdown_table() in docs, (
        "docs/SECURITY.md is out of date: paste `python -m services.runtime.acl_admin table`"
    )
