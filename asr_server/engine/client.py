"""The HTTP client of the engine: one pooled httpx.AsyncClient, timeouts, retries of failures that are safe.

A chat completion at temperature 0 changes nothing on the engine, so a request that failed in transport (the
engine restarting, a dropped connection, 502/503/504 from a router) is sent again, with backoff, for at most
`retry_seconds`; then the step fails and the session tells its client (`error` with code `engine`), which sends
the utterance again. A 4xx is the engine refusing the request itself (EngineRefused): never sent again, since
the same body gets the same answer. A read timeout is not retried: the engine is up but too slow, and waiting twice as long
helps nobody. An engine started without `--scheduling-policy priority` refuses any priority other than 0; the
client then stops sending the field (logged once) instead of failing every partial.

The engine's answer is not trusted either: at most `max_answer_bytes` of it are read (a 1 MB answer stalled the
whole server for seconds), its text is cut at `max_answer_chars` (the decode asked for at most --max-new-tokens),
and the whole request, retries included, ends within `timeout` seconds, below the client's 10 s final timeout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from asr_server.errors import EngineError, EngineRefused
from asr_server.log_limit import ThrottledLog

log = logging.getLogger(__name__)
_long_answer_log = ThrottledLog(log, logging.WARNING, interval=60.0)

_RETRY_STATUS = frozenset({502, 503, 504})
# 4xx answers that depend on the moment, not on the request: they are not a refusal of the request itself.
_TRANSIENT_4XX = frozenset({408, 409, 429})
_PRIORITY_REFUSED = "priority scheduling is not enabled"


@dataclass(frozen=True)
class EngineLoad:
    """The engine's own queue, from its /metrics (summed over data-parallel ranks)."""

    waiting: int
    running: int


class EngineClient:
    """Talks to one OpenAI-compatible base URL (`http://host:8000/v1`); create and use on one event loop."""

    def __init__(self, url: str, *, timeout: float, retry_seconds: float, api_key: str | None = None,
                 max_connections: int = 256, max_answer_bytes: int = 1 << 16, max_answer_chars: int = 2048) -> None:
        self.url = url.rstrip("/")
        self._root = self.url.removesuffix("/v1")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            headers=headers, timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=64),
            trust_env=False)  # a loopback engine must not go through the user's HTTP proxy
        self._retry_seconds = retry_seconds
        self._timeout = timeout
        self._max_answer_bytes = max_answer_bytes
        self._max_answer_chars = max_answer_chars
        self.send_priority = True

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._http.aclose()

    async def complete(self, body: dict[str, Any]) -> str:
        """`POST /chat/completions`; the generated text. Raises EngineError saying what failed."""
        try:
            async with asyncio.timeout(self._timeout):
                text = await self._complete(body)
        except TimeoutError as error:
            raise EngineError(f"the engine at {self.url} did not answer within {self._timeout:g} s "
                              "(--engine-timeout-seconds)") from error
        if len(text) > self._max_answer_chars:
            _long_answer_log.note("the engine answered %d characters, more than --max-new-tokens allows; cut "
                                  "at %d", len(text), self._max_answer_chars)
            text = text[: self._max_answer_chars]
        return text

    async def _complete(self, body: dict[str, Any]) -> str:
        if not self.send_priority:
            body = {key: value for key, value in body.items() if key != "priority"}
        deadline = time.monotonic() + self._retry_seconds
        delay = 0.05
        while True:
            try:
                status, answer = await self._post(f"{self.url}/chat/completions", body)
            except httpx.TimeoutException as error:
                if isinstance(error, httpx.ConnectTimeout) and time.monotonic() < deadline:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    continue
                raise EngineError(f"the engine at {self.url} did not answer in time ({type(error).__name__})") \
                    from error
            except httpx.TransportError as error:
                if time.monotonic() >= deadline:
                    raise EngineError(f"the engine at {self.url} is unreachable ({type(error).__name__}: "
                                      f"{error}); is vLLM running? (scripts/start_server.sh starts it)") from error
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            if status in _RETRY_STATUS and time.monotonic() < deadline:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            if status == 400 and "priority" in body and _PRIORITY_REFUSED in answer.lower():
                log.warning("the engine at %s runs without --scheduling-policy priority: finals cannot overtake "
                            "partials; restart vLLM with --scheduling-policy priority", self.url)
                self.send_priority = False
                body = {key: value for key, value in body.items() if key != "priority"}
                continue
            return _generated_text(status, answer)

    async def _post(self, url: str, body: dict[str, Any]) -> tuple[int, str]:
        """Status and body text, reading at most `max_answer_bytes` (EngineError past it)."""
        async with self._http.stream("POST", url, json=body) as response:
            parts: list[bytes] = []
            size = 0
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > self._max_answer_bytes:
                    raise EngineError(f"the engine at {self.url} answered over {self._max_answer_bytes} bytes "
                                      "(far more than --max-new-tokens allows); answer dropped")
                parts.append(chunk)
            return response.status_code, b"".join(parts).decode("utf-8", "replace")

    async def models(self) -> list[dict[str, Any]]:
        """`GET /models`: what the engine serves (`id` to put in requests, `root` = the checkpoint)."""
        response = await self._http.get(f"{self.url}/models")
        response.raise_for_status()
        data = response.json().get("data")
        if not isinstance(data, list) or not data:
            raise EngineError(f"the engine at {self.url} serves no model (GET /models: {response.text[:200]})")
        return data

    async def load(self) -> EngineLoad:
        """`GET /metrics` at the server root: requests waiting and running (raises httpx errors when down)."""
        response = await self._http.get(f"{self._root}/metrics")
        response.raise_for_status()
        return parse_load(response.text)


def parse_load(text: str) -> EngineLoad:
    """Sum `vllm:num_requests_waiting` and `vllm:num_requests_running` over their label sets."""
    from prometheus_client.parser import text_string_to_metric_families

    totals = {"vllm:num_requests_waiting": 0.0, "vllm:num_requests_running": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in totals:
                totals[sample.name] += sample.value
    return EngineLoad(int(totals["vllm:num_requests_waiting"]), int(totals["vllm:num_requests_running"]))


def _generated_text(status: int, answer: str) -> str:
    if status != 200:
        try:
            detail = json.loads(answer).get("error", {}).get("message") or answer
        except (ValueError, AttributeError, RecursionError):
            detail = answer
        message = f"the engine refused the request: HTTP {status}: {str(detail)[:300]}"
        if 400 <= status < 500 and status not in _TRANSIENT_4XX:
            raise EngineRefused(message)
        raise EngineError(message)
    try:
        content = json.loads(answer)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as error:
        raise EngineError(f"the engine's answer is not a chat completion: {answer[:200]}") from error
    if content is not None and not isinstance(content, str):
        raise EngineError(f"the engine's answer has no text content: {answer[:200]}")
    return content or ""
