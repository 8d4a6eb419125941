"""Security headers on every response, and a Content-Security-Policy fitting each.

Every response says: do not sniff another content type (``nosniff``), send no referrer
to other sites, and never show this in a frame (``X-Frame-Options`` and CSP
``frame-ancestors``). JSON, images and scripts get ``default-src 'none'``: nothing they
contain may run or load anything. HTML pages get a policy that runs scripts and styles
from the shop's own origin and the page's own inline ones, by their SHA-256 hashes,
which are read from the page as it is sent; nothing from other origins and no inline
code injected into a page. A path may add sources to its page policy (the API docs'
ReDoc injects its styles at run time). Headers a response sets itself are kept.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
CSP = "Content-Security-Policy"
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
PAGE_DIRECTIVES: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Pages larger than this are sent with the page policy but without hashes: their
# inline code does not run. The shop's pages are a few kilobytes.
MAX_HASHED_PAGE_BYTES = 1024 * 1024

_INLINE = {
    "script-src": re.compile(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.S | re.I),
    "style-src": re.compile(rb"<style[^>]*>(.*?)</style\s*>", re.S | re.I),
}


def _hash_source(code: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(code).digest()).decode() + "'"


def inline_hashes(html: bytes, directive: str) -> list[str]:
    """The CSP hash sources of ``html``'s inline scripts (``script-src``) or styles
    (``style-src``), each once, in page order."""
    return list(dict.fromkeys(_hash_source(code) for code in _INLINE[directive].findall(html)))


def page_policy(html: bytes | None, extra: Mapping[str, str] | None = None) -> str:
    """The policy of an HTML page: the page directives plus ``extra`` sources, and the
    hashes of the page's inline scripts and styles (unless the directive allows every
    inline one: browsers ignore 'unsafe-inline' next to a hash)."""
    directives = dict(PAGE_DIRECTIVES)
    for name, sources in (extra or {}).items():
        directives[name] = f"{directives[name]} {sources}" if name in directives else sources
    if html is not None:
        for name in _INLINE:
            if "'unsafe-inline'" in directives[name]:
                continue
            hashes = inline_hashes(html, name)
            if hashes:
                directives[name] = " ".join([directives[name], *hashes])
    return "; ".join(f"{name} {sources}" for name, sources in directives.items())


_RAW_HEADERS = [(name.lower().encode(), value.encode()) for name, value in HEADERS.items()]
_RAW_CSP = CSP.lower().encode()


def add_security_headers(headers: MutableHeaders, policy: str = API_POLICY) -> None:
    """Sets each header the response has not set itself."""
    raw = headers.raw
    present = {name for name, _value in raw}
    raw.extend(header for header in _RAW_HEADERS if header[0] not in present)
    if _RAW_CSP not in present:
        raw.append((_RAW_CSP, policy.encode()))


class SecurityHeadersMiddleware:
    """Adds the headers to every HTTP response (see the module)."""

    def __init__(
        self, app: ASGIApp, *, page_sources: Mapping[str, Mapping[str, str]] | None = None
    ) -> None:
        self.app = app
        self.page_sources = dict(page_sources or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.page_sources.get(scope["path"])
        held: Message | None = None  # the start of an HTML page, sent with its body
        body = bytearray()

        async def send_with_headers(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                is_page = headers.get("content-type", "").startswith("text/html")
                if not is_page or _RAW_CSP in {name for name, _value in headers.raw}:
                    add_security_headers(headers)
                elif "content-encoding" in headers:
                    add_security_headers(headers, page_policy(None, extra))
                else:
                    held = message
                    return
                await send(message)
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            more = message.get("more_body", False)
            if more and len(body) <= MAX_HASHED_PAGE_BYTES:
                return
            start, held = held, None
            page = bytes(body) if not more else None
            add_security_headers(MutableHeaders(scope=start), page_policy(page, extra))
            await send(start)
            await send({"type": "http.response.body", "body": bytes(body), "more_body": more})

        await self.app(scope, receive, send_with_headers)
