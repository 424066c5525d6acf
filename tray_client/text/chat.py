"""Posting to the user's OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp) with a hard deadline.

Shared by the clean-up of finals (text/cleanup.py) and the voice edit of a selection (voice_edit/): both send
one chat request and must get an answer, or a reason, within their own limit whatever the server does.
"""

from __future__ import annotations

import concurrent.futures
from typing import Any

__all__ = ["ChatEndpoint", "ChatTimeout", "chat_completions_url"]


class ChatTimeout(Exception):
    """The endpoint did not answer within the caller's limit."""


def chat_completions_url(url: str) -> str:
    """Accept the server's base URL (http://host:8000 or .../v1) or the full .../chat/completions URL."""
    url = url.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    return url + ("/chat/completions" if url.endswith("/v1") else "/v1/chat/completions")


class ChatEndpoint:
    """`complete(body)` returns the reply's JSON within `timeout_s` or raises (ChatTimeout, httpx errors).

    Blocking. The request runs on a small worker pool so the deadline is hard: httpx's own timeouts are per
    operation (connect, each read), so a server that trickles bytes could outlast them.
    """

    def __init__(self, url: str, timeout_s: float) -> None:
        import httpx

        self.url = chat_completions_url(url)
        self.timeout_s = timeout_s
        # httpx's own timeouts only end abandoned requests: a second past the hard deadline, so the caller's
        # deadline is always what the user gets, with one clear reason.
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s + 1.0), trust_env=False)
        # Abandoned requests finish on their own within httpx's timeouts; a few workers keep the next ones moving.
        self._pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="chat")

    def complete(self, body: dict[str, Any], timeout_s: float | None = None) -> Any:
        """The reply's JSON; raises ChatTimeout past `timeout_s` (default: the endpoint's), or the HTTP error."""
        limit = self.timeout_s if timeout_s is None else timeout_s
        future = self._pool.submit(self._post, body)
        try:
            return future.result(timeout=limit)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ChatTimeout(f"no reply within {limit:g} s") from None

    def _post(self, body: dict[str, Any]) -> Any:
        response = self._client.post(self.url, json=body)
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        """Drop pending requests and the connection pool."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()
