"""Two ASGI apps that answer with their own name and the path they were given."""

from __future__ import annotations

import json
from typing import Any


def _named(name: str) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = json.dumps({"app": name, "path": scope["path"]}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


api = _named("api")
web = _named("web")
