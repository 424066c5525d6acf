"""What both Qwen3-ASR engines share: prompts, token rollback and output parsing as the official qwen_asr code does.

The transformers backend wraps a `qwen_asr.Qwen3ASRModel` and uses its processor, so the prompt is byte-for-byte
the one the official streaming code builds. The vLLM engine path (`QwenText`) needs only the checkpoint's
tokenizer and the output parser (vendored in qwen_output.py), so it never imports qwen_asr.
"""

from __future__ import annotations

import logging
from typing import Any

from asr_server.backends.base import Backend
from asr_server.backends.hub_logging import quiet_hub_logging
from asr_server.errors import BackendUnavailable, ModelLoadError

log = logging.getLogger(__name__)


def import_qwen_asr(extra: str) -> Any:
    """Import qwen_asr or explain which extra installs it."""
    try:
        import qwen_asr
    except ImportError as error:
        raise BackendUnavailable(f"the qwen-asr package is not installed ({error}); install the server with "
                                 f"pip install -e '.[{extra}]' (or run scripts/start_server.sh)") from error
    except (TypeError, AttributeError) as error:  # qwen-asr 0.0.6 on transformers 5: a decorator it calls changed
        from asr_server.backends.transformers_compat import incompatible_hint

        hint = incompatible_hint(error)
        if hint is None:
            raise
        raise BackendUnavailable(hint) from error
    quiet_hub_logging()  # imported with qwen_asr: its messages once each, in our format
    return qwen_asr


def explain_load_error(model: str, error: BaseException) -> ModelLoadError:
    """Turn a loader's exception into one line that says what to check."""
    text = f"{type(error).__name__}: {error}".splitlines()[0][:300]
    if isinstance(error, OSError | ValueError | KeyError) and "/" in model and not model.startswith("/"):
        hint = ("check the Hugging Face id and your network, or download it first "
                f"(huggingface-cli download {model} --local-dir DIR) and pass --model DIR")
    else:
        hint = "check that --model points at a complete Qwen3-ASR checkpoint (config.json, tokenizer, safetensors)"
    return ModelLoadError(f"could not load the model {model}: {text}; {hint}")


class QwenText:
    """Token rollback and output parsing: Qwen3-ASR's tokenizer and qwen_asr's own parser, no model needed.

    Use from one thread only (Hugging Face tokenizers are not safe to share between threads).
    """

    def __init__(self, tokenizer: Any) -> None:
        from asr_server.backends.qwen_output import SUPPORTED_LANGUAGES, parse_asr_output

        self._tokenizer = tokenizer
        self._parse = parse_asr_output
        self.supported_languages = SUPPORTED_LANGUAGES

    @classmethod
    def load(cls, model: str) -> QwenText:
        """The tokenizer of the checkpoint at `model` (a directory or a Hugging Face id); no qwen_asr import."""
        from transformers import AutoTokenizer

        try:
            return cls(AutoTokenizer.from_pretrained(model))
        except Exception as error:
            raise explain_load_error(model, error) from error

    def rollback(self, raw: str, tokens: int) -> str:
        """The official rollback: drop the last K tokens, and more while the cut splits a character."""
        ids = self._tokenizer.encode(raw)
        k = tokens
        while True:
            end = max(0, len(ids) - k)
            if end == 0:
                return ""
            prefix = self._tokenizer.decode(ids[:end])
            if "\ufffd" not in prefix:
                return prefix
            k += 1

    def parse(self, raw: str, language: str | None) -> tuple[str, str]:
        """parse_asr_output: strips the `language X<asr_text>` header and repeated tails."""
        return self._parse(raw, user_language=language)


class QwenBackend(Backend):
    """Prompt, rollback and parse through a loaded `Qwen3ASRModel`; subclasses provide `generate`."""

    def __init__(self, asr: Any, model: str) -> None:
        self._asr = asr
        self._tokenizer = asr.processor.tokenizer
        self._text = QwenText(self._tokenizer)
        self._prompts: dict[tuple[str, str | None], str] = {}
        self.model = model
        self.supported_languages = self._text.supported_languages

    def build_prompt(self, context: str, language: str | None) -> str:
        """Qwen3ASRModel's own prompt (cached: every step of every utterance with these options reuses it)."""
        key = (context, language)
        prompt = self._prompts.get(key)
        if prompt is None:
            if len(self._prompts) > 256:
                self._prompts.clear()
            prompt = self._asr._build_text_prompt(context=context, force_language=language)
            self._prompts[key] = prompt
        return prompt

    def rollback(self, raw: str, tokens: int) -> str:
        """See QwenText.rollback."""
        return self._text.rollback(raw, tokens)

    def parse(self, raw: str, language: str | None) -> tuple[str, str]:
        """See QwenText.parse."""
        return self._text.parse(raw, language)
