"""The import's progress, asked for while the real process imports: items stored of the total, per user."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.support import corpus
from tests.support.process import ServerProcess
from tests.support.web import Browser, csrf_from

KEY = "0123456789abcdef0123456789abcdef"


def test_progress_moves_from_reading_to_storing_to_done_and_is_the_owners_alone(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        with Browser(server) as person, Browser(server) as other:
            person.register("uploader")
            other.register("snooper")
            form = {"csrf_token": csrf_from(person.client.get("/account").text), "progress": KEY}
            data = corpus.csv_bytes(corpus.prompts(3000, seed=5), style="act")
            answers = []

            def upload() -> None:
                files = {"file": ("prompts.csv", data, "text/csv")}
                answers.append(person.client.post("/account/import", data=form, files=files, timeout=300))

            sender = threading.Thread(target=upload)
            sender.start()
            seen = []
            while sender.is_alive():
                answer = person.client.get(f"/account/import/progress/{KEY}")
                if answer.status_code == 200:
                    seen.append(answer.json())
                    assert answer.headers["cache-control"] == "no-store"
                # Another user's question about the same key learns nothing.
                assert other.client.get(f"/account/import/progress/{KEY}").status_code == 404
                time.sleep(0.05)
            sender.join()
            assert answers[0].status_code == 200
            assert "Imported: 3000 new" in answers[0].text
            final = person.client.get(f"/account/import/progress/{KEY}").json()
            assert final == {"stage": "done", "done": 3000, "total": 3000}
            storing = [p for p in seen if p["stage"] == "storing"]
            assert storing, seen
            assert all(p["total"] == 3000 and 0 <= p["done"] <= 3000 for p in storing)
            assert [p["done"] for p in storing] == sorted(p["done"] for p in storing)  # it only moves on
            assert any(0 < p["done"] < 3000 for p in storing), seen
            assert person.client.get("/account/import/progress/unknown-key-1").status_code == 404
    finally:
        server.stop()
