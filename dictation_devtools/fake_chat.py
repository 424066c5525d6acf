"""A fake OpenAI-compatible chat endpoint on loopback, for the clean-up's tests and scripts/bench_text.py: it
stands in for the user's local LLM (vLLM, Ollama, llama.cpp).

Modes: "clean" removes fillers and capitalises the first letter (what a good model does), "slow" answers after
`delay_s`, "runaway" appends a long ramble, "broken" answers HTTP 500, "not_json" answers text, "answer" answers
`answer` whatever was asked (the voice edit's rewrite). Every request body is recorded in `requests`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_FILLERS = re.compile(r"\b(?:um|uh|er)\b,?\s*|[嗯呃]，?|那个，?", re.IGNORECASE)


def clean_like_a_model(text: str) -> str:
    cleaned = _FILLERS.sub("", text).strip()
    return cleaned[:1].upper() + cleaned[1:]


class FakeChat:
    """Runs the endpoint on a free port in a thread; use as a context manager."""

    def __init__(self, mode: str = "clean", delay_s: float = 0.0, answer: str = "") -> None:
        self.mode = mode
        self.answer = answer
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, **body})
                fake.reply(self, body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False  # a slow reply still sleeping must not hold up the test
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def reply(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        text = body["messages"][-1]["content"]
        if self.mode == "broken":
            handler.send_error(500, "model crashed")
            return
        if self.mode == "slow":
            time.sleep(self.delay_s)  # the fake model is slow; the client must not wait for it
        content = self.answer if self.mode == "answer" else clean_like_a_model(text)
        if self.mode == "runaway":
            content += " Sure! Here is the cleaned text, and also a poem about it." * 3
        payload = b"not json" if self.mode == "not_json" else json.dumps(
            {"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:
            pass  # the client gave up on a slow reply

    def __enter__(self) -> FakeChat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
