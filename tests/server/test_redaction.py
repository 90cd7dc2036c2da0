"""Credential-looking query parameters are redacted for the access log."""

from __future__ import annotations

import pytest

from composite.server.redaction import redact_query


@pytest.mark.parametrize(
    ("query", "logged"),
    [
        (b"", b""),
        (b"q=python&page=2", b"q=python&page=2"),
        (b"token=abc&q=x", b"token=[redacted]&q=x"),
        (
            b"access_token=a&api_key=b&apikey=c&key=d",
            b"access_token=[redacted]&api_key=[redacted]&apikey=[redacted]&key=[redacted]",
        ),
        (
            b"Password=a&client_secret=b&auth=c&session=d&sig=e&X-Signature=f",
            b"Password=[redacted]&client_secret=[redacted]&auth=[redacted]&session=[redacted]&sig=[redacted]&X-Signature=[redacted]",
        ),
        (b"%74oken=a&to%6Ben=b", b"%74oken=[redacted]&to%6Ben=[redacted]"),
        (b"monkey=1&keyword=2&sessions_seen=3", b"monkey=1&keyword=2&sessions_seen=[redacted]"),
        (b"token&flag", b"token&flag"),  # no value, nothing to hide
    ],
)
def test_credential_parameters_are_redacted_and_others_kept(query: bytes, logged: bytes) -> None:
    assert redact_query(query) == logged
