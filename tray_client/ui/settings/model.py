"""Pure: the settings window's fields, their checks (the config loader's own), and writing config.toml while
keeping what the user wrote in it (comments, tables, keys the window does not show).

`check()` turns the window's text and choices into a new `ClientConfig` through `config.replace`, the same
coercion and checks as the loader, and maps each error to the field it is about. Hotkeys are also parsed like
the tray parses them, and two hotkeys on the same keys are a conflict. `update_toml_text()` changes only the
lines of the keys that changed (a trailing comment on such a line stays) and adds missing keys before the first
[table], so everything else in the file is left as the user wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from dictation_core.config import toml_value
from tray_client.config import ClientConfig, ConfigError, config_path, replace
from tray_client.hotkeys.spec import HotkeyError, parse_hotkey
from tray_client.text.replacements import parse_lines

__all__ = ["EDITABLE", "FIELDS", "HOTKEYS", "LIVE", "CheckResult", "check", "save_settings", "update_toml_text"]

FIELDS = ("server", "token", "input_device", "mode", "hotkey_push_to_talk", "hotkey_toggle", "hotkey_undo",
          "language", "output", "vad_threshold", "min_silence_ms", "overlay", "sounds", "history_days",
          "chinese_script", "voice_commands", "replacements")
"""The settings the window edits, in its order (start with Windows is the autostart entry, not a setting)."""
HOTKEYS = ("hotkey_push_to_talk", "hotkey_toggle", "hotkey_undo")
LIVE = frozenset({"server", "token", "input_device", "mode", "language", "output", "overlay", "sounds",
                  "chinese_script", "voice_commands", "replacements", "glossary", "commands", "apps",
                  "keep_audio_days", "tray_left_click"})
"""Applied at once by the running app; the others take effect at the next start."""
EDITABLE = frozenset(f.name for f in fields(ClientConfig) if f.metadata.get("persist", True))
"""Every setting the config file keeps (the web app's Settings, Dictionary and Profiles edit all of them)."""
_UNSET_WHEN_EMPTY = frozenset(f.name for f in fields(ClientConfig) if f.default is None)
"""An empty field means "unset" only for settings whose default is unset (token, language...); an empty suffix
or context is simply empty text."""


@dataclass(frozen=True)
class CheckResult:
    """The new config and what changed, or the errors by field (then nothing may be saved)."""

    config: ClientConfig | None
    changes: dict[str, Any]
    errors: dict[str, str]


def check(current: ClientConfig, values: dict[str, Any]) -> CheckResult:
    """Validate the window's values (text as typed, or choices) against the loader's rules."""
    errors: dict[str, str] = {}
    coerced: dict[str, Any] = {}
    for name, value in values.items():
        if name not in EDITABLE:
            raise KeyError(f"not a setting the config file keeps: {name}")
        text = value.strip() if isinstance(value, str) else value
        try:
            if name == "glossary" and isinstance(text, str):  # one term per line
                text = [line.strip() for line in text.splitlines() if line.strip()]
            if name == "replacements" and isinstance(text, str):  # the window's "words = replacement" lines
                text = parse_lines(text)
            unset = text == "" and name in _UNSET_WHEN_EMPTY
            coerced[name] = getattr(replace(current, **{name: None if unset else text}), name)
        except (ConfigError, ValueError, TypeError) as error:
            errors[name] = _without_prefix(str(error), name)
    for name in HOTKEYS:
        if name in coerced:
            try:
                parse_hotkey(coerced[name], name)
            except HotkeyError as error:
                errors[name] = str(error)
    chords: dict[tuple[frozenset[str], str], str] = {}
    for name in HOTKEYS:
        if name in coerced and name not in errors:
            hotkey = parse_hotkey(coerced[name], name)
            chord = (hotkey.modifiers, hotkey.key)
            if chord in chords:
                errors[name] = f"the same keys as {chords[chord]}: choose other keys"
            chords.setdefault(chord, name)
    if errors:
        return CheckResult(None, {}, errors)
    try:
        new = replace(current, **coerced)
    except (ConfigError, ValueError) as error:  # a rule across fields
        return CheckResult(None, {}, {"server": str(error)})
    changes = {name: getattr(new, name) for name in coerced if getattr(new, name) != getattr(current, name)}
    return CheckResult(new, changes, {})


def save_settings(config: ClientConfig, changes: dict[str, Any]) -> Path:
    """Write `changes` into the config file (comments and other keys kept), atomically; return its path."""
    path = Path(config.config_file) if config.config_file else config_path()
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(update_toml_text(old, changes), encoding="utf-8")
    temporary.replace(path)
    return path


def _without_prefix(message: str, name: str) -> str:
    """The loader says `name=value: why`; beside the field, `why` is enough (the value is in the field)."""
    return re.sub(rf"^{re.escape(name)}=.*?: ", "", message, count=1)


_TABLE = re.compile(r"^\s*\[")


def update_toml_text(text: str, changes: dict[str, Any]) -> str:
    """`text` with each changed top-level key set (None: the key's line commented out), all else kept; a
    changed table (replacements) replaces its [table] section, or is added at the end."""
    tables = {key: value for key, value in changes.items() if isinstance(value, dict)}
    changes = {key: value for key, value in changes.items() if key not in tables}
    lines = text.splitlines()
    for name, table in tables.items():
        lines = _set_table(lines, name, table)
    first_table = next((i for i, line in enumerate(lines) if _TABLE.match(line)), len(lines))
    pending = dict(changes)
    for index in range(first_table):
        match = re.match(r"^(\s*)([A-Za-z0-9_]+)\s*=\s*(.*)$", lines[index])
        if not match or match.group(2) not in pending:
            continue
        key = match.group(2)
        value = pending.pop(key)
        comment = _trailing_comment(match.group(3))
        lines[index] = f"# {key} = ..." if value is None else f"{key} = {toml_value(value)}{comment}"
    added = [f"{key} = {toml_value(value)}" for key, value in pending.items() if value is not None]
    if added:
        head, tail = lines[:first_table], lines[first_table:]
        while head and not head[-1].strip():
            head.pop()
        lines = head + added + ([""] if tail else []) + tail
    return "\n".join(lines) + "\n"


def _set_table(lines: list[str], name: str, table: dict[str, Any]) -> list[str]:
    """`lines` with the `[name]` section's keys replaced by `table` (comments before the next table kept)."""
    body = [f"{toml_value(key)} = {toml_value(value)}" for key, value in table.items()]
    lines = _without_subtables(lines, name)  # [apps."kitty"] sections: the new [apps] table holds them all now
    header = next((i for i, line in enumerate(lines) if re.match(rf"^\s*\[{re.escape(name)}\]\s*(#.*)?$", line)),
                  None)
    if header is None:
        return [*lines, *([""] if lines and lines[-1].strip() else []), f"[{name}]", *body] if body else lines
    end = next((i for i in range(header + 1, len(lines)) if _TABLE.match(lines[i])), len(lines))
    kept = [line for line in lines[header + 1:end] if not line.strip() or line.lstrip().startswith("#")]
    return [*lines[:header + 1], *body, *kept, *lines[end:]]


def _without_subtables(lines: list[str], name: str) -> list[str]:
    """`lines` without the `[name.sub]` sections (from their header to the next table)."""
    kept: list[str] = []
    skipping = False
    for line in lines:
        if _TABLE.match(line):
            skipping = re.match(rf"^\s*\[{re.escape(name)}\.", line) is not None
        if not skipping:
            kept.append(line)
    return kept


def _trailing_comment(rest: str) -> str:
    """The `  # ...` after a simple value (a string with '#' inside is skipped over)."""
    in_string, quote = False, ""
    for index, char in enumerate(rest):
        if char in "\"'" and (not in_string or char == quote):
            in_string, quote = not in_string, char
        elif char == "#" and not in_string:
            return "  " + rest[index:].strip() if rest[:index].strip() else ""
    return ""
