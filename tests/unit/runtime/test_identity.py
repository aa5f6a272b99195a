"""A service's names (app id, consumer group, producer) come from one place, so the group a
service commits to is the one `returns top` reads and the one its ACLs grant."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.observe import consumer_group
from services.runtime.acls import SERVICES, app_id
from services.runtime.identity import ServiceIdentity


def test_the_names_of_a_service_under_a_topic_prefix() -> None:
    notify = ServiceIdentity("notify", "t1234.")
    assert notify.app_id == "t1234.returns-notify"
    assert notify.consumer_group == notify.app_id
    assert notify.producer == "notify/0.1.0"
    assert ServiceIdentity("screening", version="0.2.0").producer == "screening/0.2.0"
    assert notify.datadir("w1") == "t1234.returns-notify-w1"


def test_an_app_id_reads_back_as_its_service() -> None:
    assert ServiceIdentity.of_app_id("t1234.returns-placement", "t1234.").service == "placement"
    with pytest.raises(ValueError, match="not a service's app id"):
        ServiceIdentity.of_app_id("t1234.something-else", "t1234.")


@pytest.mark.parametrize("service", SERVICES)
def test_the_app_the_acls_and_the_lag_view_agree_on_each_group(
    service: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from services.runtime.context import build_runtime
    from services.runtime.faust_app import create_app

    monkeypatch.setenv("RETURNS_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("RETURNS_TOPIC_PREFIX", "t42.")
    runtime = build_runtime()
    app = create_app(service, runtime)
    assert app.conf.id == f"t42.returns-{service}"
    assert app_id("t42.", service) == app.conf.id
    assert consumer_group("t42.", service) == app.conf.id
    assert Path(app.conf.datadir).name == f"t42.returns-{service}-{runtime.settings.worker_name}"
