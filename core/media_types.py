"""Content negotiation: which response media types a client's Accept header allows."""

from __future__ import annotations

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
EVENT_STREAM = "text/event-stream"


def qualities(accept: str) -> dict[str, float]:
    """Each media range of an Accept header and its quality (`q`, 1 when absent)."""
    ranked: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranked[media.lower()] = max(quality, ranked.get(media.lower(), 0.0))
    return ranked


def negotiate(accept: str | None) -> str | None:
    """The JSON media type of a complete GraphQL answer; None when neither fits."""
    if not accept:
        return JSON
    ranked = qualities(accept)
    graphql_q = ranked.get(GRAPHQL_RESPONSE_JSON, 0.0)
    json_q = max(ranked.get(JSON, 0.0), ranked.get("application/*", 0.0), ranked.get("*/*", 0.0))
    if graphql_q > 0 and graphql_q >= json_q:
        return GRAPHQL_RESPONSE_JSON
    if json_q > 0:
        return JSON
    return None


def accepts_event_stream(accept: str | None) -> bool:
    """Whether the client lists text/event-stream itself (not through */*)."""
    return qualities(accept or "").get(EVENT_STREAM, 0.0) > 0


def only_event_stream(accept: str | None) -> bool:
    """The client accepts text/event-stream and no JSON: every answer comes as events."""
    return accepts_event_stream(accept) and negotiate(accept) is None
