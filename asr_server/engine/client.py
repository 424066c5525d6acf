"""The HTTP client of the engine: one pooled aiohttp session, timeouts, retries of failures that are safe.

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

Why aiohttp and not httpx: at 128 dictation sessions (a request per session a second, each with a ~100 KB WAV)
httpx took about a third of asr_server's one event loop, which itself was the busiest process of the GPU
deployment (scripts/gpu/cpu_sample.py; BENCHMARKS.md, 2026-12-07 second GPU run): httpcore asks which async
library runs on every request (an import lookup each time) and scans its whole pool per request. aiohttp does
the same work in a fraction of that, and vLLM itself depends on it, so the server install gains nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from asr_server.errors import EngineError, EngineRefused
from asr_server.log_limit import ThrottledLog

log = logging.getLogger(__name__)
_long_answer_log = ThrottledLog(log, logging.WARNING, interval=60.0)

_RETRY_STATUS = frozenset({502, 503, 504})
# 4xx answers that depend on the moment, not on the request: they are not a refusal of the request itself.
_TRANSIENT_4XX = frozenset({408, 409, 429})
_PRIORITY_REFUSED = "priority scheduling is not enabled"
_CONNECT_SECONDS = 3.0


class EngineUnreachable(EngineError):
    """The engine did not answer a status or model query (down, restarting, or not an engine at that URL)."""


@dataclass(frozen=True)
class EngineLoad:
    """The engine's own queue, from its /metrics (summed over data-parallel ranks)."""

    waiting: int
    running: int


class EngineClient:
    """Talks to one OpenAI-compatible base URL (`http://host:8000/v1`); create and use on one event loop."""

    def __init__(self, url: str, *, timeout: float, retry_seconds: float, api_key: str | None = None,
                 max_connections: int = 1024, max_answer_bytes: int = 1 << 16, max_answer_chars: int = 2048) -> None:
        self.url = url.rstrip("/")
        self._root = self.url.removesuffix("/v1")
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None  # made on the loop, at the first request
        self._retry_seconds = retry_seconds
        self._timeout = timeout
        self._max_answer_bytes = max_answer_bytes
        self._max_answer_chars = max_answer_chars
        self.send_priority = True

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            # trust_env=False (aiohttp's default): a loopback engine must not go through the user's HTTP proxy.
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                connector=aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0),
                timeout=aiohttp.ClientTimeout(total=self._timeout,
                                              sock_connect=min(self._timeout, _CONNECT_SECONDS)),
                trust_env=False)
        return self._session

    async def aclose(self) -> None:
        """Close every pooled connection."""
        if self._session is not None:
            await self._session.close()
            self._session = None

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
            except aiohttp.ServerTimeoutError as error:
                if isinstance(error, aiohttp.ConnectionTimeoutError) and time.monotonic() < deadline:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    continue
                raise EngineError(f"the engine at {self.url} did not answer in time ({type(error).__name__})") \
                    from error
            except aiohttp.ClientError as error:
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
        data = json.dumps(body, separators=(",", ":")).encode()
        async with self._http().post(url, data=data, headers={"Content-Type": "application/json"}) as response:
            parts: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_any():
                size += len(chunk)
                if size > self._max_answer_bytes:
                    raise EngineError(f"the engine at {self.url} answered over {self._max_answer_bytes} bytes "
                                      "(far more than --max-new-tokens allows); answer dropped")
                parts.append(chunk)
            return response.status, b"".join(parts).decode("utf-8", "replace")

    async def _get(self, url: str) -> str:
        """The text of a small status answer (EngineUnreachable when down or not 200)."""
        try:
            async with self._http().get(url, timeout=aiohttp.ClientTimeout(total=min(self._timeout, 10.0))) \
                    as response:
                # read() returns what has arrived so far, not the whole body: /metrics comes in several chunks
                body = bytearray()
                async for chunk in response.content.iter_any():
                    body += chunk
                    if len(body) > self._max_answer_bytes * 64:
                        raise EngineUnreachable(f"{url}: answered over {self._max_answer_bytes * 64} bytes")
                text = body.decode("utf-8", "replace")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise EngineUnreachable(f"{url}: {type(error).__name__}: {error}") from error
        if response.status != 200:
            raise EngineUnreachable(f"{url}: HTTP {response.status}: {text[:200]}")
        return text

    async def models(self) -> list[dict[str, Any]]:
        """`GET /models`: what the engine serves (`id` to put in requests, `root` = the checkpoint)."""
        text = await self._get(f"{self.url}/models")
        try:
            data = json.loads(text).get("data")
        except (ValueError, AttributeError, RecursionError) as error:
            raise EngineUnreachable(f"{self.url}/models is not a model list: {text[:200]}") from error
        if not isinstance(data, list) or not data:
            raise EngineError(f"the engine at {self.url} serves no model (GET /models: {text[:200]})")
        return data

    async def load(self) -> EngineLoad:
        """`GET /metrics` at the server root: requests waiting and running (EngineUnreachable when down)."""
        text = await self._get(f"{self._root}/metrics")
        try:
            return parse_load(text)
        except ValueError as error:
            raise EngineUnreachable(f"{self._root}/metrics is not Prometheus text: {error}") from error


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
