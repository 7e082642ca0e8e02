"""Content negotiation and event framing: which answers a client's Accept header allows,
and how a complete answer is written as Server-Sent Events."""

from __future__ import annotations

import json

import pytest
from starlette.responses import Response

from core.event_streams import as_event_stream, event
from core.graphql_sse import kept_alive_transport
from core.media_types import (
    GRAPHQL_RESPONSE_JSON,
    JSON,
    accepts_event_stream,
    negotiate,
    only_event_stream,
)


@pytest.mark.parametrize(
    ("accept", "media_type", "events", "events_only"),
    [
        (None, JSON, False, False),
        ("*/*", JSON, False, False),
        ("text/event-stream", None, True, True),
        ("text/event-stream;q=0", None, False, False),
        ("TEXT/Event-Stream; charset=utf-8", None, True, True),
        ("application/json, text/event-stream", JSON, True, False),
        (
            "application/graphql-response+json, application/json;q=0.9, text/event-stream",
            GRAPHQL_RESPONSE_JSON,
            True,
            False,
        ),
        ("text/html", None, False, False),
    ],
)
def test_accept_headers(
    accept: str | None, media_type: str | None, events: bool, events_only: bool
) -> None:
    assert negotiate(accept) == media_type
    assert accepts_event_stream(accept) is events
    assert only_event_stream(accept) is events_only


def test_an_event_has_a_data_line_per_line_and_always_one() -> None:
    assert event("next", b'{"a":\n1}') == b'event: next\ndata: {"a":\ndata: 1}\n\n'
    assert event("complete") == b"event: complete\ndata: \n\n"


def test_a_complete_answer_is_framed_as_next_then_complete_keeping_what_still_applies() -> None:
    answer = Response(
        b'{"errors":[]}',
        status_code=429,
        media_type=JSON,
        headers={"retry-after": "3", "vary": "Accept"},
    )
    framed = as_event_stream(answer)
    assert framed.status_code == 200
    assert framed.body == b'event: next\ndata: {"errors":[]}\n\nevent: complete\ndata: \n\n'
    assert framed.headers["content-type"].startswith("text/event-stream")
    assert framed.headers["retry-after"] == "3"
    assert "vary" not in framed.headers
    assert framed.headers["cache-control"] == "no-cache, no-transform"


def test_streamed_events_and_keep_alives_end_their_lines_with_lf_alone() -> None:
    # urql's SSE reader splits events at "\n\n" only: CRLF framing would never split.
    transport = kept_alive_transport(15.0)()
    assert transport.encode_next({"data": {"a": 1}}, json.dumps) == (
        'event: next\ndata: {"data": {"a": 1}}\n\n'
    )
    assert transport.encode_complete() == "event: complete\ndata: \n\n"
    assert transport.heartbeat_message(json.dumps) == ": ping\n\n"
    assert transport.heartbeat_interval == 15.0
