"""Given notify running with partners, when simulated partners report, then the resources
report reads their progress back from the log.

Notify runs as a real process with a partners file whose partner serves the Ciudad
Juárez providers. The simulated partners read `legal-aid-requested` from Kafka and post
signed reports to notify's `POST /v1/requests/{event_id}/status`, on a clock 3,600 times
fast: an hour to accept is a second. The report, read on the same clock, gives the hours.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx

from services.audit.reader import Replay, ReplaySource
from services.audit.resources import RESOURCE_TOPICS, ResourcesBuilder
from services.runtime.context import Runtime
from services.simulator.partner_desk import PartnerDesk
from services.simulator.partner_run import (
    PartnerReporter,
    PartnerRun,
    PartnerThread,
    RequestFeed,
    read_partners,
    utc_now,
)
from services.simulator.partners import Delay, PartnerBehaviour
from tests.conftest import StartService
from tests.integration.test_notify_support import (
    events_of,
    placed_event,
    publish,
    running_partners,
    screened_event,
)

SCALE = 3600.0
PARTNER = "red-juridica-juarez"


def partners_toml(tmp_path: Path, webhook: str) -> Path:
    path = tmp_path / "partners.toml"
    path.write_text(
        f'[[partners]]\npartner_id = "{PARTNER}"\nurl = "{webhook}"\n'
        f'secret = "s3cret-of-{PARTNER}"\nevent_types = ["legal-aid-requested"]\n'
        'locations = ["CJS"]\n'
        'provider_ids = ["LA-CJS-01", "LA-CJS-02", "LA-CJS-03", "LA-CJS-04"]\n',
        encoding="utf-8",
    )
    return path


def test_partner_reports_reach_the_log_and_the_resources_report(
    runtime: Runtime, start_service: StartService, tmp_path: Path
) -> None:
    with running_partners() as webhooks:
        path = partners_toml(tmp_path, webhooks.url("/rjj"))
        notify = start_service("notify", RETURNS_PARTNERS_FILE=str(path))
        started = utc_now()
        behaviour = PartnerBehaviour(
            accept_delay=Delay("fixed", 3600),  # 1 s real
            decline_share=0.0,
            contact_delay=Delay("fixed", 2 * 3600),
            close_delay=Delay("fixed", 3600),
            clock_scale=SCALE,
        )
        partners = read_partners(path)
        desk = PartnerDesk(behaviour, seed=1, serving=partners.serving)
        settings = runtime.settings
        feed = RequestFeed(settings.bootstrap_servers, settings.topic_prefix, started)
        with httpx.Client(timeout=5.0) as client:
            reporter = PartnerReporter(notify.url, partners.secrets, client)
            with PartnerThread(PartnerRun(desk, feed, reporter), linger=0):
                publish(
                    runtime,
                    ("screened", screened_event(1)),
                    ("placed", placed_event(1)),
                    ("screened", screened_event(2, decision="referred", fear=True)),
                )
                requests = events_of(runtime, "legal-aid-requested", 2)
                updates = events_of(runtime, "legal-aid-updated", 6, timeout=45)

    assert sorted(r.data.purpose for r in requests) == [
        "immigration_hearing",
        "non_refoulement_interview",
    ]
    by_request = {
        r.event_id: [u.data.status for u in updates if u.data.request_event_id == r.event_id]
        for r in requests
    }
    assert all(s == ["accepted", "first_contact", "closed"] for s in by_request.values())
    assert {u.data.partner_id for u in updates} == {PARTNER}
    assert desk.stats.answers == {"accepted 202": 2, "first_contact 202": 2, "closed 202": 2}

    today = started.date()
    builder = ResourcesBuilder(
        runtime.reference, date(today.year, 1, 1), date(today.year, 12, 31), clock_scale=SCALE
    )
    replay = Replay(
        ReplaySource(settings.bootstrap_servers, settings.topic_prefix), RESOURCE_TOPICS
    )
    for event in replay:
        builder.feed(event)
    found = builder.result()
    hours_to_accepted = sorted(h for p in found.legal_aid for h in p.hours_to_accepted)
    hours_to_contact = sorted(h for p in found.legal_aid for h in p.hours_to_first_contact)
    assert hours_to_accepted == [1.0, 1.0]  # one simulated hour each, as the partners did
    assert hours_to_contact == [3.0, 3.0]
    assert {r.topic: r.events for r in found.read}["legal-aid-updated"] == 6
