"""Per-app profiles: the settings the text stage and the output use for the app that had the focus.

Pure. `[apps."<name>"]` tables in config.toml override, for one app, where the text goes (`output`, `paste_keys`),
the `language` and `glossary` sent to the server, `replacements`, `voice_commands` / `commands`, `cleanup` /
`cleanup_prompt`, `chinese_script`, number writing (`itn_chinese`, `itn_english`), `trim_punctuation`, `app_context`, a trailing
`suffix`, and `key_commands` (whether voice commands that press
keys, "new line" and "press enter", work there). An app is named by its process on Windows
("WindowsTerminal.exe"; the ".exe" is optional) or by either part of its WM_CLASS on X11 ("kitty",
"gnome-terminal-server"), case ignored. Terminals get a profile of their own by default (`DEFAULT_APPS`): they
paste (typed keystrokes reach a shell one by one, and conhost drops some), with Ctrl+Shift+V on X11, where
Ctrl+V is a terminal control key; no clean-up (a rewritten shell command is a different command); and no voice
command that presses a key: a final reading "echo pwned, press enter." must not run a command, so there the
phrase is typed as words. An app not listed whose name says it is a terminal or console ("...term",
"...terminal", "...console") gets that last rule too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tray_client.sinks.keys import PASTE_KEYS
from tray_client.text.chinese_script import SCRIPTS
from tray_client.text.commands import DEFAULT_COMMANDS, KEY_ACTIONS, check_commands
from tray_client.text.replacements import check_replacements

if TYPE_CHECKING:
    from tray_client.config import ClientConfig

APP_OUTPUTS = ("type", "clipboard")

_WINDOWS_TERMINALS = ("WindowsTerminal", "conhost", "OpenConsole", "cmd", "powershell", "pwsh", "wsl", "mintty",
                      "ConEmu", "ConEmu64", "alacritty", "wezterm-gui", "Tabby")
_X11_TERMINALS = ("gnome-terminal-server", "konsole", "xfce4-terminal", "tilix", "terminator", "alacritty",
                  "kitty", "org.wezfurlong.wezterm", "mate-terminal", "lxterminal", "qterminal", "kgx",
                  "terminology", "deepin-terminal", "urxvt", "st-256color", "xterm", "uxterm", "rxvt", "foot",
                  "com.mitchellh.ghostty", "guake", "tilda", "yakuake", "sakura")
DEFAULT_APPS: Mapping[str, Mapping[str, Any]] = {
    **{name: {"output": "clipboard", "paste_keys": "ctrl+v", "cleanup": False, "key_commands": False}
       for name in _WINDOWS_TERMINALS},
    **{name: {"output": "clipboard", "paste_keys": "ctrl+shift+v", "cleanup": False, "key_commands": False}
       for name in _X11_TERMINALS},
}
_TERMINAL_WORDS = ("terminal", "console")  # in an app's name: a terminal we do not list (e.g. "cool-retro-term")

_APP_KEYS: Mapping[str, type | tuple[type, ...]] = {
    "output": str, "paste_keys": str, "language": str, "replacements": dict, "voice_commands": bool,
    "commands": dict, "cleanup": bool, "cleanup_prompt": str, "suffix": str, "glossary": list,
    "chinese_script": str, "key_commands": bool, "itn_chinese": bool, "itn_english": bool,
    "trim_punctuation": bool, "app_context": bool,
}


@dataclass(frozen=True)
class Profile:
    """The effective text and output settings for one app (hashable: the text stage caches per profile)."""

    app: str  # the [apps] table that matched ("" for none)
    output: str
    paste_keys: str
    language: str | None
    glossary: tuple[str, ...]
    replacements: tuple[tuple[str, str], ...]
    commands: tuple[tuple[str, str], ...]  # empty when voice commands are off
    cleanup: bool
    cleanup_prompt: str
    chinese_script: str
    suffix: str
    itn_chinese: bool = True
    itn_english: bool = False
    trim_punctuation: bool = False
    app_context: bool = True  # send the focused app's text with the utterance (desktop/context_reader.py)

    @property
    def context(self) -> str:
        """The glossary as the server's hello context (one term per line)."""
        return "\n".join(self.glossary)


def app_key(name: str) -> str:
    """How app names are compared: case ignored, without Windows' ".exe"."""
    name = name.strip().casefold()
    return name[:-4] if name.endswith(".exe") else name


def check_apps(apps: Mapping[str, Any]) -> None:
    """Raise ValueError naming the app and key of a bad `[apps]` entry (config validation)."""
    for name, table in apps.items():
        where = f"[apps.{name!r}]"
        if not isinstance(table, Mapping):
            raise ValueError(f"{where} must be a table of settings, e.g. output = \"clipboard\"")
        for key, value in table.items():
            expected = _APP_KEYS.get(key)
            if expected is None:
                raise ValueError(f"{where}: unknown key {key!r}; known: {', '.join(sorted(_APP_KEYS))}")
            if not isinstance(value, expected):
                raise ValueError(f"{where} {key} = {value!r}: expected {getattr(expected, '__name__', expected)}")
        _check_choice(where, "output", table.get("output"), APP_OUTPUTS)
        _check_choice(where, "paste_keys", table.get("paste_keys"), PASTE_KEYS)
        _check_choice(where, "chinese_script", table.get("chinese_script"), SCRIPTS)
        try:
            check_replacements(table.get("replacements", {}))
            check_commands(table.get("commands", {}))
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from error
        if any(not isinstance(term, str) for term in table.get("glossary", [])):
            raise ValueError(f"{where} glossary: a list of strings, e.g. [\"Qwen3-ASR\", \"vLLM\"]")


def _check_choice(where: str, key: str, value: object, allowed: Sequence[str]) -> None:
    if value is not None and value not in allowed:
        raise ValueError(f"{where} {key} = {value!r}: use one of {', '.join(allowed)}")


def base_profile(config: ClientConfig) -> Profile:
    """The profile of an app without a table of its own: the global settings."""
    return Profile(
        app="", output=config.output, paste_keys=config.paste_keys, language=config.language,
        glossary=_glossary(config.context, config.glossary),
        replacements=tuple(config.replacements.items()),
        commands=tuple({**DEFAULT_COMMANDS, **config.commands}.items()) if config.voice_commands else (),
        cleanup=config.cleanup, cleanup_prompt=config.cleanup_prompt, chinese_script=config.chinese_script,
        suffix=config.suffix, itn_chinese=config.itn_chinese, itn_english=config.itn_english,
        trim_punctuation=config.trim_punctuation, app_context=config.app_context)


def profile_for(config: ClientConfig, app_names: Sequence[str]) -> Profile:
    """The profile for the app known by `app_names` (process name; or WM_CLASS class and instance)."""
    base = base_profile(config)
    tables = _app_tables(config.apps)
    terminal = any(looks_like_terminal(name) for name in app_names)
    for name in app_names:
        table = tables.get(app_key(name))
        if table is not None:
            return _apply(config, base, name, {"key_commands": not terminal, **table})
    return replace(base, commands=_without_keys(base.commands)) if terminal else base


def looks_like_terminal(name: str) -> bool:
    """An app whose name says it is a terminal or a console, listed or not."""
    key = app_key(name)
    return key.endswith("term") or any(word in key for word in _TERMINAL_WORDS)


def _without_keys(commands: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The command table without the commands that press keys: their phrases are then typed as words."""
    return tuple((phrase, action) for phrase, action in commands if action not in KEY_ACTIONS)


def _app_tables(apps: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    tables: dict[str, dict[str, Any]] = {app_key(name): dict(table) for name, table in DEFAULT_APPS.items()}
    for name, table in apps.items():  # the user's keys win, key by key, over a built-in profile of that app
        tables[app_key(name)] = {**tables.get(app_key(name), {}), **table}
    return tables


def _apply(config: ClientConfig, base: Profile, name: str, table: Mapping[str, Any]) -> Profile:
    voice_commands = table.get("voice_commands", config.voice_commands)
    commands = {**DEFAULT_COMMANDS, **config.commands}
    if table.get("key_commands") is False:  # phrases written in this app's own table are the user's choice
        commands = dict(_without_keys(tuple(commands.items())))
    commands.update(table.get("commands", {}))
    language = table.get("language", base.language)
    return replace(
        base, app=name,
        output=table.get("output", base.output) if base.output != "stdout" else "stdout",
        paste_keys=table.get("paste_keys", base.paste_keys),
        language=language or None,
        glossary=base.glossary + tuple(t for t in table.get("glossary", ()) if t not in base.glossary),
        replacements=tuple({**config.replacements, **table.get("replacements", {})}.items()),
        commands=tuple(commands.items()) if voice_commands else (),
        cleanup=table.get("cleanup", base.cleanup),
        cleanup_prompt=table.get("cleanup_prompt", base.cleanup_prompt),
        chinese_script=table.get("chinese_script", base.chinese_script),
        suffix=table.get("suffix", base.suffix),
        itn_chinese=table.get("itn_chinese", base.itn_chinese),
        itn_english=table.get("itn_english", base.itn_english),
        trim_punctuation=table.get("trim_punctuation", base.trim_punctuation),
        app_context=table.get("app_context", base.app_context))


def _glossary(context: str, glossary: Sequence[str]) -> tuple[str, ...]:
    terms = [context.strip()] if context.strip() else []
    return tuple(terms + [term for term in glossary if term not in terms])
