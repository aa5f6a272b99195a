"""The partners' stand-in behaves as a real webhook endpoint would when a sender dies
mid-request: a body cut short is neither taken nor answered, so a test never counts it
as delivered (a SIGKILL between a request's headers and its body is what leaves one)."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from tests.integration.test_notify_support import INCOMPLETE, running_partners


def test_a_request_whose_sender_dies_mid_body_is_not_delivered() -> None:
    with running_partners() as partners:
        url = urlsplit(partners.url("/juridica"))
        body = b'{"event_id": "cut short"}'
        with socket.create_connection((url.hostname or "", url.port or 0)) as sender:
            head = f"POST /juridica HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
            sender.sendall(head.encode() + body[:7])
        deadline = time.monotonic() + 10
        while not partners.tried("/juridica") and time.monotonic() < deadline:
            time.sleep(0.02)

        assert [(a.status, a.body) for a in partners.tried("/juridica")] == [(INCOMPLETE, body[:7])]
        assert partners.delivered("/juridica") == []
