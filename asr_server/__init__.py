"""Qwen Dictation ASR server: streaming Qwen3-ASR over WebSocket, many sessions batched on one model.

Importing this package loads no model and imports neither torch, vLLM nor qwen_asr: backends import them
lazily on the inference thread. Start it with `python -m asr_server --help`.
"""

from __future__ import annotations

from asr_server.config import ServerConfig, load_config
from asr_server.errors import AsrServerError, ConfigError
from asr_server.server import AsrServer

__all__ = ["AsrServer", "AsrServerError", "ConfigError", "ServerConfig", "load_config"]
