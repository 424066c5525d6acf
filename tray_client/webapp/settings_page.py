"""Pure: the Settings page's model: every setting the config file keeps, grouped, with its kind, choices and
documentation, and saving through the config loader's own checks (`ui.settings.model.check`).

Tables (replacements, commands, apps) and the glossary belong to the Dictionary and Profiles pages; every other
persisted setting is in exactly one group here (a test holds that, so a new setting cannot go missing).
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from tray_client.config import LEFT_CLICKS, LOG_LEVELS, MODES, OUTPUTS, VADS, ClientConfig
from tray_client.sinks.keys import PASTE_KEYS
from tray_client.text.chinese_script import SCRIPTS
from tray_client.ui.settings.model import EDITABLE, LIVE, check

__all__ = ["GROUPS", "OTHER_PAGES", "SaveResult", "describe", "save"]

GROUPS: Mapping[str, tuple[str, ...]] = {
    "connection": ("server", "token", "final_timeout_s", "unreachable_exit_s"),
    "microphone": ("input_device", "mode", "pause_media"),
    "hotkeys": ("hotkey_push_to_talk", "hotkey_toggle", "hotkey_undo", "hotkey_paste_last", "hotkey_voice_edit"),
    "language": ("language", "chinese_script", "context", "itn_chinese", "itn_english"),
    "output": ("output", "paste_keys", "type_delay_ms", "max_final_chars", "suffix", "voice_commands", "cleanup",
               "cleanup_url", "cleanup_model", "cleanup_prompt", "cleanup_timeout_s", "cleanup_max_growth",
               "voice_edit_timeout_s",
               "trim_punctuation"),
    "voice": ("vad", "vad_threshold", "vad_energy_gate", "min_silence_ms", "speculative_silence_ms", "preroll_ms",
              "max_utterance_s"),
    "privacy": ("history_days", "keep_audio_days", "app_context", "app_context_chars"),
    "startup": ("start_listening", "tray_left_click", "overlay", "sounds", "notifications", "log_level"),
}
"""The Settings page's sections, in order; the page names them in the user's language."""
OTHER_PAGES = frozenset({"glossary", "replacements", "commands", "apps"})
CHOICES: Mapping[str, tuple[str, ...]] = {
    "mode": MODES, "output": OUTPUTS, "vad": VADS, "log_level": LOG_LEVELS, "chinese_script": SCRIPTS,
    "paste_keys": tuple(PASTE_KEYS), "tray_left_click": LEFT_CLICKS,
}


@dataclass(frozen=True)
class SaveResult:
    """What a save did: the changed keys split by when they apply, or the errors by field (nothing written)."""

    changes: dict[str, Any]
    live: list[str]
    later: list[str]
    errors: dict[str, str]


def _kind(name: str) -> str:
    hint = typing.get_type_hints(ClientConfig)[name]
    if hint is bool:
        return "bool"
    if name in CHOICES:
        return "choice"
    if hint in (int, float):
        return "number"
    return "text"


def describe(config: ClientConfig) -> list[dict[str, object]]:
    """The groups with their fields as the page draws them (values as the form shows them: None is "")."""
    docs = {f.name: f.metadata["doc"] for f in fields(ClientConfig)}
    groups: list[dict[str, object]] = []
    for group, names in GROUPS.items():
        items = []
        for name in names:
            value = getattr(config, name)
            items.append({"name": name, "kind": _kind(name), "value": "" if value is None else value,
                          "choices": list(CHOICES.get(name, ())), "doc": docs[name], "live": name in LIVE})
        groups.append({"name": group, "fields": items})
    return groups


def save(config: ClientConfig, values: Mapping[str, object]) -> tuple[ClientConfig | None, SaveResult]:
    """Check `values` (the page's fields, as typed) with the loader's rules; the new config and what changed.

    An unknown key is an error beside nothing: it is reported under its own name, nothing is saved."""
    unknown = sorted(set(values) - EDITABLE)
    if unknown:
        return None, SaveResult({}, [], [], {name: "not a setting of this app" for name in unknown})
    result = check(config, dict(values))
    if result.errors or result.config is None:
        return None, SaveResult({}, [], [], result.errors)
    live = sorted(name for name in result.changes if name in LIVE)
    later = sorted(name for name in result.changes if name not in LIVE)
    return result.config, SaveResult(result.changes, live, later, {})
