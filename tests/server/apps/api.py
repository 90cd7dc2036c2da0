"""A FastAPI app using what real APIs use: lifespan state, websockets, SSE, streaming, uploads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import BackgroundTasks, FastAPI, Request, UploadFile, WebSocket
from fastapi.responses import StreamingResponse

DONE: list[str] = []


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    yield {"who": "api", "started": True}


app = FastAPI(lifespan=lifespan)


@app.get("/who")
async def who(request: Request) -> dict[str, Any]:
    return {"who": request.state.who}


@app.websocket("/ws")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(f"echo: {text}")


@app.get("/events")
async def events() -> StreamingResponse:
    async def stream() -> AsyncIterator[str]:
        for index in range(3):
            yield f"data: event {index}\n\n"
            await asyncio.sleep(0.01)

    return StreamingResponse(stream(), media_type="text/event-stream")


@app.get("/download")
def download() -> StreamingResponse:
    return StreamingResponse((b"x" * 65536 for _ in range(32)), media_type="application/octet-stream")


@app.post("/upload")
async def upload(file: UploadFile) -> dict[str, Any]:
    data = await file.read()
    return {"name": file.filename, "size": len(data)}


@app.post("/later")
def later(tasks: BackgroundTasks, marker: str) -> dict[str, bool]:
    tasks.add_task(lambda: Path(marker).write_text("done"))
    return {"queued": True}


@app.get("/shared")
def shared() -> dict[str, int]:
    from composite.db import shared_database

    row = shared_database().fetchone("SELECT count(*) FROM notes")
    return {"notes": row[0] if row else -1}


@app.post("/shared")
def add_note(text: str) -> dict[str, bool]:
    from composite.db import shared_database

    def insert(cur: Any) -> None:
        cur.execute("CREATE TABLE IF NOT EXISTS notes (text VARCHAR)")
        cur.execute("INSERT INTO notes VALUES (?)", [text])

    shared_database().write(insert)
    return {"stored": True}
