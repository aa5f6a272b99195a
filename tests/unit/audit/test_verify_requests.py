"""`verify` on legal-aid requests: fear referrals get an interview, reassignments a lineage.

And `case` lists each request's states (issued, accepted, declined, reassigned...).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.audit import findings
from services.audit.request_states import request_states
from services.audit.timeline import build_timeline
from services.audit.verify import VerifyReport, verify_events
from services.reference import load_reference
from tests.unit.audit.audit_factories import Log, at
from tests.unit.audit.resource_factories import report, request, withdraw
from tests.unit.screening.factories import returned

REFERENCE = load_reference()
INTERVIEW = "non_refoulement_interview"


def verify(log: Log, minutes: float = 60) -> VerifyReport:
    return verify_events(log.events, REFERENCE, as_of=at(minutes), grace=timedelta(minutes=15))


def referred(log: Log, group: str = "G-2026-000123", case_id: str = "A212345678") -> Any:
    person = log.person(returned(case_id, group_id=group, fear_of_return_to_mexico=True), 0)
    screened = log.screen([person], 1)
    assert screened.data.decision == "referred"
    return screened


def reassigned(log: Log) -> tuple[Any, Any]:
    """Declined by LA-CJS-02 at 5, withdrawn and replaced at 6 with LA-CJS-01."""
    screened = referred(log)
    first = request(log, screened, 2, provider="LA-CJS-02", purpose=INTERVIEW)
    report(log, first, "declined", 5)
    withdraw(log, first, 6)
    second = request(log, screened, 6, purpose=INTERVIEW, replaces=first, because="DECLINED")
    return first, second


def categories(found: VerifyReport) -> list[str]:
    return [mismatch.category for mismatch in found.mismatches]


def test_a_fear_referral_without_an_interview_request_is_a_finding_after_the_grace() -> None:
    log = Log()
    referred(log)
    assert [p.category for p in verify(log, 10).pending] == [findings.MISSING_NON_REFOULEMENT]
    assert categories(verify(log, 60)) == [findings.MISSING_NON_REFOULEMENT]


def test_a_good_reassignment_passes() -> None:
    log = Log()
    reassigned(log)
    found = verify(log)
    assert found.ok, found.mismatches
    assert found.reassignments_checked == 1


def test_a_reassignment_naming_no_request_is_a_finding() -> None:
    log = Log()
    screened = referred(log)
    elsewhere = request(Log(), screened, 2, provider="LA-CJS-03", purpose=INTERVIEW)  # never logged
    request(log, screened, 6, purpose=INTERVIEW, replaces=elsewhere, because="DECLINED")
    found = verify(log)
    assert categories(found) == [findings.REPLACES_NOTHING]
    assert elsewhere.event_id[:8] in found.mismatches[0].detail


def test_a_reassignment_naming_another_groups_request_is_a_finding() -> None:
    log = Log()
    other = referred(log, "G-2026-000999", "A212345699")
    theirs = request(log, other, 2, provider="LA-CJS-02", purpose=INTERVIEW)
    withdraw(log, theirs, 3)
    mine = referred(log)
    request(log, mine, 4, purpose=INTERVIEW, replaces=theirs, because="DECLINED")
    found = verify(log)
    assert findings.REPLACES_NOTHING in categories(found)
    assert findings.REASSIGNED_WITHOUT_REPLACEMENT in categories(found)  # theirs left bare


def test_a_replaced_request_never_withdrawn_is_a_finding() -> None:
    log = Log()
    screened = referred(log)
    first = request(log, screened, 2, provider="LA-CJS-02", purpose=INTERVIEW)
    request(log, screened, 6, purpose=INTERVIEW, replaces=first, because="NOT_ACCEPTED_IN_TIME")
    assert [p.category for p in verify(log, 10).pending] == [findings.REPLACED_NOT_WITHDRAWN]
    assert categories(verify(log)) == [findings.REPLACED_NOT_WITHDRAWN]


def test_a_request_withdrawn_as_reassigned_needs_a_replacement() -> None:
    log = Log()
    screened = referred(log)
    first = request(log, screened, 2, provider="LA-CJS-02", purpose=INTERVIEW)
    withdraw(log, first, 50)
    pending = verify(log, 60)  # the gap began at 50: still within the grace
    assert pending.ok
    assert sorted(p.category for p in pending.pending) == [
        findings.MISSING_NON_REFOULEMENT,
        findings.REASSIGNED_WITHOUT_REPLACEMENT,
    ]
    assert sorted(categories(verify(log, 120))) == [
        findings.MISSING_NON_REFOULEMENT,
        findings.REASSIGNED_WITHOUT_REPLACEMENT,
    ]


def test_the_case_shows_each_requests_states() -> None:
    log = Log()
    _, second = reassigned(log)
    report(log, second, "accepted", 7)
    report(log, second, "first_contact", 30)
    report(log, second, "closed", 50)
    states = request_states(build_timeline(log.events))
    assert [(r.provider_id, [s.name for s in r.states]) for r in states] == [
        ("LA-CJS-02", ["issued", "declined", "reassigned"]),
        ("LA-CJS-01", ["issued", "accepted", "first_contact", "closed"]),
    ]
    assert states[1].replaces == states[0].entry
    assert states[0].replaced_by == states[1].entry
    assert states[1].current == "closed"
