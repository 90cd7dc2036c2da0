"""A FastAPI app handling uploads as real ones do: early answers, streamed to disk, read slowly."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/early")
async def early() -> dict[str, bool]:
    """Answer at once, without reading the body (as a redirect or a refusal would)."""
    return {"ok": True}


@app.post("/private")
async def private(request: Request) -> JSONResponse:
    """401 without reading the body unless the request carries the right token."""
    if request.headers.get("authorization") != "Bearer right":
        return JSONResponse({"detail": "sign in first"}, status_code=401)
    return await store(request)


@app.post("/store")
async def store(request: Request) -> JSONResponse:
    """Stream the body to a temporary file as it arrives; answer with its size and digest."""
    digest = hashlib.sha256()
    size = 0
    with tempfile.TemporaryFile() as spool:
        async for chunk in request.stream():
            spool.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    return JSONResponse({"size": size, "sha256": digest.hexdigest()})


@app.post("/slow")
async def slow(request: Request) -> dict[str, int]:
    """Read the body a chunk at a time with a pause after each, as a throttled consumer does."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        await asyncio.sleep(0.5)
    return {"size": size}


async def progress(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Start answering at once, then report the bytes received after each chunk (upload progress).

    A plain ASGI application mounted in FastAPI: Starlette's StreamingResponse would read
    the body itself while it streams, to watch for a disconnect.
    """
    headers = [(b"content-type", b"text/plain")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"started\n", "more_body": True})
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        size += len(message.get("body", b""))
        await send({"type": "http.response.body", "body": f"{size}\n".encode(), "more_body": True})
        if not message.get("more_body"):
            break
    await send({"type": "http.response.body", "body": b"done\n"})


app.mount("/progress", progress)


@app.get("/health")
async def health() -> dict[str, Any]:
    """Readiness for the tests."""
    return {"ok": True}
