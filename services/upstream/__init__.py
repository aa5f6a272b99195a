"""Helpers for upstream systems that submit returns: over Kafka or over HTTP.

>>> with KafkaSubmitter.from_env() as submit:
...     submit(record)            # a dict or the JSON bytes of one submission

>>> with HttpSubmitter("http://127.0.0.1:8080", token) as submit:
...     event_id = submit(record)  # 202: the person-returned event_id
"""

from services.upstream.submit import (
    HttpSubmitter,
    KafkaSubmitter,
    SubmissionRejected,
    SubmitSummary,
    submit_lines,
)

__all__ = ["HttpSubmitter", "KafkaSubmitter", "SubmissionRejected", "SubmitSummary", "submit_lines"]
