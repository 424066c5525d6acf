"""What the transformers backend needs to run qwen_asr's model code correctly on transformers 5 as on 4.57.

qwen-asr 0.0.6 (the official package) pins transformers 4.57 and does not even import on 5.x. A qwen_asr module
ported to 5.x (qwen-asr-dgxspark 0.1.1) imports and loads, but on 5.17 three things differ, each found with a
Qwen3-ASR checkpoint whose config.json follows the official layout:

- the text config has no `pad_token_id` unless config.json names one (4.57 gave every config one, None), and
  the text model reads it at construction: AttributeError before any weight is loaded;
- the output projection is not tied to the token embeddings although the text config says so: the checkpoint
  stores only `embed_tokens`, so `lm_head` stays randomly initialised and every transcript is garbage;
- the audio encoder's sinusoidal position table (a buffer computed in the constructor, not stored in the
  checkpoint) holds whatever memory the loader left there, different on every start;
- the processor returns the audio mask as `input_features_mask`, which `generate` refuses as an unused argument.

With all four handled, the tiny test checkpoint's every weight and buffer and its transcripts match 4.57's.

On 4.57 each helper here changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

log = logging.getLogger(__name__)


def transformers_major() -> int:
    """The installed transformers' major version (4, 5, ...)."""
    import transformers

    return int(transformers.__version__.split(".", 1)[0])


def incompatible_hint(error: BaseException) -> str | None:
    """Why qwen_asr failed to import or load, when the installed transformers is the cause; else None."""
    import transformers

    # What version skew raises (a changed decorator, a config attribute gone); anything else is not ours to blame
    if transformers_major() < 5 or not isinstance(error, TypeError | AttributeError):
        return None
    return (f"qwen_asr's model code does not run on transformers {transformers.__version__} "
            f"({type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}); the transformers "
            "backend needs transformers 4.57: pip install 'transformers==4.57.6' in the server's venv (the "
            "server-cpu extra pins it). --backend vllm runs on transformers 5")


def load_kwargs(model: str) -> dict[str, Any]:
    """Extra arguments for `from_pretrained` on transformers 5: the checkpoint's config with the `pad_token_id`
    the text model reads (None, as 4.57 defaulted it) when config.json leaves it out. None on 4.57."""
    if transformers_major() < 5:
        return {}
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model)  # qwen_asr, imported before, registered its config classes
    text = config.thinker_config.text_config
    if not hasattr(text, "pad_token_id"):
        text.pad_token_id = None
    return {"config": config}


def tie_output_embeddings(model: Any) -> bool:
    """Share the thinker's token embeddings with its output projection when the text config asks for it and the
    loader did not; True when it had to."""
    thinker = model.thinker
    text = model.config.thinker_config.text_config
    head, embeddings = thinker.lm_head, thinker.model.embed_tokens
    if not getattr(text, "tie_word_embeddings", False) or head.weight is embeddings.weight:
        return False
    head.weight = embeddings.weight
    log.info("tied the output projection to the token embeddings (the checkpoint stores them once)")
    return True


def sinusoids(length: int, channels: int, max_timescale: float = 10000.0) -> Any:
    """The audio encoder's position table, as qwen_asr's SinusoidsPositionEmbedding computes it (float32)."""
    import math

    import torch

    increment = math.log(max_timescale) / (channels // 2 - 1)
    inv_timescales = torch.exp(-increment * torch.arange(channels // 2).float())
    scaled_time = torch.arange(length)[:, None] * inv_timescales[None, :]
    return torch.cat([torch.sin(scaled_time), torch.cos(scaled_time)], dim=1)


def restore_position_tables(model: Any) -> int:
    """Recompute every sinusoidal position table the loader left uninitialised; how many it had to."""
    import torch

    restored = 0
    for module in model.modules():
        table = getattr(module, "positional_embedding", None)
        if type(module).__name__ != "SinusoidsPositionEmbedding" or not isinstance(table, torch.Tensor):
            continue
        fresh = sinusoids(*table.shape).to(device=table.device, dtype=table.dtype)
        if not torch.equal(fresh, table):
            with torch.no_grad():
                table.copy_(fresh)
            restored += 1
    if restored:
        log.info("recomputed %d audio position table(s) the loader left uninitialised", restored)
    return restored


def model_inputs(inputs: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The processor's output under the names the model's generate takes (the audio mask's 4.57 name)."""
    if "input_features_mask" in inputs and "feature_attention_mask" not in inputs:
        inputs["feature_attention_mask"] = inputs.pop("input_features_mask")
    return inputs
