"""The console's HTTP answers, without a broker: placement's page and the publisher faked.

Logging in, the role checks (403 for an action the role lacks, whatever the page
showed), CSRF, specific 4xx answers to bad forms, JSON for bearer tokens, languages.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from services.console.access import FileAccessLog
from services.console.actions import Outgoing
from services.console.app import build_app
from services.console.config import ConsoleConfig
from services.console.sessions import SessionStore
from services.console.users import UserDirectory, user_entry
from services.console.web import CONSOLE, Console
from services.reference import load_reference
from services.runtime.context import Runtime
from services.runtime.settings import Settings

CJS_VIEW = {
    "location": "CJS",
    "security_level": "normal",
    "daily_cap": 30,
    "placed_today": 4,
    "free_beds": 120,
    "shelters": [{"shelter_id": "CJS-S01", "beds": 60, "occupied": 10, "free": 50}],
    "queue_length": 1,
    "oldest_waiting_age_seconds": 95,
    "waiting": [
        {
            "position": 1,
            "group_id": "G-2026-000777",
            "beds": 3,
            "reason": "DAILY_CAP_REACHED",
            "deferred_since": "2026-12-01T17:00:00+00:00",
        }
    ],
}


@dataclass
class FakePages:
    answers: dict[str, Any] = field(default_factory=dict)
    asked_as: list[str | None] = field(default_factory=list)

    async def json(self, url: str, principal: str | None = None) -> tuple[int, Any] | None:
        self.asked_as.append(principal)
        for suffix, body in self.answers.items():
            if url.endswith(suffix):
                return 200, body
        return None

    async def ok_json(self, url: str, principal: str | None = None) -> Any | None:
        answer = await self.json(url, principal)
        return None if answer is None else answer[1]


@dataclass
class FakePublisher:
    sent: list[Outgoing] = field(default_factory=list)
    connected: bool = True

    def connect(self) -> None:
        pass

    async def publish(self, outgoing: Outgoing) -> None:
        self.sent.append(outgoing)

    def close(self) -> None:
        pass


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[TestClient[Any, Any], FakePublisher]]:
    users = tmp_path / "users.toml"
    users.write_text(
        user_entry("ana", "inm", "pw-ana", token="tok-ana")
        + user_entry("beto", "shelter", "pw-beto", token="tok-beto")
    )
    config = replace(ConsoleConfig(), users_file=users, access_log=tmp_path / "access.jsonl")
    runtime = Runtime(Settings(), None, load_reference(), None)  # type: ignore[arg-type]
    publisher = FakePublisher()
    state = Console(
        config=config,
        runtime=runtime,
        users=UserDirectory.from_file(users),
        sessions=SessionStore(),
        publisher=publisher,  # type: ignore[arg-type]
        access=FileAccessLog(config.access_log),
        pages=FakePages(  # type: ignore[arg-type]
            {"/v1/locations": {"as_of": "2026-12-01T17:01:35+00:00", "locations": [CJS_VIEW]}}
        ),
    )
    async with TestClient(TestServer(build_app(state))) as client:
        yield client, publisher


async def log_in(client: TestClient[Any, Any], user: str, password: str) -> str:
    page = await (await client.get("/login")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    answer = await client.post(
        "/login",
        data={"csrf": csrf.group(1), "user": user, "password": password, "next": "/locations"},
        allow_redirects=False,
    )
    assert answer.status == 303, await answer.text()
    locations = await (await client.get("/locations")).text()
    token = re.search(r'name="csrf-token" content="([^"]+)"', locations)
    assert token is not None
    return token.group(1)


async def test_a_page_without_a_session_sends_to_the_login(console: Any) -> None:
    client, _ = console
    answer = await client.get("/locations", allow_redirects=False)
    assert answer.status == 303
    assert answer.headers["Location"] in ("/login?next=/locations", "/login?next=%2Flocations")
    assert (await client.get("/api/locations")).status == 401


async def test_a_wrong_password_is_answered_401_and_opens_no_session(console: Any) -> None:
    client, _ = console
    page = await (await client.get("/login")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    answer = await client.post(
        "/login", data={"csrf": csrf.group(1), "user": "ana", "password": "nope"}
    )
    assert answer.status == 401
    assert "Usuario o contraseña incorrectos." in await answer.text()


async def test_inm_sees_the_queue_and_its_buttons_in_spanish(console: Any) -> None:
    client, _ = console
    await log_in(client, "ana", "pw-ana")
    page = await (await client.get("/locations")).text()
    assert '<html lang="es">' in page
    assert "G-2026-000777" in page
    assert "DAILY_CAP_REACHED" in page
    assert 'value="suspend">Suspender</button>' in page
    assert "Actualizar camas" not in page  # shelter forms are for shelters
    english = await (await client.get("/locations?lang=en")).text()
    assert '<html lang="en">' in english
    assert ">Suspend</button>" in english
    assert set(client.app[CONSOLE].pages.asked_as) == {"ana"}  # placement records the reader


async def test_inm_suspends_with_a_note_and_the_event_names_the_official(console: Any) -> None:
    client, publisher = console
    csrf = await log_in(client, "ana", "pw-ana")
    form = {"csrf": csrf, "action": "suspend", "daily_cap": "30", "note": "Balacera"}
    answer = await client.post("/locations/CJS/status", data=form, allow_redirects=False)
    assert answer.status == 303
    (sent,) = publisher.sent
    assert (sent.envelope.data.security_level, sent.envelope.data.changed_by) == (
        "suspended",
        "ana",
    )
    assert "location-status-changed" in await (await client.get("/locations")).text()  # flash


async def test_a_form_without_its_csrf_token_is_refused(console: Any) -> None:
    client, publisher = console
    await log_in(client, "ana", "pw-ana")
    form = {"action": "suspend", "daily_cap": "30", "note": "x"}
    answer = await client.post("/locations/CJS/status", data=form)
    assert answer.status == 403
    assert publisher.sent == []


async def test_a_shelter_sees_no_inm_button_and_its_post_is_refused_403(console: Any) -> None:
    client, publisher = console
    csrf = await log_in(client, "beto", "pw-beto")
    page = await (await client.get("/locations")).text()
    assert "Suspender" not in page
    assert "Actualizar camas" in page
    form = {"csrf": csrf, "action": "suspend", "daily_cap": "30", "note": "x"}
    assert (await client.post("/locations/CJS/status", data=form)).status == 403
    assert (await client.get("/case?id=A212345678")).status == 403
    assert publisher.sent == []


async def test_bad_forms_get_a_specific_4xx(console: Any) -> None:
    client, publisher = console
    csrf = await log_in(client, "ana", "pw-ana")
    missing_note = {"csrf": csrf, "action": "suspend", "daily_cap": "30", "note": ""}
    answer = await client.post("/locations/CJS/status", data=missing_note)
    assert answer.status == 422
    assert "la nota es obligatoria" in await answer.text()
    unknown = {"csrf": csrf, "action": "suspend", "daily_cap": "30", "note": "x"}
    assert (await client.post("/locations/ZZZ/status", data=unknown)).status == 422
    assert (await client.get("/case?id=")).status == 422
    assert publisher.sent == []


async def test_a_token_gets_json_answers(console: Any) -> None:
    client, publisher = console
    bearer = {"Authorization": "Bearer tok-beto"}
    answer = await client.post(
        "/shelters/beds", data={"shelter_id": "CJS-S01", "beds": "75"}, headers=bearer
    )
    assert answer.status == 202
    body = await answer.json()
    assert body["topic"] == "capacity-updated"
    assert publisher.sent[0].envelope.data.reported_by == "beto"
    bad = await client.post("/shelters/beds", data={"shelter_id": "CJS-S01"}, headers=bearer)
    assert bad.status == 422
    assert (await bad.json())["problems"] == {
        "beds": "las camas deben ser un entero entre 0 y 100000"
    }
    nobody = await client.post("/shelters/beds", headers={"Authorization": "Bearer wrong"})
    assert nobody.status == 401


async def test_pages_carry_a_policy_that_allows_nothing_from_elsewhere(console: Any) -> None:
    client, _ = console
    answer = await client.get("/login")
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    assert "http" not in (await answer.text()).replace('href="/', "")
