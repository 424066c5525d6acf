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

Audio shorter than 0.5 s is zero-padded at its tail to 0.5 s, as qwen_asr's offline pipeline pads every chunk
(MIN_ASR_INPUT_SECONDS): the model hears the sound followed by a short silence, which is what it was given in
the official code, and vLLM never sees the 200 samples or fewer that its feature extractor refuses with 400
(a 1-200-sample utterance, or an upload that short).
"""

from __future__ import annotations

import base64
import io
import wave
from typing import Any

import numpy as np

from asr_server.backends.qwen_output import MIN_ASR_INPUT_SECONDS
from dictation_core.protocol import SAMPLE_RATE

MIN_ENGINE_SAMPLES = round(MIN_ASR_INPUT_SECONDS * SAMPLE_RATE)

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


def padded_for_engine(audio: np.ndarray) -> np.ndarray:
    """`audio`, or it followed by zeros up to MIN_ENGINE_SAMPLES when shorter (the official offline padding)."""
    if len(audio) >= MIN_ENGINE_SAMPLES:
        return audio
    return np.concatenate([audio.astype(np.float32, copy=False),
                           np.zeros(MIN_ENGINE_SAMPLES - len(audio), dtype=np.float32)])


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
                                      "input_audio": {"data": wav_base64(padded_for_engine(audio)),
                                                      "format": "wav"}}]},
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
