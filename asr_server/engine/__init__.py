"""The engines behind the sessions, and the seam they share.

- `base.py`: the `Engine` protocol and what crosses it (`DecodeRequest`, `StepOutput`, `EngineInfo`,
  `EngineStats`, `DecodeFailed`). Light on purpose: the pure cores (streaming, sessions) import it.
- The local engine is `asr_server.scheduler.InferenceWorker` (one inference thread over a `Backend`).
- The HTTP engine is vLLM's OpenAI-compatible server at --engine-url. vLLM's own server does what an in-process
  `vllm.LLM` cannot: it takes a request while others decode (continuous batching), orders them by `priority`,
  aborts one when its HTTP connection closes, and scales behind one URL (`--data-parallel-size N`, or a router
  in front of replicas). Each utterance step goes as one chat completion:
  - `request.py`: the chat completion body for one step (pure).
  - `client.py`: the pooled aiohttp client: retries, timeouts, the engine's /metrics.
  - `dispatcher.py`: `EngineDispatcher`, the asyncio side: one request per step, re-send as final, shed partials.
"""

from __future__ import annotations

from asr_server.engine.base import DecodeFailed, DecodeRequest, Engine, EngineInfo, EngineStats, StepOutput

__all__ = ["DecodeFailed", "DecodeRequest", "Engine", "EngineInfo", "EngineStats", "StepOutput"]
