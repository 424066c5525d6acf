"""Qwen3-ASR's output parser and language list, vendored from qwen_asr (qwen_asr/inference/utils.py, 0.0.6).

Copyright 2026 The Alibaba Qwen team. SPDX-License-Identifier: Apache-2.0 (the code below keeps its logic; only
names and typing changed).

Why vendored: `import qwen_asr` (or any of its submodules, which import the package first) loads its transformers
model, its vLLM backend and librosa, about 13 s at asr_server's start, and pins vllm 0.14 / transformers 4.57. The
vLLM engine path needs only these ~100 lines and a tokenizer, so it stays free of the package; the transformers
backend still uses qwen_asr for the model itself. tests/server/test_qwen_output.py compares this copy with the
installed package's, so a change upstream shows up as a failing test rather than a silent drift.
"""

from __future__ import annotations

SUPPORTED_LANGUAGES: tuple[str, ...] = (
    "Chinese", "English", "Cantonese", "Arabic", "German", "French", "Spanish", "Portuguese", "Indonesian",
    "Italian", "Korean", "Russian", "Thai", "Vietnamese", "Japanese", "Turkish", "Hindi", "Malay", "Dutch",
    "Swedish", "Danish", "Finnish", "Polish", "Czech", "Filipino", "Persian", "Greek", "Romanian", "Hungarian",
    "Macedonian",
)

# The official offline pipeline zero-pads at the tail any chunk shorter than this before the model hears it.
MIN_ASR_INPUT_SECONDS = 0.5

_ASR_TEXT_TAG = "<asr_text>"
_LANG_PREFIX = "language "


def normalize_language_name(language: str) -> str:
    """'cHINese' -> 'Chinese' (raises ValueError when empty)."""
    text = str(language).strip()
    if not text:
        raise ValueError("language is empty")
    return text[:1].upper() + text[1:].lower()


def _fix_char_repeats(text: str, threshold: int) -> str:
    out = []
    i, n = 0, len(text)
    while i < n:
        count = 1
        while i + count < n and text[i + count] == text[i]:
            count += 1
        out.append(text[i] if count > threshold else text[i:i + count])
        i += count
    return "".join(out)


def _fix_pattern_repeats(text: str, threshold: int, max_len: int = 20) -> str:
    n = len(text)
    if n < threshold * 2:
        return text
    i = 0
    out: list[str] = []
    found = False
    while i <= n - threshold * 2:
        found = False
        for k in range(1, max_len + 1):
            if i + k * threshold > n:
                break
            pattern = text[i:i + k]
            if all(text[i + rep * k:i + rep * k + k] == pattern for rep in range(1, threshold)):
                end = i + threshold * k
                while end + k <= n and text[end:end + k] == pattern:
                    end += k
                out.append(pattern)
                out.append(_fix_pattern_repeats(text[end:], threshold, max_len))
                i = n
                found = True
                break
        if found:
            break
        out.append(text[i])
        i += 1
    if not found:
        out.append(text[i:])
    return "".join(out)


def detect_and_fix_repetitions(text: str, threshold: int = 20) -> str:
    """Collapse a character or a short pattern repeated more than `threshold` times (a looping decode)."""
    return _fix_pattern_repeats(_fix_char_repeats(text, threshold), threshold)


def parse_asr_output(raw: str | None, user_language: str | None = None) -> tuple[str, str]:
    """(language, text) from the model's raw output `language X<asr_text>...` (qwen_asr's parse_asr_output).

    A forced language makes the whole output text; no tag makes it text with no language; `language None`
    means empty audio.
    """
    if raw is None:
        return "", ""
    s = str(raw).strip()
    if not s:
        return "", ""
    s = detect_and_fix_repetitions(s)
    if user_language:
        return user_language, s
    if _ASR_TEXT_TAG not in s:
        return "", s.strip()
    meta, text = s.split(_ASR_TEXT_TAG, 1)
    if "language none" in meta.lower():
        return "", text.strip()
    language = ""
    for line in meta.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.lower().startswith(_LANG_PREFIX):
            value = line[len(_LANG_PREFIX):].strip()
            if value:
                language = normalize_language_name(value)
            break
    return language, text.strip()
