"""User replacements ("open ai" -> "OpenAI", "我司" -> "我们公司"), applied to the text of each final.

Pure. Latin keys match whole words, ignoring case ("Open AI" and "open ai" both match, "reopen ai" does not);
keys of CJK text match as plain substrings (Chinese has no spaces between words). The replacement is inserted
exactly as written. All keys are tried in one pass, longest first (ties in the order written), so a longer key
wins over a shorter one inside it and a replacement's own output is never replaced again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_LATIN = "A-Za-z0-9\u00c0-\u024f"
_STARTS_LATIN = re.compile(f"[{_LATIN}]")
_ENDS_LATIN = re.compile(f"[{_LATIN}]$")


def check_replacements(table: Mapping[str, str]) -> None:
    """Raise ValueError for an empty key or a value with control characters (config validation)."""
    for key, value in table.items():
        if not key.strip():
            raise ValueError("a replacement with an empty key: give the words to replace")
        if not isinstance(value, str) or any(ord(char) < 32 or ord(char) == 127 for char in value):
            raise ValueError(f"replacement {key!r} = {value!r}: the value must be text without control "
                             "characters (dictate \"new line\" for a line break)")


class Replacements:
    """One compiled table of replacements. Build it once per table: compiling is the slow part."""

    def __init__(self, table: Mapping[str, str], *, normalize_key: Callable[[str], str] | None = None) -> None:
        """`normalize_key` maps each key the way the text was mapped (e.g. to the chosen Chinese script)."""
        check_replacements(table)
        entries: dict[str, str] = {}
        for key, value in table.items():
            entries.setdefault(key, value)
            if normalize_key is not None:
                entries.setdefault(normalize_key(key), value)
        ordered = sorted(enumerate(entries.items()), key=lambda item: (-len(item[1][0].strip()), item[0]))
        self._values = [value for _, (_, value) in ordered]
        alternatives = [f"({_key_pattern(key)})" for _, (key, _) in ordered]
        self._pattern = re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def apply(self, text: str) -> str:
        """`text` with every match replaced by its value."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda match: self._values[(match.lastindex or 1) - 1], text)


def _key_pattern(key: str) -> str:
    words = key.split()
    latin = _STARTS_LATIN.search(key) is not None
    body = (r"\s+" if latin else r"\s*").join(re.escape(word) for word in words)
    before = f"(?<![{_LATIN}])" if _STARTS_LATIN.match(words[0]) else ""
    after = f"(?![{_LATIN}])" if _ENDS_LATIN.search(words[-1]) else ""
    return before + body + after
