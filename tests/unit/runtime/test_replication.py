"""RETURNS_REPLICATION_FACTOR: 1 on the development broker, 3 on the cluster, and a
clear configuration error for anything else."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.runtime.replication import ReplicationFactorError, replication_factor
from services.runtime.settings import ConfigurationError


def test_one_replica_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RETURNS_REPLICATION_FACTOR", raising=False)
    assert replication_factor() == 1


def test_three_replicas_on_the_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETURNS_REPLICATION_FACTOR", " 3 ")
    assert replication_factor() == 3


@pytest.mark.parametrize("bad", ["0", "-1", "three", "2.5"])
def test_a_value_that_is_no_replica_count_names_the_fix(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("RETURNS_REPLICATION_FACTOR", bad)
    with pytest.raises(ReplicationFactorError, match="whole number") as raised:
        replication_factor()
    assert isinstance(raised.value, ConfigurationError)  # services report it, no traceback


def test_the_faust_app_replicates_its_own_topics_as_told(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from services.runtime.context import build_runtime
    from services.runtime.faust_app import create_app

    monkeypatch.setenv("RETURNS_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("RETURNS_STATE_DIR", str(tmp_path))
    app = create_app("intake", build_runtime())
    assert app.conf.topic_replication_factor == 3
