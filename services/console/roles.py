"""What each role may see and do. Pure data: the web layer asks, never decides itself."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

Role = Literal["inm", "shelter", "ops", "legal_aid", "auditor"]
ROLES: tuple[Role, ...] = ("inm", "shelter", "ops", "legal_aid", "auditor")


class Permission(StrEnum):
    VIEW_LOCATIONS = "view_locations"
    SET_LOCATION_STATUS = "set_location_status"  # suspend, reopen, set the daily cap
    REPORT_SHELTER = "report_shelter"  # beds and departures
    VIEW_REQUESTS = "view_requests"
    LOOK_UP_CASE = "look_up_case"
    SEE_PERSONAL_DATA = "see_personal_data"
    VIEW_CHARTS = "view_charts"
    VIEW_API_DOCS = "view_api_docs"


_P = Permission
GRANTS: dict[Role, frozenset[Permission]] = {
    # INM decides where people may be received, and looks up a case it is asked about.
    "inm": frozenset(
        {
            _P.VIEW_LOCATIONS,
            _P.SET_LOCATION_STATUS,
            _P.LOOK_UP_CASE,
            _P.VIEW_CHARTS,
            _P.VIEW_API_DOCS,
        }
    ),
    # A shelter coordinator reports beds and departures; queues tell them who is coming.
    "shelter": frozenset({_P.VIEW_LOCATIONS, _P.REPORT_SHELTER}),
    # Ops watch everything that flows, but act on nothing and see no personal data.
    "ops": frozenset(
        {_P.VIEW_LOCATIONS, _P.VIEW_REQUESTS, _P.LOOK_UP_CASE, _P.VIEW_CHARTS, _P.VIEW_API_DOCS}
    ),
    # Legal aid sees the requests waiting for it and the cases behind them, names included.
    "legal_aid": frozenset({_P.VIEW_REQUESTS, _P.LOOK_UP_CASE, _P.SEE_PERSONAL_DATA}),
    # An auditor re-derives decisions: every case, with the data they were taken on.
    "auditor": frozenset(
        {_P.LOOK_UP_CASE, _P.SEE_PERSONAL_DATA, _P.VIEW_CHARTS, _P.VIEW_REQUESTS, _P.VIEW_API_DOCS}
    ),
}


def allows(role: Role, permission: Permission) -> bool:
    """Whether ``role`` holds ``permission``."""
    return permission in GRANTS[role]
