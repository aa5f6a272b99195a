"""Simulated legal-aid partners: delays, declines and silence, seeded; reports signed."""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from services.notify.delivery import verify
from services.simulator.partner_desk import MAX_TRIES, PartnerDesk
from services.simulator.partner_run import FeedItem, PartnerReporter, PartnerRun, read_partners
from services.simulator.partners import Delay, PartnerBehaviour, parse_delay, plan, real_moment
from services.simulator.schedule import ScheduleError

ISSUED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
SECRET = "s3cret-for-tests"


def test_delays_are_fixed_uniform_exponential_or_lognormal() -> None:
    assert parse_delay("2h") == Delay("fixed", 7200)
    assert parse_delay("10m..1.5h") == Delay("uniform", 600, 5400)
    assert parse_delay("exp:30m") == Delay("exponential", 1800)
    assert parse_delay("lognormal:2h..8h") == Delay("lognormal", 7200, 28800)
    assert parse_delay("2d") == Delay("fixed", 172_800)
    for bad in ("soon", "4h..2h", "lognormal:2h", "lognormal:8h..2h", "gamma:2h"):
        with pytest.raises(ScheduleError):
            parse_delay(bad)


def test_a_lognormal_delay_has_the_median_and_p95_asked_for() -> None:
    import random

    rng = random.Random(4)
    draws = sorted(Delay("lognormal", 7200, 28800).draw(rng) for _ in range(4000))
    assert statistics.median(draws) == pytest.approx(7200, rel=0.06)
    assert draws[int(0.95 * len(draws))] == pytest.approx(28800, rel=0.1)


def test_shares_of_declines_and_silence_follow_the_behaviour() -> None:
    behaviour = PartnerBehaviour(decline_share=0.2, silent_share=0.1)
    plans = [plan(f"request-{n}", behaviour, seed=7) for n in range(3000)]
    silent = sum(1 for p in plans if not p) / len(plans)
    declined = sum(1 for p in plans if [r.status for r in p] == ["declined"]) / len(plans)
    assert silent == pytest.approx(0.1, abs=0.02)
    assert declined == pytest.approx(0.2, abs=0.025)
    accepted = [p for p in plans if len(p) == 3]
    assert all([r.status for r in p] == ["accepted", "first_contact", "closed"] for p in accepted)
    assert all(p[0].after <= p[1].after <= p[2].after for p in accepted)


def test_a_request_gets_the_same_plan_whenever_it_is_seen() -> None:
    behaviour = PartnerBehaviour()
    assert plan("abc", behaviour, 1) == plan("abc", behaviour, 1)
    assert plan("abc", behaviour, 1) != plan("abc", behaviour, 2)


def test_a_compressed_clock_runs_delays_faster() -> None:
    assert real_moment(ISSUED, 7200, clock_scale=60) == ISSUED + timedelta(minutes=2)
    assert real_moment(ISSUED, 7200, clock_scale=1) == ISSUED + timedelta(hours=2)
    with pytest.raises(ScheduleError):
        PartnerBehaviour(clock_scale=0)
    with pytest.raises(ScheduleError):
        PartnerBehaviour(decline_share=0.7, silent_share=0.5)


def always_accepting() -> PartnerBehaviour:
    return PartnerBehaviour(
        accept_delay=Delay("fixed", 60),
        decline_share=0.0,
        contact_delay=Delay("fixed", 600),
        close_delay=Delay("fixed", 3600),
    )


def test_the_desk_hands_out_reports_in_order_once_each() -> None:
    desk = PartnerDesk(always_accepting(), 1, {"LA-CJS-01": "red-juridica-juarez"})
    assert desk.learn("r1", "LA-CJS-01", ISSUED)
    assert not desk.learn("r1", "LA-CJS-01", ISSUED)  # read twice
    assert not desk.learn("r2", "LA-TIJ-01", ISSUED)  # nobody here serves it
    assert desk.due(ISSUED + timedelta(seconds=59)) == []
    [accepted] = desk.due(ISSUED + timedelta(seconds=60))
    assert accepted.body() == {
        "status": "accepted",
        "status_at": "2026-12-01T10:01:00.000Z",
        "reason_code": None,
    }
    [contact] = desk.due(ISSUED + timedelta(hours=2))
    desk.settle(contact, 202, ISSUED + timedelta(hours=2))
    [closed] = desk.due(ISSUED + timedelta(hours=2))
    assert [contact.status, closed.status] == ["first_contact", "closed"]
    assert (desk.stats.requests, desk.stats.not_served) == (2, 1)


def test_a_withdrawn_or_refused_request_takes_no_more_reports() -> None:
    desk = PartnerDesk(always_accepting(), 1, {"LA-CJS-01": "p"})
    desk.learn("r1", "LA-CJS-01", ISSUED)
    desk.learn("r2", "LA-CJS-01", ISSUED)
    desk.withdrawn("r1")
    [accepted] = desk.due(ISSUED + timedelta(minutes=1))
    assert accepted.event_id == "r2"
    desk.settle(accepted, 409, ISSUED + timedelta(minutes=1))
    assert desk.due(ISSUED + timedelta(days=1)) == []
    assert desk.stats.stopped == 2


def test_an_unknown_request_is_tried_again_and_later_reports_wait_for_it() -> None:
    desk = PartnerDesk(always_accepting(), 1, {"LA-CJS-01": "p"})
    desk.learn("r1", "LA-CJS-01", ISSUED)
    now = ISSUED + timedelta(hours=2)  # all three are due
    [accepted] = desk.due(now)  # one at a time: the next waits for this answer
    desk.settle(accepted, 404, now)  # notify has not seen the request yet
    assert desk.due(now) == []
    now += timedelta(seconds=5)
    [again] = desk.due(now)
    assert (again.status, again.tries, again.status_at) == ("accepted", 1, accepted.status_at)
    desk.settle(again, 202, now)
    sent = []
    while report := desk.due(now + timedelta(seconds=10)):
        sent += [r.status for r in report]
        for r in report:
            desk.settle(r, 202, now)
    assert sent == ["first_contact", "closed"]
    assert desk.stats.answers == {"accepted 404": 1, "accepted 202": 1, "first_contact 202": 1,
                                  "closed 202": 1}  # fmt: skip


def test_a_request_notify_never_knows_is_given_up() -> None:
    desk = PartnerDesk(always_accepting(), 1, {"LA-CJS-01": "p"})
    desk.learn("r1", "LA-CJS-01", ISSUED)
    now = ISSUED + timedelta(minutes=1)
    for _ in range(MAX_TRIES):
        [report] = desk.due(now)
        desk.settle(report, 404, now)
        now += timedelta(seconds=5)
    assert desk.due(now + timedelta(days=30)) == []
    assert desk.stats.answers["accepted 404"] == MAX_TRIES


def test_reports_are_signed_with_the_partners_secret(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def notify(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        ok = verify(request.content, SECRET, request.headers.get("X-Signature"))
        return httpx.Response(202 if ok else 401)

    desk = PartnerDesk(always_accepting(), 1, {"LA-CJS-01": "red-juridica-juarez"})
    desk.learn("r1", "LA-CJS-01", ISSUED)
    [report] = desk.due(ISSUED + timedelta(minutes=1))
    client = httpx.Client(transport=httpx.MockTransport(notify))
    reporter = PartnerReporter("http://127.0.0.1:8083/", {"red-juridica-juarez": SECRET}, client)
    assert reporter.send(report) == 202
    assert seen[0].url.path == "/v1/requests/r1/status"
    assert seen[0].headers["X-Partner-Id"] == "red-juridica-juarez"
    assert json.loads(seen[0].content)["status"] == "accepted"
    wrong = PartnerReporter("http://127.0.0.1:8083", {"red-juridica-juarez": "other"}, client)
    assert wrong.send(report) == 401


def test_no_answer_is_none() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    desk = PartnerDesk(always_accepting(), 1, {"LA-CJS-01": "p"})
    desk.learn("r1", "LA-CJS-01", ISSUED)
    [report] = desk.due(ISSUED + timedelta(minutes=1))
    client = httpx.Client(transport=httpx.MockTransport(down))
    assert PartnerReporter("http://127.0.0.1:1", {"p": SECRET}, client).send(report) is None


class ListFeed:
    def __init__(self, batches: list[list[FeedItem]]) -> None:
        self.batches = batches

    def poll(self, timeout_ms: int) -> list[FeedItem]:
        return self.batches.pop(0) if self.batches else []

    def close(self) -> None:
        pass


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, report: object) -> int:
        self.sent.append((report.event_id, report.status))  # type: ignore[attr-defined]
        return 202


def test_a_run_learns_from_the_feed_and_reports_when_due() -> None:
    clock = [ISSUED]
    desk = PartnerDesk(always_accepting(), 1, {"LA-CJS-01": "p"})
    feed = ListFeed([[FeedItem("r1", "LA-CJS-01", ISSUED), FeedItem("r2", "LA-CJS-01", ISSUED)]])
    feed.batches.append([FeedItem("r2", "LA-CJS-01", ISSUED, withdrawn=True)])
    recorder = Recorder()
    run = PartnerRun(desk, feed, recorder, now=lambda: clock[0])  # type: ignore[arg-type]
    run.step()
    run.step()  # r2 withdrawn before anything was due
    clock[0] = ISSUED + timedelta(days=1)
    run.step()
    assert recorder.sent == [("r1", "accepted"), ("r1", "first_contact"), ("r1", "closed")]


def test_the_partners_file_names_who_serves_each_provider(tmp_path: Path) -> None:
    path = tmp_path / "partners.toml"
    path.write_text(
        """
[[partners]]
partner_id = "red-juridica-juarez"
url = "http://127.0.0.1:8701/webhooks/legal-aid"
secret_env = "SECRET_RJJ"
event_types = ["legal-aid-requested"]
provider_ids = ["LA-CJS-01", "LA-CJS-02"]
""",
        encoding="utf-8",
    )
    partners = read_partners(path, {"SECRET_RJJ": SECRET})
    assert partners.serving == {
        "LA-CJS-01": "red-juridica-juarez",
        "LA-CJS-02": "red-juridica-juarez",
    }
    assert SECRET not in repr(partners)
