"""One Chinese script for all output (`chinese_script`), through OpenCC, applied to runs of CJK text only.

Qwen3-ASR writes Simplified or Traditional characters as it likes, sometimes both in one final. OpenCC (the `opencc`
package: the official C++ library with wheels for Windows and Linux, no compiler needed) converts between them
with its phrase tables. Only CJK runs are passed through it, so Latin words, digits and emoji are never touched.
"""

from __future__ import annotations

import re

SCRIPTS = ("auto", "simplified", "traditional", "taiwan", "hongkong")
# OpenCC configurations. "taiwan"/"hongkong" use the regional character standards (s2tw, s2hk), not the phrase
# conversions (s2twp turns 软件 into 軟體): we change the script, never the words the speaker chose.
_OPENCC_CONFIG = {"simplified": "t2s", "traditional": "s2t", "taiwan": "s2tw", "hongkong": "s2hk"}
# Han ideographs with the CJK punctuation and fullwidth forms between them, so a run keeps its phrases whole.
_CJK_RUN = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
                      "\U00020000-\U0002fa1f]+")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")


class ScriptConverter:
    """Converts the Chinese in a text to one script; "auto" leaves the model's characters as they are."""

    def __init__(self, script: str = "auto") -> None:
        if script not in SCRIPTS:
            raise ValueError(f"chinese_script={script!r}: use one of {', '.join(SCRIPTS)}")
        self.script = script
        self._converter = None
        if script != "auto":
            import opencc  # loaded only when a script is chosen: it reads its dictionaries (~20 ms)

            self._converter = opencc.OpenCC(_OPENCC_CONFIG[script])

    def __bool__(self) -> bool:
        return self._converter is not None

    def convert(self, text: str, language: str = "") -> str:
        """`text` with its Chinese in the chosen script. Japanese finals are left alone (their kanji are not
        Chinese characters to convert)."""
        converter = self._converter
        if converter is None or "japanese" in language.lower() or not _HAN.search(text):
            return text
        return _CJK_RUN.sub(lambda match: converter.convert(match.group(0)), text)
