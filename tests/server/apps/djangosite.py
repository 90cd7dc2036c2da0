"""A one-file Django project, configured as ``django-admin startproject`` leaves it in development.

``DEBUG = True`` keeps Django's own console handler on its loggers: under a server that
added a second one, each of its lines ("Not Found: /missing") was written twice.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import django
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.urls import path

DOWNLOAD_SIZE = 3 * 1024 * 1024 + 17
# A file to send: what FileResponse hands to the server's wsgi.file_wrapper.
DOWNLOAD = Path(tempfile.gettempdir()) / f"django-download-{DOWNLOAD_SIZE}.bin"


def download_bytes() -> bytes:
    """What the download holds."""
    return bytes(range(256)) * (DOWNLOAD_SIZE // 256) + b"x" * (DOWNLOAD_SIZE % 256)


def index(request: HttpRequest) -> HttpResponse:
    """The environ entries the server set."""
    keys = ("SERVER_SOFTWARE", "wsgi.input_terminated")
    wrapper = request.META.get("wsgi.file_wrapper")
    return JsonResponse({key: request.META.get(key) for key in keys} | {"file_wrapper": repr(wrapper)})


def download(_request: HttpRequest) -> FileResponse:
    """The file, as a static file view sends it."""
    return FileResponse(DOWNLOAD.open("rb"), content_type="application/octet-stream")


urlpatterns = [path("", index), path("download", download)]

settings.configure(
    DEBUG=True,
    SECRET_KEY="a test key, not a secret",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    INSTALLED_APPS=[],
    MIDDLEWARE=[],
)
django.setup()
if not DOWNLOAD.exists():
    # Renamed into place, so a second server starting meanwhile never sends half a file.
    partial = DOWNLOAD.with_suffix(f".{os.getpid()}")
    partial.write_bytes(download_bytes())
    partial.replace(DOWNLOAD)
application = get_wsgi_application()
