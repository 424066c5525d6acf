"""The app's window: the local web app (settings, history), started on first use and opened in the browser,
and what the tray does after it saved (live settings applied now, the rest announced for the next start)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from tray_client.config import ClientConfig
from tray_client.events import Notice
from tray_client.ui.tray import intents

if TYPE_CHECKING:
    from tray_client.webapp.server import WebServer

__all__ = ["SettingsWindow"]

log = logging.getLogger(__name__)


class SettingsWindow:
    """Opens the web app's pages and applies what it saved (tray-controller thread; the server has its own)."""

    def __init__(self, config: ClientConfig, post: intents.Post, notify: Callable[[str], object],
                 health: Callable[[str, str | None], dict[str, object]],
                 running_config: Callable[[], ClientConfig]) -> None:
        self._config = config
        self._running_config = running_config  # the pipeline's settings now (its --server, its token)
        self._post = post
        self._notify = notify
        self._health = health  # the server's health line, for the web app's status
        self._web: WebServer | None = None  # started on first use (the HTTP stack is imported then)

    def handlers(self) -> dict[type, intents.Handler]:
        return {
            intents.OpenSettings: lambda i: self.open(i.page),
            intents.SettingsSaved: self._on_saved,
        }

    def open(self, page: str) -> None:
        """The app's window: the local web app (started on first use), opened in the default browser."""
        from tray_client.webapp.launch import open_in_browser, publish_url

        try:
            url = self._web_app().start().login_url(page)
        except Exception as error:
            log.exception("the web app could not start")
            self._notify(f"Settings could not open: {error}")
            return
        publish_url(url)
        open_in_browser(url, on_error=lambda why: self._post(Notice("error", why)))

    def close(self) -> None:
        if self._web is not None:
            self._web.stop()

    def _web_app(self) -> WebServer:
        if self._web is None:
            from tray_client.capture.audio_source import list_input_devices
            from tray_client.capture.level import MicLevel
            from tray_client.ui.settings import autostart
            from tray_client.webapp.api import AppHooks
            from tray_client.webapp.server import WebServer

            self._web = WebServer(AppHooks(
                config_file=self._config.config_file,
                on_saved=lambda changes: self._post(intents.SettingsSaved(dict(changes))),
                type_text=lambda text: self._post(intents.TypeText(text, when_focus_moves=True)),
                copy_text=lambda text: self._post(intents.CopyText(text)),
                health=self._health, devices=list_input_devices, level=MicLevel,
                autostart=autostart.is_enabled, set_autostart=lambda on: self._post(intents.SetAutostart(on)),
                running_config=self._running_config))  # uploads go to the server the app uses
        return self._web

    def _on_saved(self, message: intents.SettingsSaved) -> None:
        from tray_client.ui.settings.model import LIVE

        later = sorted(key for key in message.changes if key not in LIVE)
        for key, value in message.changes.items():
            if key in LIVE:
                self._post(intents.SetSetting(key, value, save=False))
        if later:
            self._notify(f"Saved; {', '.join(later)} take effect at the next start")
