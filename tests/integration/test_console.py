"""The console in a real headless Chromium, against intake, screening, placement and notify
running on the real broker.

An INM official logs in, suspends Ciudad Juárez with a note, sees a family submitted
through intake appear in its queue without reloading, reopens it and sees the family
placed. A shelter coordinator sees no INM buttons, and INM's action posted by hand is
refused with 403. Screenshots of the main pages land in ``.work/artifacts/console/``.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.console.users import user_entry
from services.runtime.settings import REPO_ROOT, WORK_DIR
from tests.integration.stack import Stack, running_stack
from tests.support.broker import BrokerInfo
from tests.support.kafka import scratch_runtime
from tests.support.services import ServiceProcess
from tests.unit.contracts.samples import submission

playwright_api = pytest.importorskip("playwright.async_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian's chromium is not installed (apt-get install -y chromium)",
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = WORK_DIR / "artifacts" / "console"
PASSWORDS = {"ana": "ana-inm-pass", "beto": "beto-shelter-pass", "carla": "carla-audit-pass"}
ROLES = {"ana": "inm", "beto": "shelter", "carla": "auditor"}
LIVE = 45_000  # ms: a decision goes intake -> screening -> placement -> console


@dataclass
class ConsoleStack:
    stack: Stack
    console: ServiceProcess


@pytest.fixture(scope="module")
def console_stack(
    kafka: BrokerInfo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConsoleStack]:
    workdir = tmp_path_factory.mktemp("console")
    users = workdir / "console-users.toml"
    users.write_text("".join(user_entry(n, ROLES[n], p) for n, p in PASSWORDS.items()))
    access_log = workdir / "console-access.jsonl"
    with scratch_runtime(kafka.bootstrap_servers) as runtime:
        placement = ServiceProcess("placement", runtime, workdir / "placement.log")
        notify = ServiceProcess("notify", runtime, workdir / "notify.log")
        console = ServiceProcess("console", runtime, workdir / "console.log")
        mine = (placement, notify, console)
        for process in mine[:2]:  # starting while intake and screening start
            process.start(wait=False)
        try:
            with running_stack(runtime, workdir) as stack:
                console.env_extra = {
                    "RETURNS_CONSOLE_USERS_FILE": str(users),
                    "RETURNS_CONSOLE_PLACEMENT_URL": placement.url,
                    "RETURNS_CONSOLE_NOTIFY_URL": notify.url,
                    "RETURNS_CONSOLE_INTAKE_URL": stack.intake.url,
                    "RETURNS_CONSOLE_ACCESS_LOG": str(access_log),
                    "RETURNS_CONSOLE_POLL_SECONDS": "1",
                }
                console.start(wait=False)
                for process in mine:
                    process.wait_ready()
                yield ConsoleStack(stack, console)
        finally:
            for process in mine:
                process.kill()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def logged_in(browser: Any, base: str, user: str) -> Any:
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    page = await context.new_page()
    await page.goto(f"{base}/locations")
    assert "/login" in page.url  # no session yet: the login page first
    await page.get_by_label("Usuario").fill(user)
    await page.get_by_label("Contraseña").fill(PASSWORDS[user])
    await page.get_by_role("button", name="Entrar").click()
    await page.wait_for_url(f"{base}/**")
    return page


def family(group: str) -> list[dict[str, object]]:
    """A Honduran mother and her adult son returned at El Paso: accepted, bound for CJS."""
    common = {"group_id": group, "group_size": 2, "crossing": "ELP"}
    return [
        submission(submission_id=f"{group}-1", case_id="A300100001", **common),
        submission(
            submission_id=f"{group}-2",
            case_id="A300100002",
            person__given_names="Kevin",
            person__sex="M",
            person__date_of_birth="2001-05-04",
            person__role_in_group="child",
            **common,
        ),
    ]


async def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def test_inm_suspends_sees_the_queue_reopens_and_a_shelter_cannot_act(
    console_stack: ConsoleStack, browser: Any
) -> None:
    expect = playwright_api.expect
    base, stack = console_stack.console.url, console_stack.stack
    group = f"G-CONSOLE-{uuid.uuid4().hex[:6]}"

    page = await logged_in(browser, base, "ana")
    cjs = page.locator("#loc-CJS")
    await expect(cjs.locator('[data-field="status"]')).to_have_text("abierto", timeout=LIVE)
    await shot(page, "locations")

    await cjs.get_by_label("Nota (obligatoria)").fill("Enfrentamientos cerca del puente")
    await cjs.get_by_role("button", name="Suspender").click()
    await expect(page.get_by_role("status").first).to_contain_text("location-status-changed")
    await expect(cjs.locator('[data-field="status"]')).to_have_text("suspendido", timeout=LIVE)

    # From here on the page is never reloaded: the marker would be lost if it were.
    await page.evaluate("window.stillTheSamePage = true")
    for record in family(group):
        answer = await asyncio.to_thread(stack.post, record)
        assert answer.status_code == 202, answer.text
    await expect(cjs.locator(".queue")).to_contain_text(group, timeout=LIVE)
    assert await page.evaluate("window.stillTheSamePage") is True
    await shot(page, "locations-suspended-queue")

    await cjs.get_by_label("Nota (obligatoria)").fill("Zona segura de nuevo")
    await cjs.get_by_role("button", name="Reabrir").focus()  # by keyboard this time
    await page.keyboard.press("Enter")
    await expect(cjs.locator('[data-field="status"]')).to_have_text("abierto", timeout=LIVE)
    await expect(cjs.locator(".queue")).to_have_text("Nadie espera.", timeout=LIVE)
    await expect(cjs.locator('[data-field="placed_today"]')).to_have_text("2", timeout=LIVE)

    changes = [e.data for e in await asyncio.to_thread(stack.events, "location-status-changed", 2)]
    assert [(c.security_level, c.changed_by, c.note) for c in changes] == [
        ("suspended", "ana", "Enfrentamientos cerca del puente"),
        ("normal", "ana", "Zona segura de nuevo"),
    ]

    await page.goto(f"{base}/case?id={group}")
    timeline = page.get_by_role("table").first
    await expect(timeline).to_contain_text("placement-deferred")
    await expect(timeline).to_contain_text("PLACED at CJS")
    await expect(page.locator("main")).to_contain_text("ocultos para su función")
    await expect(page.locator("main")).not_to_contain_text("María José")  # INM: no names
    await shot(page, "case-lookup")
    lookups = await asyncio.to_thread(stack.events, "access-logged", 1)
    console_reads = [a.data for a in lookups if a.data.reader == "console"]
    assert [(a.principal, a.subject, a.subject_id, a.group_ids) for a in console_reads] == [
        ("ana", "group", group, [group])
    ]
    assert not console_reads[0].personal_data_shown
    # Placement recorded the console's reads of its queues in the official's name.
    assert "ana" in {a.data.principal for a in lookups if a.data.reader == "placement"}

    await page.goto(f"{base}/charts?lang=en")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Charts")
    await expect(page.locator("#chart-CJS svg")).to_be_visible()
    await shot(page, "charts")
    await page.goto(f"{base}/api-docs")
    await expect(page.locator("main")).to_contain_text("/v1/returns")  # intake's OpenAPI
    if (REPO_ROOT / "docs" / "asyncapi.yaml").exists():
        status_topic = page.locator("#topic-location-status-changed")
        await expect(status_topic).to_contain_text("changed_by")
    else:
        await expect(page.locator("main")).to_contain_text("docs/asyncapi.yaml does not exist")
    await shot(page, "api-docs")

    shelter = await logged_in(browser, base, "beto")
    cjs = shelter.locator("#loc-CJS")
    await expect(cjs.get_by_role("button", name="Actualizar camas")).to_be_visible()
    await expect(cjs.get_by_role("button", name="Suspender")).to_have_count(0)
    await shelter.set_viewport_size({"width": 390, "height": 844})  # a phone
    await shot(shelter, "locations-shelter-phone")
    csrf = await shelter.locator('meta[name="csrf-token"]').get_attribute("content")
    refused = await shelter.request.post(
        f"{base}/locations/CJS/status",
        form={"csrf": csrf, "action": "suspend", "daily_cap": "30", "note": "no"},
        max_redirects=0,
    )
    assert refused.status == 403
    anonymous = await asyncio.to_thread(
        httpx.post, f"{base}/locations/CJS/status", data={"action": "suspend"}
    )
    assert anonymous.status_code == 401
    published = await asyncio.to_thread(stack.read, "location-status-changed", 2, settle=1.0)
    assert len(published) == 2  # the refused one never reached the topic

    # The page is read on request: once notify has asked for legal aid, it lists it.
    await asyncio.to_thread(stack.events_for, "legal-aid-requested", group)
    auditor = await logged_in(browser, base, "carla")
    await auditor.goto(f"{base}/requests")
    requests = auditor.get_by_role("table", name="Solicitudes a asesoría legal y atención médica")
    await expect(requests).to_contain_text(group)
    await expect(requests).to_contain_text("immigration_hearing")
    await shot(auditor, "requests")
    await auditor.goto(f"{base}/case?id=A300100001")
    await expect(auditor.locator("main")).to_contain_text("Se muestran datos personales")
    await expect(auditor.get_by_role("table").first).to_contain_text("María José")
    await shot(auditor, "case-lookup-auditor")
