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


def parse_pairs(text: str, value_name: str = "value") -> dict[str, str]:
    """`words = value` lines, as the settings pages show tables (the first "=" splits; blank lines and lines
    starting with "#" are skipped). Raises ValueError naming the line that is not one."""
    table: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, separator, value = line.partition("=")
        if not separator or not key.strip():
            raise ValueError(f"line {number} ({line.strip()!r}): write it as words = {value_name}")
        table[key.strip()] = value.strip()
    return table


def parse_lines(text: str) -> dict[str, str]:
    """The replacements as the settings pages show them (see parse_pairs), checked as replacements."""
    table = parse_pairs(text, "replacement")
    check_replacements(table)
    return table


def format_lines(table: Mapping[str, str]) -> str:
    """The table as the settings window shows it (see parse_lines)."""
    return "".join(f"{key} = {value}\n" for key, value in table.items())


class Replacements:
    """One compiled table of replacements. Build it once per table: compiling is the slow part.

    The keys are compiled into one regular expression shaped as a trie (alternatives share their prefixes), so
    each position of the text tries only the keys that start with its character: 100 keys cost about what 5 do.
    """

    def __init__(self, table: Mapping[str, str], *, normalize_key: Callable[[str], str] | None = None) -> None:
        """`normalize_key` maps each key the way the text was mapped (e.g. to the chosen Chinese script)."""
        check_replacements(table)
        self._values: dict[str, str] = {}
        trie: dict[str, dict] = {}
        for key, value in table.items():
            for variant in (key, normalize_key(key)) if normalize_key is not None else (key,):
                if self._values.setdefault(_lookup_key(variant), value) is value:  # ties: the first written wins
                    _insert(trie, _tokens(variant))
        self._pattern = re.compile(_trie_pattern(trie, root=True), re.IGNORECASE) if trie else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def apply(self, text: str) -> str:
        """`text` with every match replaced by its value."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda match: self._values[_lookup_key(match.group(0))], text)


_END = ""  # trie marker: a key ends here (its value says whether a Latin word boundary must follow)
_SPACE_LATIN, _SPACE_CJK = r"\s+", r"\s*"


def _lookup_key(text: str) -> str:
    """How a match finds its value: case and whitespace ignored, as the pattern ignores them."""
    return "".join(text.split()).lower()


def _tokens(key: str) -> list[str]:
    """The key as trie steps: lower-case characters, and one whitespace step between words."""
    space = _SPACE_LATIN if _STARTS_LATIN.search(key) else _SPACE_CJK
    tokens: list[str] = []
    for index, word in enumerate(key.split()):
        if index:
            tokens.append(space)
        tokens.extend(word.lower())
    return tokens


def _insert(trie: dict[str, dict], tokens: list[str]) -> None:
    node = trie
    for token in tokens:
        node = node.setdefault(token, {})
    node[_END] = {"boundary": bool(_ENDS_LATIN.search(tokens[-1]))}


def _trie_pattern(node: dict[str, dict], *, root: bool = False) -> str:
    """Alternatives for each next step, the end of a key last: longer keys win, shorter ones by backtracking."""
    branches = []
    for token, child in node.items():
        if token == _END:
            continue
        step = token if token in (_SPACE_LATIN, _SPACE_CJK) else re.escape(token)
        if root and _STARTS_LATIN.match(token):  # Latin keys are whole words: no letter or digit before them
            step = f"(?<![{_LATIN}]){step}"
        branches.append(step + _trie_pattern(child))
    if _END in node:
        branches.append(f"(?![{_LATIN}])" if node[_END]["boundary"] else "")
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"
