"""Voice commands in a final: "new line", "scratch that", "换行", ... turned into a plan of text and key presses.

Pure: a sanitized final goes in, a `CommandPlan` comes out. The sanitizer has already turned every control
character the model wrote into a space, so the only keys a plan ever holds come from a command recognised here.

A command is recognised where the model writes it, with its own punctuation and capitals:
- as a clause of its own, between punctuation or the ends of the utterance: "Hello, new line, world.";
- at the end of the utterance, after a word: "Send the report new line." / "今天开会换行。";
- alone: "Scratch that." / "停止听写。".
Inside running prose ("a new line of products") it is text.

Spoken punctuation ("逗号", "句号", "问号", "感叹号", "冒号"; "comma", "period", "full stop", "question mark",
"exclamation mark", "colon") types its mark: full-width after a Chinese phrase, ASCII after an English one. It
is stricter, because these are also words people say about punctuation:
- an English phrase counts only as a clause of its own or alone ("Dear John, comma" / "Period."): "It was a long
  period." and "Add a comma" stay text ("period" and "colon" are common nouns);
- a Chinese phrase also counts at the end of the utterance ("明天见句号"), but not after a word that makes it the
  thing talked about ("这里少了一个逗号", "用逗号", "是问号").
The model's own marks next to a spoken mark go: the user's mark replaces them ("好吗？问号" types "好吗？"). The model's punctuation around a command is its
own invention and goes: pause marks before it (",", "，") and any mark after it. The sentence's own final mark
stays: "Dear team, new line, the build is green." types "Dear team⏎the build is green." (the user said a
sentence and expects its full stop; only a mark that closes the command itself, "... new line.", goes).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from tray_client.sinks.keys import Key


class Action(enum.Enum):
    """What a command phrase does."""

    NEWLINE = "newline"
    PARAGRAPH = "paragraph"  # two line breaks
    UNDO = "undo"  # delete the last dictation
    ENTER = "enter"
    STOP_LISTENING = "stop_listening"
    COMMA = "comma"
    PERIOD = "period"
    QUESTION = "question_mark"
    EXCLAMATION = "exclamation_mark"
    COLON = "colon"


ACTIONS = tuple(action.value for action in Action)
# The actions that press keys a shell acts on (a line break is Enter there): off in terminals by default
# (text/profiles.py), so that a server's final can never run a command by saying "press enter".
KEY_ACTIONS = (Action.NEWLINE.value, Action.PARAGRAPH.value, Action.ENTER.value)

# Built-in phrases, in English and Chinese (simplified and traditional, as the model may write either).
DEFAULT_COMMANDS: Mapping[str, str] = {
    "new line": "newline", "newline": "newline", "换行": "newline", "換行": "newline",
    "new paragraph": "paragraph", "新段落": "paragraph", "另起一段": "paragraph",
    "scratch that": "undo", "删掉上一句": "undo", "刪掉上一句": "undo",
    "press enter": "enter", "回车": "enter", "回車": "enter",
    "stop listening": "stop_listening", "停止听写": "stop_listening", "停止聽寫": "stop_listening",
    "逗号": "comma", "逗號": "comma", "comma": "comma",
    "句号": "period", "句號": "period", "period": "period", "full stop": "period",
    "问号": "question_mark", "問號": "question_mark", "question mark": "question_mark",
    "感叹号": "exclamation_mark", "感嘆號": "exclamation_mark", "感歎號": "exclamation_mark",
    "exclamation mark": "exclamation_mark", "exclamation point": "exclamation_mark",
    "冒号": "colon", "冒號": "colon", "colon": "colon",
}
# The mark each punctuation action types: (after a Chinese phrase, after an English one).
MARKS: Mapping[Action, tuple[str, str]] = {
    Action.COMMA: ("，", ","), Action.PERIOD: ("。", "."), Action.QUESTION: ("？", "?"),
    Action.EXCLAMATION: ("！", "!"), Action.COLON: ("：", ":"),
}
# Characters that, right before a Chinese punctuation phrase, make it the thing talked about: a measure word
# or determiner ("一个逗号", "这个问号") or a verb that takes it ("用逗号", "加句号", "是冒号"); not "的", which
# ends sentences ("好的句号").
_TALKED_ABOUT = "个個这這那哪用加打写寫少多是成换換把被叫些么麼啥"

_PAUSE_MARKS = ",，、;；:：-–—"
_ALL_MARKS = _PAUSE_MARKS + ".。!！?？…"
_SENTENCE_ENDS = ".。!！?？"
_FULL_STOPS = ".。"
_LATIN = "A-Za-z0-9\u00c0-\u024f"


@dataclass(frozen=True)
class CommandPlan:
    """What one final asks for: `steps` to output in order (text or keys), undos before them, listening off."""

    steps: tuple[str | Key, ...]
    undo_previous: int = 0  # "scratch that" before any text of this utterance: undo that many earlier finals
    stop_listening: bool = False

    @property
    def text(self) -> str:
        """The steps as plain text, a line break for each key (for history and the tray's "copy last")."""
        return "".join("\n" if isinstance(step, Key) else step for step in self.steps)


def check_commands(commands: Mapping[str, str]) -> None:
    """Raise ValueError naming the phrase whose action is unknown (config validation)."""
    for phrase, action in commands.items():
        if action and action not in ACTIONS:
            raise ValueError(f"command {phrase!r} = {action!r}: use one of {', '.join(ACTIONS)}, "
                             "or \"\" to turn a built-in phrase off")
        if not phrase.strip():
            raise ValueError("an empty command phrase: give the words to say")


class CommandParser:
    """Finds the command phrases of one table in finals. Build once per table (it compiles one regex)."""

    def __init__(self, commands: Mapping[str, str]) -> None:
        check_commands(commands)
        table = {" ".join(phrase.split()).casefold(): Action(action) for phrase, action in commands.items()
                 if action}
        self._actions = table
        # Longest phrase first, so "new paragraph" wins over a shorter phrase that starts the same way.
        phrases = sorted(table, key=lambda phrase: (-len(phrase), phrase))
        self._pattern = re.compile("|".join(_phrase_pattern(phrase) for phrase in phrases), re.IGNORECASE) \
            if phrases else None

    def parse(self, text: str) -> CommandPlan:
        """Split a sanitized final into text and command steps (see the module docstring for the rules)."""
        if self._pattern is None:
            return CommandPlan((text,) if text else ())
        matches = [m for m in self._pattern.finditer(text)
                   if _is_command(text, m.start(), m.end(), self._actions[_key(m.group(0))] in MARKS,
                                  _is_cjk_text(m.group(0)))]
        if not matches:
            return CommandPlan((text,) if text else ())
        steps: list[str | Key] = []
        undo = 0
        stop = False
        cursor = 0
        for match in matches:
            piece = _trim_after_command(text[cursor:match.start()]) if cursor else text[:match.start()]
            piece = _trim_before_command(piece)
            if piece:
                steps.append(piece)
            action = self._actions[_key(match.group(0))]
            if action is Action.NEWLINE:
                steps.append(Key.NEWLINE)
            elif action is Action.PARAGRAPH:
                steps.extend((Key.NEWLINE, Key.NEWLINE))
            elif action is Action.ENTER:
                steps.append(Key.ENTER)
            elif action is Action.STOP_LISTENING:
                stop = True
            elif action in MARKS:
                mark = MARKS[action][0 if _is_cjk_text(match.group(0)) else 1]
                if steps and isinstance(steps[-1], str):
                    steps[-1] = steps[-1].rstrip(_ALL_MARKS) + mark  # the spoken mark replaces the model's
                else:
                    steps.append(mark)
            elif steps:  # UNDO after text of this utterance: that text was never typed, drop it
                steps.clear()
            else:
                undo += 1
            cursor = match.end()
        tail = _trim_after_command(text[cursor:])
        if tail:
            steps.append(tail)
        return CommandPlan(_joined(steps), undo, stop)


def _joined(steps: list[str | Key]) -> tuple[str | Key, ...]:
    """Adjacent text pieces (around a spoken mark) as one, with a space after an ASCII mark before a word."""
    out: list[str | Key] = []
    for step in steps:
        if out and isinstance(step, str) and isinstance(out[-1], str):
            space = " " if out[-1][-1:] in ",.?!:" and step[:1].isalnum() and step[:1].isascii() else ""
            out[-1] = out[-1] + space + step
        else:
            out.append(step)
    return tuple(out)


def _key(phrase: str) -> str:
    return " ".join(phrase.split()).casefold()


def _phrase_pattern(phrase: str) -> str:
    words = [re.escape(word) for word in phrase.split()]
    body = r"\s*".join(words) if _is_cjk_text(phrase) else r"\s+".join(words)
    # Latin phrases are whole words: no letter or digit may touch them (CJK characters may).
    before = f"(?<![{_LATIN}])" if re.match(f"[{_LATIN}]", phrase) else ""
    after = f"(?![{_LATIN}])" if re.search(f"[{_LATIN}]$", phrase) else ""
    return f"{before}{body}{after}"


def _is_cjk_text(phrase: str) -> bool:
    return not re.search(f"[{_LATIN}]", phrase)


def _is_command(text: str, start: int, end: int, mark: bool = False, cjk: bool = False) -> bool:
    before = text[:start].rstrip()
    after = text[end:].strip()
    at_end = all(char in _ALL_MARKS for char in after)
    clause_before = not before or before[-1] in _ALL_MARKS
    if at_end:
        if not mark:
            return True  # alone, or closing the utterance ("... new line.")
        # Punctuation is also talked about: see the module docstring.
        return clause_before or (cjk and before[-1] not in _TALKED_ABOUT)
    clause_after = after[0] in _ALL_MARKS
    return clause_before and clause_after


def _trim_before_command(piece: str) -> str:
    """Text before a command loses the pause marks the model put between it and the command (keeps "." "?")."""
    return piece.rstrip().rstrip(_PAUSE_MARKS).rstrip()


def _trim_after_command(piece: str) -> str:
    """Text after a command loses every mark the model put between the command and the next word."""
    return piece.lstrip().lstrip(_ALL_MARKS).lstrip()

