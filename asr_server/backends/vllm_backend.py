"""vLLM engine: the offline `vllm.LLM`, created the way `Qwen3ASRModel.LLM` creates it, on the GPU.

Importing `qwen_asr` registers its Qwen3-ASR model class with vLLM's ModelRegistry. The `LLM` is created and
called only on the inference thread; vLLM >= 0.10.2 no longer needs its main thread for that (vLLM PR #23298).
The server still builds it from `main()` under the `__main__` guard, because vLLM spawns worker processes that
re-import the main module.
"""

from __future__ import annotations

import logging
from typing import Any

from asr_server.backends.base import DecodeItem
from asr_server.backends.qwen_common import QwenBackend, explain_load_error, import_qwen_asr
from asr_server.config import ServerConfig
from asr_server.errors import BackendUnavailable, GpuMemoryError

log = logging.getLogger(__name__)

_MEMORY_WORDS = ("out of memory", "no available memory", "kv cache", "cache blocks", "insufficient memory")


class VllmBackend(QwenBackend):
    """Batched generate on vLLM: every item is `{"prompt": str, "multi_modal_data": {"audio": [array]}}`."""

    name = "vllm"

    @classmethod
    def load(cls, config: ServerConfig) -> VllmBackend:
        """Create the vLLM engine with the memory limits from the config; explain any failure in one line."""
        qwen_asr = import_qwen_asr("server")
        try:
            import vllm  # noqa: F401 - only to give a precise error before the model loads
        except ImportError as error:
            raise BackendUnavailable(
                "vLLM is not installed: install the GPU server with pip install -e '.[server]' "
                "(scripts/start_server.sh does it), or use --backend transformers") from error
        log.info("loading %s with vLLM (gpu_memory_utilization=%.2f, max_model_len=%d, max_num_seqs=%d)",
                 config.model, config.gpu_memory_utilization, config.max_model_len, config.max_sessions)
        try:
            asr = qwen_asr.Qwen3ASRModel.LLM(
                model=config.model,
                gpu_memory_utilization=config.gpu_memory_utilization,
                max_model_len=config.max_model_len,
                max_num_seqs=config.max_sessions,
                max_new_tokens=config.max_new_tokens,
            )
        except Exception as error:
            if any(word in str(error).lower() for word in _MEMORY_WORDS):
                raise GpuMemoryError(
                    f"the model and its KV cache do not fit in GPU memory ({str(error).splitlines()[0][:200]}): "
                    f"raise --gpu-memory-utilization (now {config.gpu_memory_utilization}) if the GPU has room, "
                    f"or lower --max-model-len (now {config.max_model_len}) or --max-sessions "
                    f"(now {config.max_sessions}), or close other programs that use the GPU") from error
            raise explain_load_error(config.model, error) from error
        return cls(asr, config.model)

    def generate(self, items: list[DecodeItem]) -> list[str]:
        """One `LLM.generate` call for the whole batch, greedy, with the model's sampling params."""
        inputs: list[dict[str, Any]] = [
            {"prompt": item.prompt, "multi_modal_data": {"audio": [item.audio]}} for item in items]
        outputs = self._asr.model.generate(inputs, sampling_params=self._asr.sampling_params, use_tqdm=False)
        return [output.outputs[0].text for output in outputs]

    def close(self) -> None:
        """Drop the engine so its worker processes exit and the GPU memory is returned."""
        self._asr = None
