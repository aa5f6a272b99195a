"""Words in both languages, the AsyncAPI page, and what each role's pages show."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from schemas.registry import TOPICS
from services.console import apidocs
from services.console.i18n import MESSAGES, pick_lang, text
from services.console.layout import Frame
from services.console.locations_page import live_fragment
from services.console.users import User
from services.reference import load_reference

ASYNCAPI = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.yaml"


def test_spanish_and_english_have_the_same_words_and_placeholders() -> None:
    assert MESSAGES["es"].keys() == MESSAGES["en"].keys()
    for key, spanish in MESSAGES["es"].items():
        fields = {f for _, f, _, _ in string.Formatter().parse(spanish) if f}
        english = {f for _, f, _, _ in string.Formatter().parse(MESSAGES["en"][key]) if f}
        assert fields == english, key


def test_spanish_is_the_default_and_the_choice_is_remembered() -> None:
    assert pick_lang(None, None) == "es"
    assert pick_lang("en", None) == "en"
    assert pick_lang(None, "en") == "en"
    assert pick_lang("fr", "de") == "es"
    assert text("en", "case_none", wanted="A212345678") == "No event mentions A212345678."


DOCUMENT = {
    "asyncapi": "3.0.0",
    "channels": {
        "placed": {
            "address": "placed",
            "description": "A group was given a place.",
            "messages": {"placed.v1": {"$ref": "#/components/messages/placed.v1"}},
        }
    },
    "operations": {
        "placement-writes-placed": {
            "action": "send",
            "channel": {"$ref": "#/channels/placed"},
            "x-single-writer": "placement",
        }
    },
    "components": {
        "messages": {
            "placed.v1": {
                "name": "placed.v1",
                "traits": [{"$ref": "#/components/messageTraits/traced"}],
                "bindings": {"kafka": {"key": {"type": "string", "description": "group_id"}}},
                "payload": {
                    "type": "object",
                    "properties": {
                        "event_id": {"type": "string"},
                        "data": {"$ref": "#/components/schemas/Placed"},
                    },
                },
            }
        },
        "messageTraits": {
            "traced": {"headers": {"type": "object", "properties": {"traceparent": {}}}}
        },
        "schemas": {
            "Placed": {
                "title": "Placed",
                "required": ["group_id"],
                "properties": {
                    "group_id": {"type": "string"},
                    "members": {"type": "array", "items": {"type": "string"}},
                    "given_names": {"type": "string", "x-sensitive": True},
                },
            }
        },
    },
}


def test_a_topic_shows_its_key_writer_headers_and_payload_fields() -> None:
    (placed,) = apidocs.topics(DOCUMENT)
    assert (placed.name, placed.key, placed.writer) == ("placed", "group_id", "placement")
    assert placed.headers == ["traceparent"]
    assert placed.payload_title == "Placed"
    assert [(f.name, f.type, f.required, f.sensitive) for f in placed.fields] == [
        ("group_id", "string", True, False),
        ("members", "array of string", False, False),
        ("given_names", "string", False, True),
    ]


@pytest.mark.skipif(not ASYNCAPI.exists(), reason="docs/asyncapi.yaml is not generated here")
def test_the_projects_asyncapi_document_renders_every_topic_with_its_writer() -> None:
    topics = {t.name: t for t in apidocs.topics(apidocs.parse(ASYNCAPI.read_text()))}
    assert set(TOPICS) <= set(topics)
    for name, spec in TOPICS.items():
        assert topics[name].writer == spec.writer, name


def test_a_broken_asyncapi_file_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a mapping"):
        apidocs.parse("- just\n- a list\n")


VIEW = {
    "location": "NLD",
    "security_level": "suspended",
    "daily_cap": 0,
    "placed_today": 0,
    "free_beds": 40,
    "queue_length": 0,
    "oldest_waiting_age_seconds": None,
    "waiting": [],
    "shelters": [],
}


def test_a_suspended_nuevo_laredo_says_groups_go_to_monterrey() -> None:
    user = User("ana", "inm", None, None, None)
    frame = Frame("es", user, "csrf", "/locations")
    fragment = live_fragment(frame, "NLD", VIEW, load_reference())
    assert "Desvío activo: los grupos van a <strong>MTY</strong>" in fragment
    assert 'class="badge suspended"' in fragment
    assert "Nadie espera." in fragment
    unreachable = live_fragment(frame, "NLD", None, load_reference())
    assert "no responde" in unreachable
