"""Pure: the Dictionary and Profiles pages: the glossary, replacements and voice commands as plain-text lists
(the same text is what import and export read and write), and the per-app profiles ([apps] tables).

Everything is saved through `settings_page.save`, so the loader's checks (check_replacements, check_commands,
check_apps) are the ones that refuse bad input, and their message is shown beside the list.
"""

from __future__ import annotations

from collections.abc import Mapping

from tray_client.config import ClientConfig
from tray_client.text.replacements import format_lines, parse_pairs

__all__ = ["PROFILE_KEYS", "dictionary_values", "parse_pairs", "profiles_values", "to_settings"]

PROFILE_KEYS = ("output", "voice_commands", "language", "glossary", "suffix")
"""What the Profiles page edits per app; other keys already in a profile are kept as they are."""


def dictionary_values(config: ClientConfig) -> dict[str, str]:
    """The three lists as the page's text areas show them (one entry per line)."""
    return {"glossary": "".join(f"{term}\n" for term in config.glossary),
            "replacements": format_lines(config.replacements), "commands": format_lines(config.commands)}


def profiles_values(config: ClientConfig, recent_apps: list[str]) -> dict[str, object]:
    """The profiles and the apps used lately that have none (offered as "add a profile for ...")."""
    return {"apps": {name: dict(profile) for name, profile in config.apps.items()},
            "keys": list(PROFILE_KEYS),
            "suggestions": [app for app in recent_apps if app not in config.apps][:8]}


def to_settings(config: ClientConfig, page: str, values: Mapping[str, object]) -> tuple[dict[str, object],
                                                                                        dict[str, str]]:
    """A page's values as settings for `settings_page.save`, or errors by field for text that is no list."""
    settings: dict[str, object] = {}
    errors: dict[str, str] = {}
    if page == "dictionary":
        for name in ("glossary", "replacements", "commands"):
            if name not in values:
                continue
            text = str(values[name])
            try:
                settings[name] = text if name != "commands" else parse_pairs(text)
            except ValueError as error:
                errors[name] = str(error)
    elif page == "profiles":
        apps = values.get("apps")
        if not isinstance(apps, Mapping):
            return {}, {"apps": "expected the profiles as an object of app name -> settings"}
        cleaned: dict[str, dict[str, object]] = {}
        for name, profile in apps.items():
            if not str(name).strip() or not isinstance(profile, Mapping):
                errors["apps"] = f"profile {name!r}: give the app's name and its settings"
                continue
            kept = dict(config.apps.get(name, {}))
            for key in PROFILE_KEYS:
                kept.pop(key, None)
                value = profile.get(key)
                if key == "glossary" and isinstance(value, str):
                    value = [term.strip() for term in value.split(",") if term.strip()]
                if value not in (None, "", []):
                    kept[key] = value
            cleaned[str(name).strip()] = kept
        settings["apps"] = cleaned
    return settings, errors
