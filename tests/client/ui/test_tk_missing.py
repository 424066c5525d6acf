"""A Python without Tk (the embeddable one, a python.org install with "tcl/tk and IDLE" unticked): Settings and
Live preview each say so, with the fix, and the menu shows the truth. Before, Settings did nothing at all (no
window, no notice, no log line) and Live preview stayed ticked showing nothing."""

from __future__ import annotations

import http.cookiejar
import queue
import sys
import urllib.request

import pytest

from tests.client.ui.test_tray_controller import StandInPipeline
from tray_client.config import ClientConfig
from tray_client.ui.tray import intents
from tray_client.ui.tray.controller import TrayController
from tray_client.ui.tray.features import Features
from tray_client.ui.tray.menu import build_menu
from tray_client.ui.tray.notify import Notifier
from tray_client.ui.tray.sounds import SoundPlayer


class Surface:
    HAS_NOTIFICATION = True

    def __init__(self) -> None:
        self.icon = None
        self.title = ""
        self.notifications: list[str] = []

    def update_menu(self) -> None:
        pass

    def notify(self, message: str, title: str) -> None:
        self.notifications.append(message)


class Pipeline(StandInPipeline):
    def subscribe(self, listener) -> None:
        raise AssertionError("no overlay may be started without Tk")


@pytest.fixture
def no_tk(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tkinter", None)  # `import tkinter` raises ImportError, as without Tk
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr("tray_client.ui.tray.controller._safe_autostart_state", lambda: False)
    surface = Surface()
    config = ClientConfig(config_file=str(tmp_path / "config.toml"), overlay=True)
    controller = TrayController(config, Pipeline(), surface, Notifier(surface, repeat_after_s=0.0),
                                SoundPlayer(enabled=False))
    features = Features(config, Pipeline(), controller.handle, controller._notifier.notify, controller.publish,
                        controller.open_path)
    controller.features = features
    controller.add_handlers(features.handlers())
    return controller, surface


def test_settings_without_tk_open_the_web_app_in_the_browser(no_tk, monkeypatch):
    """Settings are a local web page now: no Tk needed, the default browser opens the login URL."""
    controller, surface = no_tk
    opened: queue.SimpleQueue[str] = queue.SimpleQueue()
    monkeypatch.setattr("webbrowser.open", lambda url: opened.put(url) or True)
    controller.handle(intents.OpenSettings("history"))
    url = opened.get(timeout=30)
    try:
        assert url.startswith("http://127.0.0.1:") and "/login?k=" in url and url.endswith("&page=history")
        jar = http.cookiejar.CookieJar()
        with urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)).open(url, timeout=30) as page:
            assert page.status == 200 and b"/static/app.js" in page.read()
        assert surface.notifications == []
    finally:
        controller.features.settings_window.close()


def test_live_preview_without_tk_says_so_and_its_check_mark_goes_off(no_tk):
    controller, surface = no_tk
    controller.handle(intents.SetSetting("overlay", True, save=False))
    assert controller.view.overlay is False
    assert any("The live preview needs Tk" in notice for notice in surface.notifications)


def test_the_settings_and_history_items_need_no_tk(no_tk, x_display):  # pystray needs a display
    controller, _surface = no_tk
    labels = [item.text for item in build_menu(controller_actions(controller)).items]
    assert "Settings…" in labels and "History…" in labels


def controller_actions(controller):
    class Actions:
        def view(self):
            return controller.view

    return Actions()
