"""The chat completion request for one utterance step, built so vLLM renders exactly qwen_asr's offline prompt.

qwen_asr's offline prompt is the chat template over `[system: context, user: [audio]]` with the generation
prompt, then `language X<asr_text>` when the language is forced, then the rolled-back prefix of the previous
answer. Over HTTP the same string comes out of vLLM when:

- the context is the system message and the audio a WAV in an `input_audio` part of the user message (vLLM
  turns it into `{"type": "audio"}` for the template, which renders `<|audio_start|><|audio_pad|><|audio_end|>`);
- the forced-language header plus the prefix is an assistant message sent with `continue_final_message: true`
  and `add_generation_prompt: false`, so the template leaves that turn open and the model continues it;
- with neither header nor prefix there is no assistant message and `add_generation_prompt: true`: an empty final
  message cannot be continued (transformers looks for its text in the rendered chat).

`tests/server/test_engine_request.py` checks, token for token, that the rendering equals the offline prompt.
"""

from __future__ import annotations

import base64
import io
import wave
from typing import Any

import numpy as np

SAMPLE_RATE = 16_000

# vLLM's priority policy serves lower values first. Only a value other than 0 needs
# `--scheduling-policy priority`, so finals keep 0 and still work on an engine started without it.
PRIORITY_FINAL = 0
PRIORITY_PARTIAL = 1


def wav_base64(audio: np.ndarray) -> str:
    """16 kHz mono float32 in [-1, 1] -> base64 of a 16-bit WAV (lossless for audio that came in as int16)."""
    pcm = np.clip(np.round(audio * 32768.0), -32768, 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(SAMPLE_RATE)
        writer.writeframes(pcm.tobytes())
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def assistant_prefix(language: str | None, prefix: str) -> str:
    """What the assistant turn already holds: the forced-language header, then the rolled-back prefix."""
    return (f"language {language}<asr_text>" if language else "") + prefix


def chat_request(model: str, *, context: str, language: str | None, audio: np.ndarray, prefix: str,
                 priority: int | None, max_tokens: int) -> dict[str, Any]:
    """The JSON body of `POST {engine_url}/chat/completions` for one step (`priority` None: leave it out)."""
    assistant = assistant_prefix(language, prefix)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": context},
        {"role": "user", "content": [{"type": "input_audio",
                                      "input_audio": {"data": wav_base64(audio), "format": "wav"}}]},
    ]
    if assistant:
        messages.append({"role": "assistant", "content": assistant})
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "stream": False,
        "add_generation_prompt": not assistant,
        "continue_final_message": bool(assistant),
    }
    if priority is not None:
        body["priority"] = priority
    return body
