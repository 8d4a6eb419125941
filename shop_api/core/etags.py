"""Conditional GET: whether a request's ``If-None-Match`` names a response's ETag."""

from __future__ import annotations


def etag_matches(header: str | None, etags: tuple[str, ...]) -> bool:
    """True when ``If-None-Match`` lists one of ``etags`` (weak or strong form) or ``*``:
    the client's copy is current and a 304 answers."""
    if not header:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in candidates or any(tag in candidates for tag in etags)
