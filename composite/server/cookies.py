"""A request's cookies, read one way by the server and by the applications it runs.

The response cache decides whether a request carries credentials from its cookies; the
application decides who is logged in from the same cookies. If the two read a Cookie
header differently, a request the application logs in can be filed as anonymous (Werkzeug
reads ``session =<value>`` as the cookie ``session``; a test for the prefix ``session=``
does not). So there is one reading, here: the header lines joined by ``cookie_header``, as
the WSGI adapter also hands them to an application, and parsed by ``parse_cookies``, which
is Werkzeug's parser, the one Flask uses; the site's website reads its cookies through it.
"""

from __future__ import annotations

from collections.abc import Iterable

from werkzeug.datastructures import MultiDict
from werkzeug.sansio.http import parse_cookie

from composite.server.asgi import Header


def cookie_header(headers: Iterable[Header]) -> str | None:
    """The request's Cookie lines as one WSGI-style string (latin-1), or None without any."""
    # "; " is how several Cookie lines become one (RFC 9113 section 8.2.3); a2wsgi joins
    # repeated headers with "," instead, which would glue two cookies into one value.
    lines = [value.decode("latin-1") for name, value in headers if name == b"cookie"]
    return "; ".join(lines) if lines else None


def parse_cookies(header: str | None) -> MultiDict[str, str]:
    """The cookies of a Cookie header in WSGI form, every value of each name in order."""
    # The parser Werkzeug's Request.cookies runs, on the string it would run it on: the
    # werkzeug.http wrapper first decodes the header as UTF-8, strictly, which Flask does not.
    return parse_cookie(header)


def request_cookies(headers: Iterable[Header]) -> MultiDict[str, str]:
    """The cookies of an ASGI request, as an application behind the WSGI adapter reads them."""
    return parse_cookies(cookie_header(headers))
