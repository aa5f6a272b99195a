"""The resources report's words, in Spanish and English. Codes (reasons, ids) stay as they are."""

from __future__ import annotations

LANGUAGES = ("es", "en")

_TEXT: dict[str, tuple[str, str]] = {  # key: (es, en)
    "title": (
        "Recursos: albergues, espera, asesoría legal y vacunación",
        "Resources: shelters, waits, legal aid and vaccination",
    ),
    "period": ("Periodo (fechas locales)", "Period (local dates)"),
    "until": ("Fin de la auditoría (último evento leído)", "End of the audit (last event read)"),
    "to": ("a", "to"),
    "clock_scale": (
        "Reloj comprimido: cada tiempo se lee como origen + (t - origen) x {scale}, "
        "origen {origin}",
        "Compressed clock: every time is read as origin + (t - origin) x {scale}, origin {origin}",
    ),
    "shelters": (
        "Albergues: noches-cama y ocupación máxima",
        "Shelters: bed-nights and peak occupancy",
    ),
    "location": ("ubicación", "location"),
    "month": ("mes", "month"),
    "shelter": ("albergue", "shelter"),
    "bed_nights": ("noches-cama", "bed-nights"),
    "peak_occupied": ("camas ocupadas (máx.)", "peak beds held"),
    "beds_at_peak": ("camas entonces", "beds then"),
    "peak_share": ("ocupación máx. %", "peak occupancy %"),
    "unmet": ("Demanda no atendida: grupos en espera", "Unmet demand: groups waiting"),
    "cause": ("causa", "cause"),
    "reason": ("motivo", "reason"),
    "groups": ("grupos", "groups"),
    "people": ("personas", "people"),
    "served": ("ubicados después", "placed later"),
    "still_waiting": ("aún esperando", "still waiting"),
    "days_p50": ("días p50", "days p50"),
    "days_max": ("días máx.", "days max"),
    "person_days": ("personas-día", "person-days"),
    "daily_cap": ("Tope diario de recepción", "Daily reception cap"),
    "shelter_beds": ("Camas de albergue", "Shelter beds"),
    "location_suspended": ("Ubicación suspendida", "Location suspended"),
    "legal_aid": ("Asesoría legal por proveedor", "Legal aid per provider"),
    "provider": ("proveedor", "provider"),
    "requests": ("solicitudes", "requests"),
    "accepted": ("aceptadas", "accepted"),
    "declined": ("rechazadas", "declined"),
    "first_contact": ("primer contacto", "first contact"),
    "closed": ("cerradas", "closed"),
    "h_accepted_p50": ("h a aceptada p50", "h to accepted p50"),
    "h_accepted_p95": ("h a aceptada p95", "h to accepted p95"),
    "h_contact_p50": ("h a contacto p50", "h to contact p50"),
    "h_contact_p95": ("h a contacto p95", "h to contact p95"),
    "due": ("vencidas", "due"),
    "overdue": ("sin contacto a tiempo", "overdue"),
    "overdue_share": ("% fuera de plazo", "overdue %"),
    "reassigned_to": ("reasignadas a él", "reassigned to it"),
    "reassigned_away": ("reasignadas a otro", "reassigned away"),
    "vaccination": ("Solicitudes de vacunación (COVID-19)", "Vaccination requests (COVID-19)"),
    "withdrawn": ("retiradas", "withdrawn"),
    "read": ("Eventos leídos", "Events read"),
    "topic": ("tópico", "topic"),
    "events": ("eventos", "events"),
    "offsets": ("particiones: primer-último offset", "partitions: first-last offset"),
    "first_at": ("primero (occurred_at)", "first (occurred_at)"),
    "last_at": ("último (occurred_at)", "last (occurred_at)"),
    "missing_topics": (
        "Tópicos ausentes (sus cifras quedan vacías)",
        "Topics absent (their figures stay empty)",
    ),
    "duplicates": (
        "Eventos repetidos descartados (mismo event_id)",
        "Repeated events dropped (same event_id)",
    ),
    "unmatched": (
        "Reportes de socios sin solicitud en el registro leído",
        "Partner reports without a request in the log read",
    ),
    "none": ("Sin datos en el periodo.", "No data in the period."),
    "notes": ("Notas", "Notes"),
    "note_nights": (
        (
            "Una noche-cama es una cama ocupada a la medianoche local; la hora local es la del "
            "returned_at de los grupos."
        ),
        (
            "A bed-night is one bed held at local midnight; local time is the offset of the "
            "groups' returned_at."
        ),
    ),
    "note_waits": (
        (
            "Una espera empieza con el primer placement-deferred del grupo (su deferred_since) y "
            "termina al ubicarse o al salir de la fila; las abiertas corren hasta el fin de la "
            "auditoría."
        ),
        (
            "A wait starts at the group's first placement-deferred (its deferred_since) and ends "
            "when it is placed or leaves the queue; open ones run to the end of the audit."
        ),
    ),
    "note_legal": (
        (
            "Horas desde la emisión de la solicitud hasta el status_at que reporta el socio "
            "(rango más cercano). Fuera de plazo: pasado su due_by sin primer contacto; una "
            "solicitud retirada antes de su due_by no cuenta."
        ),
        (
            "Hours from the request's issue to the status_at the partner reports (nearest rank). "
            "Overdue: past its due_by without a first contact; a request withdrawn before its "
            "due_by does not count."
        ),
    ),
    "chart_bed_nights": ("Noches-cama por mes en {location}", "Bed-nights per month at {location}"),
    "chart_unmet": (
        "Personas en espera por causa en {location}",
        "People waiting, by cause, at {location}",
    ),
    "chart_legal": (
        "Horas a primer contacto por proveedor (p50, p95)",
        "Hours to first contact per provider (p50, p95)",
    ),
    "hours": ("horas", "hours"),
    "csv_subject": ("sujeto", "subject"),
    "csv_measure": ("medida", "measure"),
    "csv_label": ("etiqueta", "label"),
    "csv_category": ("categoría", "category"),
    "csv_value": ("valor", "value"),
}


def text(key: str, lang: str) -> str:
    """The words for `key` in `lang` (`es` or `en`)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    es, en = _TEXT[key]
    return es if lang == "es" else en
