"""Credentials out of the access log: query parameters that carry them, by name."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

# Query parameters whose values are credentials, by name: never written to the access log.
CREDENTIAL_PARAMETER = re.compile(
    rb"(?:^|[_.-])(?:access[_-]?token|api[_-]?key|apikey|token|key|password|passwd|pwd|secret|"
    rb"auth|authorization|session|sessionid|sid|sig|signature|credentials?)s?(?:$|[_.-])",
    re.IGNORECASE,
)

REDACTED = b"[redacted]"


def redact_query(query: bytes) -> bytes:
    """The query string with the value of every credential-looking parameter replaced."""
    if not query:
        return query
    parts = query.split(b"&")
    for i, part in enumerate(parts):
        name, eq, _ = part.partition(b"=")
        if eq and CREDENTIAL_PARAMETER.search(unquote_to_bytes(name.replace(b"+", b" "))):
            parts[i] = name + b"=" + REDACTED
    return b"&".join(parts)
