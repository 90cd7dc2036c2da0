"""A FastAPI and a Flask app that build links to themselves, to be served behind a stripped prefix."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from flask import Flask, url_for
from flask import request as flask_request

api = FastAPI()


@api.get("/items/{item_id}", name="item")
async def item(item_id: int, request: Request) -> dict[str, Any]:
    return {
        "id": item_id,
        "link": str(request.url_for("item", item_id=item_id)),
        "root_path": request.scope["root_path"],
    }


web = Flask(__name__)


@web.get("/pages/<int:page_id>")
def page(page_id: int) -> dict[str, Any]:
    return {
        "link": url_for("page", page_id=page_id),
        "script_name": flask_request.environ["SCRIPT_NAME"],
        "path_info": flask_request.environ["PATH_INFO"],
    }
