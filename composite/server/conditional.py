"""Conditional GETs (RFC 9110 section 13): entity tags, and whether If-None-Match names the current one."""

from __future__ import annotations

import hashlib
import re

# Each entity-tag of a list, weak or strong: W/"..." or "...". Anything else in the
# header is skipped, so a malformed header can only cost a full answer, never a wrong 304.
_ENTITY_TAG = re.compile(r'(?:W/)?"([\x21\x23-\x7e\x80-\xff]*)"')
# Private: a copy may be kept by the client that asked, never by a shared cache (the answer
# depends on who asks); no-cache: the client revalidates every time, which a 304 makes cheap.
PRIVATE_REVALIDATE = "private, no-cache"
# Public: the same for everyone who asks without credentials (composite/server/responsecache.py
# keeps such answers); no-cache as above.
SHARED_REVALIDATE = "public, no-cache"


def weak_etag(*parts: object) -> str:
    """A weak entity tag for an answer made of ``parts``: equal parts, equal tag; the parts stay hidden."""
    # Weak: the answer is the same data, not necessarily the same bytes (nginx's gzip
    # changes them, and turns strong tags into weak ones itself).
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
    return f'W/"{digest}"'


def none_match(if_none_match: str | None, etag: str) -> bool:
    """True when If-None-Match is "*" or lists ``etag``, by weak comparison: the client's copy is current."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")[1:-1]
    return any(found == opaque for found in _ENTITY_TAG.findall(if_none_match))
