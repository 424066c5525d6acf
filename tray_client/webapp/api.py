"""The web app's API core: each page's reads and changes as plain values (JSON-ready dicts), no HTTP.

`WebApi` is used by one thread only (the server's event loop thread): it owns its own `HistoryStore` (sqlite3
objects stay on their thread; the tray's recorder writes through another connection, and WAL lets both work).
Settings are read from the config file on every request, so a change made in the file or by the tray menu
shows on the next reload; a save goes through the config loader's checks and writes only the changed keys
(`ui.settings.model.save_settings`, comments kept), then tells the app (`AppHooks.on_saved`) to apply the live
ones at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tray_client.config import ClientConfig, ConfigError, config_path, load_config
from tray_client.history.recorder import RECOVERED_OUTPUT
from tray_client.history.store import HistoryEntry, HistoryStore
from tray_client.keep import Kept, kept
from tray_client.ui.settings.model import save_settings
from tray_client.untranscribed import Transcribed, history_entry
from tray_client.webapp import history_page, settings_page, tables_page
from tray_client.webapp.audio_api import AudioApi

__all__ = ["ApiError", "AppHooks", "Download", "LevelMeter", "WebApi"]

HISTORY_LIMIT = 500


class ApiError(Exception):
    """A request the API refuses: `status` and what to show (a message, or errors by field)."""

    def __init__(self, status: int, message: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = dict(errors or {})


@dataclass(frozen=True)
class AppHooks:
    """What the web app needs from the running app; each call returns at once (the work is posted)."""

    config_file: str | None = None
    history_file: Path | None = None
    on_saved: Callable[[dict[str, Any]], None] = lambda _changes: None
    type_text: Callable[[str], None] | None = None  # None: no tray runs (`python -m tray_client open` alone)
    copy_text: Callable[[str], None] | None = None
    health: Callable[[str, str | None], dict[str, object]] | None = None  # blocking: the server runs it aside
    devices: Callable[[], list[str]] | None = None  # the microphones (blocking: PortAudio)
    level: Callable[[str | None], LevelMeter] | None = None  # a live meter on a device (capture.level.MicLevel)
    autostart: Callable[[], bool] | None = None  # whether the app starts with the session
    set_autostart: Callable[[bool], None] | None = None
    kept: Kept | None = None  # where audio is kept (None: this user's folders, tray_client/keep.py)
    running_config: Callable[[], ClientConfig] | None = None  # the running app's (its --server, its token)


class LevelMeter(Protocol):
    """What the Settings page's live meter reads (tray_client.capture.level.MicLevel)."""

    error: str

    def read(self) -> float: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Download:
    """A file for the browser to save."""

    filename: str
    content_type: str
    body: str


@dataclass
class WebApi:
    """The pages' operations (see the module doc)."""

    hooks: AppHooks = field(default_factory=AppHooks)
    _store: HistoryStore | None = None

    # --- settings, dictionary, profiles ---------------------------------------------------------------------

    def config_file(self) -> Path:
        return Path(self.hooks.config_file) if self.hooks.config_file else config_path()

    def config(self) -> ClientConfig:
        path = self.config_file()
        if not path.exists():
            return ClientConfig(config_file=str(path))
        try:
            return load_config(["--config-file", str(path)])
        except (ConfigError, ValueError) as error:
            raise ApiError(409, f"the config file {path} has an error; fix it in an editor first: {error}") \
                from error

    def settings(self) -> dict[str, object]:
        return {"groups": settings_page.describe(self.config()), "config_file": str(self.config_file())}

    def save_settings(self, values: Mapping[str, object]) -> dict[str, object]:
        """Check and write; 422 with the errors by field when any value is refused (nothing written then)."""
        config = self.config()
        new, result = settings_page.save(config, values)
        if result.errors or new is None:
            raise ApiError(422, "some values were refused; nothing was saved", result.errors)
        if result.changes:
            save_settings(config, result.changes)
            self.hooks.on_saved(dict(result.changes))
        return {"saved": sorted(result.changes), "live": result.live, "later": result.later}

    def startup(self) -> dict[str, object]:
        """Start at login (not a setting: the session's autostart entry) and the microphones, both blocking."""
        autostart = None
        if self.hooks.autostart is not None:
            try:
                autostart = self.hooks.autostart()
            except OSError:
                autostart = None
        devices: list[str] = []
        if self.hooks.devices is not None:
            try:
                devices = list(self.hooks.devices())
            except OSError:  # PortAudio failed: the field stays free text
                devices = []
        return {"autostart": autostart, "devices": devices}

    def set_autostart(self, values: Mapping[str, object]) -> dict[str, object]:
        if self.hooks.set_autostart is None:
            raise ApiError(409, "start at login is set by the tray app: start it, then use Settings from its menu")
        enabled = values.get("enabled")
        if not isinstance(enabled, bool):
            raise ApiError(400, "expected {\"enabled\": true or false}")
        self.hooks.set_autostart(enabled)
        return {"autostart": enabled}

    def dictionary(self) -> dict[str, str]:
        return tables_page.dictionary_values(self.config())

    def profiles(self) -> dict[str, object]:
        return tables_page.profiles_values(self.config(), self._history().apps())

    def save_page(self, page: str, values: Mapping[str, object]) -> dict[str, object]:
        """Save the Dictionary or Profiles page (their lists become settings, checked like any other)."""
        settings, errors = tables_page.to_settings(self.config(), page, values)
        if errors:
            raise ApiError(422, "some lists were refused; nothing was saved", errors)
        return self.save_settings(settings)

    # --- history and stats ----------------------------------------------------------------------------------

    def _history(self) -> HistoryStore:
        if self._store is None:
            from tray_client.history.store import history_path

            self._store = HistoryStore(self.hooks.history_file or history_path())
        return self._store

    @property
    def audio(self) -> AudioApi:
        """Kept audio and recordings waiting for a transcript (webapp/audio_api.py)."""
        return AudioApi(self.hooks.kept or kept(), self.hooks.running_config or self.config)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def history(self, search: str = "", app: str = "", since: float | None = None,
                until: float | None = None) -> dict[str, object]:
        rows = self._history().find(search, app, since, until, HISTORY_LIMIT)
        with_audio = self.audio.kept_ids()
        return {"entries": [{**history_page.entry_json(row_id, entry),
                             "audio": entry.utterance_id.split(".")[0] in with_audio if entry.utterance_id else False}
                            for row_id, entry in rows],
                "apps": self._history().apps(), "can_type": self.hooks.type_text is not None}

    def entry(self, row_id: int) -> HistoryEntry:
        for found_id, entry in self._history().find(limit=1_000_000):
            if found_id == row_id:
                return entry
        raise ApiError(404, f"history entry {row_id} is gone (deleted, or older than history_days)")

    def delete(self, row_id: int) -> dict[str, object]:
        """Delete an entry and its kept audio."""
        self.audio.forget(self.entry(row_id))
        if not self._history().delete(row_id):
            raise ApiError(404, f"history entry {row_id} is gone")
        return {"deleted": row_id}

    def add_recovered(self, done: Transcribed) -> dict[str, object]:
        """A waiting recording's words, transcribed from the page: into the history, marked recovered."""
        self._history().add(history_entry(done, RECOVERED_OUTPUT))
        return {"text": done.text, "raw": done.raw, "language": done.language, "name": done.wav.name}

    def type_again(self, row_id: int) -> dict[str, object]:
        """Type the entry into the window focused before the browser (the tray's Type again: the text writer
        spaces it against what is already there)."""
        if self.hooks.type_text is None:
            raise ApiError(409, "typing needs the tray app running: start it, then use History from its menu")
        self.hooks.type_text(self.entry(row_id).text)
        return {"typed": row_id}

    def type_heard(self, values: Mapping[str, object]) -> dict[str, object]:
        """Type words the page was given by Re-transcribe or Transcribe (they are in no entry's text), like
        Type again."""
        text = values.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "expected {\"text\": the words to type}")
        if self.hooks.type_text is None:
            raise ApiError(409, "typing needs the tray app running: start it, then use History from its menu")
        self.hooks.type_text(text)
        return {"typed": len(text)}

    def export(self, fmt: str, search: str = "", app: str = "", since: float | None = None,
               until: float | None = None) -> Download:
        entries = [entry for _id, entry in self._history().find(search, app, since, until, 1_000_000)]
        if fmt == "csv":
            return Download("dictation-history.csv", "text/csv; charset=utf-8", history_page.export_csv(entries))
        if fmt == "json":
            return Download("dictation-history.json", "application/json; charset=utf-8",
                            history_page.export_json(entries))
        raise ApiError(400, f"export format {fmt!r}: use csv or json")

    def stats(self) -> dict[str, object]:
        entries = [entry for _id, entry in self._history().find(limit=1_000_000)]
        return {"days": history_page.daily_stats(entries)}

    def health(self) -> dict[str, object]:
        """The server's /healthz (blocking: call it off the event loop)."""
        config = self.config()
        if self.hooks.health is None:
            return {"ok": False, "error": "no health check here"}
        return self.hooks.health(config.server, config.token)
