"""A flaskr-style Flask app with its own SQLite file: posts listed, created by a form, streamed."""

from __future__ import annotations

import os
import sqlite3
import time

from flask import Flask, Response, g, redirect, request, stream_with_context


def create_app() -> Flask:
    """The app factory, as the Flask tutorial writes it."""
    app = Flask(__name__)
    app.config["DATABASE"] = os.environ.get("FLASKR_DATABASE", "flaskr.sqlite")

    def get_db() -> sqlite3.Connection:
        if "db" not in g:
            g.db = sqlite3.connect(app.config["DATABASE"])
            g.db.execute("CREATE TABLE IF NOT EXISTS post (id INTEGER PRIMARY KEY, title TEXT NOT NULL)")
        return g.db

    @app.teardown_appcontext
    def close_db(_exc: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.get("/")
    def index() -> dict[str, object]:
        rows = get_db().execute("SELECT title FROM post ORDER BY id").fetchall()
        return {"posts": [row[0] for row in rows], "multiprocess": request.environ["wsgi.multiprocess"]}

    @app.post("/create")
    def create() -> Response:
        db = get_db()
        db.execute("INSERT INTO post (title) VALUES (?)", [request.form["title"]])
        db.commit()
        return redirect("/")

    @app.post("/echo-length")
    def echo_length() -> dict[str, int]:
        return {"length": len(request.get_data())}

    @app.get("/stream")
    def stream() -> Response:
        def chunks():
            for index in range(int(request.args.get("n", "5"))):
                yield f"chunk {index}\n"
                time.sleep(float(request.args.get("pause", "0")))

        return Response(stream_with_context(chunks()), mimetype="text/plain")

    @app.get("/fail")
    def fail() -> Response:
        raise RuntimeError("flaskr failed on purpose")

    return app
