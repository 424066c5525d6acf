"""The text stage: a final from the server becomes a `TextPlan` of text and key steps for the app's sink.

Order, and why:
1. sanitize: no control character the model wrote survives (a newline from the model becomes a space);
2. trailing punctuation trimmed where the profile asks (before the commands, so a spoken "period" still types
   its mark);
3. voice commands: split the final into text and keys before anything rewrites the words;
4. clean-up (optional LLM), on each text piece: the commands are already out, so it cannot eat them;
5. numbers as digits (itn_zh / itn_en): after the commands, whose phrases hold no numerals, and before the script
   conversion, which could otherwise turn "两" into "兩" first (both are read, but one order keeps it simple);
6. Chinese script (OpenCC), then replacements: the user's replacements are inserted exactly as written, in
   whatever script they wrote them, and their keys also match text converted to the chosen script;
7. the profile's suffix after the last text.
Pure apart from the clean-up, which is an injected client. Compiled rules are cached per profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from tray_client.sinks.keys import Key
from tray_client.text.chinese_script import ScriptConverter
from tray_client.text.cleanup import CleanupResult
from tray_client.text.commands import CommandParser, CommandPlan
from tray_client.text.itn_en import normalize_english
from tray_client.text.itn_zh import normalize_chinese
from tray_client.text.profiles import Profile
from tray_client.text.replacements import Replacements
from tray_client.text.sanitize import DEFAULT_MAX_CHARS, sanitize

if TYPE_CHECKING:
    from collections.abc import Callable


class Cleaner(Protocol):
    """What the stage needs from a clean-up client (`cleanup.CleanupClient`)."""

    def clean(self, text: str, prompt: str = "") -> CleanupResult: ...


@dataclass(frozen=True)
class TextPlan:
    """What to do for one final: undo earlier finals, output `steps` in order, maybe stop listening."""

    raw: str  # the model's text, sanitized: what was said (history keeps it next to `text`)
    steps: tuple[str | Key, ...]
    undo_previous: int = 0
    stop_listening: bool = False
    cleanup_skipped: str = ""  # why a wanted clean-up was not used ("" when it was, or was not wanted)

    @property
    def text(self) -> str:
        """The output as text, a line break for each key (history, the tray's "copy last transcript")."""
        return CommandPlan(self.steps).text


_TRIMMED = ".。,，、;；"  # "?" and "!" say something, so they stay


def trim_trailing(text: str) -> str:
    """`text` without the full stop or comma the model put at its end (profile option `trim_punctuation`)."""
    return text.rstrip().rstrip(_TRIMMED).rstrip()


def normalize_numbers(text: str, profile: Profile) -> str:
    """Spoken numbers as digits, per the profile's languages (see itn_zh / itn_en)."""
    if profile.itn_chinese:
        text = normalize_chinese(text)
    if profile.itn_english:
        text = normalize_english(text)
    return text


@dataclass(frozen=True)
class _Rules:
    commands: CommandParser
    script: ScriptConverter
    replacements: Replacements


class TextStage:
    """Applies a profile's rules to finals. Build one per configuration; use it from one thread."""

    def __init__(self, *, max_chars: int = DEFAULT_MAX_CHARS,
                 cleaner: Callable[[], Cleaner | None] | None = None) -> None:
        """`cleaner` makes the clean-up client on first use (None: clean-up is not configured)."""
        self._max_chars = max_chars
        self._make_cleaner = cleaner
        self._cleaner: Cleaner | None = None
        self._rules: dict[tuple[object, ...], _Rules] = {}
        self._scripts: dict[str, ScriptConverter] = {}

    def process(self, raw: str, profile: Profile, language: str = "") -> TextPlan:
        """The plan for one final transcript `raw` (exactly as the server sent it)."""
        text = sanitize(raw, self._max_chars)
        rules = self._rules_for(profile)
        plan = rules.commands.parse(trim_trailing(text) if profile.trim_punctuation else text)
        skipped: list[str] = []
        steps: list[str | Key] = []
        for step in plan.steps:
            if isinstance(step, str):
                step = normalize_numbers(self._clean(step, profile, skipped), profile)
                step = rules.replacements.apply(rules.script.convert(step, language))
            steps.append(step)
        if profile.suffix and steps and isinstance(steps[-1], str):
            steps[-1] += profile.suffix
        return TextPlan(text, tuple(steps), plan.undo_previous, plan.stop_listening, "; ".join(skipped))

    def preview(self, raw: str, profile: Profile, language: str = "") -> str:
        """A partial as the final will read: sanitized, in the chosen script, with the replacements (commands
        and the clean-up wait for the final)."""
        rules = self._rules_for(profile)
        text = normalize_numbers(sanitize(raw, self._max_chars), profile)
        return rules.replacements.apply(rules.script.convert(text, language))

    def _clean(self, text: str, profile: Profile, skipped: list[str]) -> str:
        if not profile.cleanup:
            return text
        if self._cleaner is None and self._make_cleaner is not None:
            self._cleaner = self._make_cleaner()
        if self._cleaner is None:
            skipped.append("cleanup_url is not set")
            return text
        result = self._cleaner.clean(text, profile.cleanup_prompt)
        if not result.cleaned:
            skipped.append(result.reason)
        return result.text

    def _rules_for(self, profile: Profile) -> _Rules:
        key = (profile.commands, profile.chinese_script, profile.replacements)
        rules = self._rules.get(key)
        if rules is None:
            script = self._scripts.get(profile.chinese_script)
            if script is None:
                script = self._scripts[profile.chinese_script] = ScriptConverter(profile.chinese_script)
            rules = _Rules(CommandParser(dict(profile.commands)), script,
                           Replacements(dict(profile.replacements), normalize_key=script.convert if script else None))
            self._rules[key] = rules
        return rules

    def close(self) -> None:
        """Let the clean-up client go (its connections and workers)."""
        close = getattr(self._cleaner, "close", None)
        if close is not None:
            close()
        self._cleaner = None
