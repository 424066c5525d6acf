"""The engine over HTTP: vLLM's OpenAI-compatible server (`vllm serve` or `qwen-asr-serve`) at --engine-url.

vLLM's own server does what an in-process `vllm.LLM` cannot: it takes a request while others decode
(continuous batching), orders them by `priority`, aborts one when its HTTP connection closes, and scales behind
one URL (`--data-parallel-size N`, or a router in front of replicas). This package sends each utterance step as
one chat completion and turns the answer back into a `StepOutput`.

- `request.py`: the chat completion body for one step (pure).
- `client.py`: the pooled httpx client: retries, timeouts, the engine's /metrics.
- `dispatcher.py`: the asyncio side: one request per step, cancel and re-send as final, shed partials.
"""

from __future__ import annotations

from asr_server.engine.dispatcher import EngineDispatcher

__all__ = ["EngineDispatcher"]
