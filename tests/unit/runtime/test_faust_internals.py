"""The faust internals the offset guard reads exist in the installed faust-streaming."""

from __future__ import annotations

import tomllib
from types import SimpleNamespace

import faust
import pytest

from services.runtime.faust_internals import (
    VERIFIED_VERSION,
    ConsumerView,
    FaustInternalsError,
    installed_version,
    require_internals,
)
from services.runtime.settings import REPO_ROOT


def test_the_installed_faust_consumer_has_every_internal_the_guard_reads() -> None:
    app = faust.App("returns-internals-check", broker="kafka://127.0.0.1:1")
    require_internals(app.consumer)  # raises, naming the attribute, after a bad upgrade
    view = ConsumerView(app)
    assert view.committed(("t", 0)) is None
    assert view.left_out(("t", 0))  # before the worker starts, no partition is fetched


def test_faust_is_pinned_to_the_version_the_guard_was_verified_on() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert f"faust-streaming=={VERIFIED_VERSION}" in project["project"]["dependencies"]
    assert installed_version() == VERIFIED_VERSION


def test_a_consumer_without_an_internal_is_refused_by_name() -> None:
    consumer = SimpleNamespace(_unacked_messages=set(), _committed_offset={})
    with pytest.raises(FaustInternalsError, match="_read_offset"):
        require_internals(consumer)
