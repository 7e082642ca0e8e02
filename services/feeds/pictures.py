"""A feed's `image_urls` cell: the vehicle's picture URLs (fetched later by the worker,
services/photos/feed_images.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_URLS_PER_VEHICLE = 20
MAX_URL_LENGTH = 2000


def image_urls(value: object) -> tuple[str, ...]:
    """The http(s) picture URLs a feed cell lists: a JSON list, or text separated by
    whitespace, commas, semicolons or `|`; duplicates dropped, order kept."""
    if isinstance(value, list):
        items = [str(item).strip() for item in value if isinstance(item, str)]
    elif isinstance(value, str):
        items = value.replace("|", " ").replace(";", " ").replace(",", " ").split()
    else:
        return ()
    kept: list[str] = []
    for item in items:
        parts = urlsplit(item)
        web = parts.scheme in {"http", "https"} and bool(parts.hostname)
        usable = web and len(item) <= MAX_URL_LENGTH
        if usable and item not in kept:
            kept.append(item)
    return tuple(kept[:MAX_URLS_PER_VEHICLE])
