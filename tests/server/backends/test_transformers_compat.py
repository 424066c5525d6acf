"""The transformers backend loads qwen_asr's model right whatever the transformers version does at load.

On transformers 5.17 (with a qwen_asr ported to it) the loader leaves the output projection untied and the audio
encoder's position table uninitialised, and the processor renames the audio mask; on 4.57 (what CI runs) none of
that happens, so these tests do to a 4.57 load what 5.17 did and check the backend undoes it."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest
import torch

from asr_server.backends import transformers_compat
from asr_server.backends.qwen_common import import_qwen_asr
from asr_server.backends.transformers_backend import TransformersBackend
from asr_server.backends.transformers_compat import (
    incompatible_hint,
    model_inputs,
    restore_position_tables,
    sinusoids,
    tie_output_embeddings,
)
from asr_server.config import ServerConfig
from asr_server.errors import BackendUnavailable


def _position_tables(model: Any) -> list[torch.Tensor]:
    return [m.positional_embedding for m in model.modules() if type(m).__name__ == "SinusoidsPositionEmbedding"]


def _as_transformers_5_leaves_it(model: Any) -> None:
    """What loading on transformers 5.17 left behind: lm_head a separate random matrix, the table garbage."""
    thinker = model.thinker
    thinker.lm_head.weight = torch.nn.Parameter(torch.randn_like(thinker.model.embed_tokens.weight))
    for table in _position_tables(model):
        table.copy_(torch.randn_like(table))


def test_backend_load_repairs_what_the_loader_left(tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import qwen_asr

    real = qwen_asr.Qwen3ASRModel.from_pretrained

    def loading_like_transformers_5(*args: Any, **kwargs: Any) -> Any:
        asr = real(*args, **kwargs)
        _as_transformers_5_leaves_it(asr.model)
        return asr

    monkeypatch.setattr(qwen_asr.Qwen3ASRModel, "from_pretrained", loading_like_transformers_5)
    backend = TransformersBackend.load(ServerConfig(model=str(tiny_checkpoint), backend="transformers", device="cpu",
                                                    max_new_tokens=4))
    model = backend._asr.model
    assert model.thinker.lm_head.weight is model.thinker.model.embed_tokens.weight
    (table,) = _position_tables(model)
    assert torch.equal(table, sinusoids(*table.shape).to(table.dtype))
    # and a second pass finds nothing left to do (on 4.57 as loaded, the helpers change nothing)
    assert tie_output_embeddings(model) is False
    assert restore_position_tables(model) == 0


def test_the_audio_mask_gets_the_name_generate_takes() -> None:
    mask = torch.ones(1, 200)
    renamed = model_inputs({"input_ids": torch.ones(1, 4), "input_features_mask": mask})
    assert renamed["feature_attention_mask"] is mask and "input_features_mask" not in renamed
    as_on_457 = {"feature_attention_mask": mask}
    assert model_inputs(dict(as_on_457)) == as_on_457


def test_transformers_5_skew_is_explained_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers

    monkeypatch.setattr(transformers, "__version__", "5.17.0")
    hint = incompatible_hint(TypeError("check_model_inputs() missing 1 required positional argument: 'func'"))
    assert hint is not None
    assert "transformers 5.17.0" in hint and "pip install 'transformers==4.57.6'" in hint
    assert "--backend vllm runs on transformers 5" in hint
    assert incompatible_hint(ValueError("a broken checkpoint")) is None, "only version skew is blamed on it"
    monkeypatch.setattr(transformers, "__version__", "4.57.6")
    assert incompatible_hint(TypeError("x")) is None


def test_qwen_asr_that_does_not_import_on_transformers_5_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers

    monkeypatch.setattr(transformers, "__version__", "5.17.0")
    real_import = builtins.__import__

    def importing(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "qwen_asr":  # what qwen-asr 0.0.6 raises at import on 5.17
            raise TypeError("check_model_inputs() missing 1 required positional argument: 'func'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", importing)
    with pytest.raises(BackendUnavailable, match=r"needs transformers 4\.57: pip install 'transformers==4\.57\.6'"):
        import_qwen_asr("server-cpu")


def test_load_kwargs_leave_transformers_4_alone(tiny_checkpoint: Path) -> None:
    assert transformers_compat.transformers_major() == 4
    assert transformers_compat.load_kwargs(str(tiny_checkpoint)) == {}
