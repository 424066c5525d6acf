"""The tray icon shows before the heavy imports (issue 22: start to tray icon <= 0.5 s).

numpy, onnxruntime, the link, the history, OpenCC and the web app's server take most of a second to import on a
loaded machine; none of them is needed to draw the icon. These tests start the real `run_tray` in a fresh
interpreter with a recording stand-in for pystray (the one part that needs a tray on screen) and check which modules
were loaded at the moment the icon was created and made visible. No clock is involved: an import that creeps back
in front of the icon fails the test on any machine, however fast."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tray_client.ui.tray.app import TrayApp

REPO = Path(__file__).resolve().parents[4]

HEAVY = ("numpy", "onnxruntime", "torch", "httpx", "opencc", "aiohttp", "websockets", "asyncio", "sqlite3",
         "tray_client.history", "tray_client.pipeline", "tray_client.link", "tray_client.capture.vad",
         "tray_client.webapp.server", "tray_client.ui.tray.features", "tray_client.ui.tray.controller")
"""Modules the icon must not wait for (the controller and features come right after it, on their thread)."""

SCRIPT = textwrap.dedent("""
    import json, sys, types

    HEAVY = json.loads(sys.argv[1])
    seen = {}

    def loaded(moment):
        seen[moment] = sorted(name for name in HEAVY if name in sys.modules)

    class Icon:  # what run_tray uses of pystray.Icon, recording the moments that matter
        def __init__(self, name, icon, title, menu=None):
            loaded("icon created")
            self.menu = menu

        @property
        def visible(self):
            return "icon shown" in seen

        @visible.setter
        def visible(self, value):
            loaded("icon shown")
            raise RuntimeError("the test ends the start here")  # reported as a failed start; the app quits

        def run(self, setup=None):
            setup(self)

        def stop(self):
            pass

        def update_menu(self):
            pass

        _update_menu = update_menu

    class Menu:
        SEPARATOR = None

        def __init__(self, *items):
            self.items = items

    class MenuItem:
        def __init__(self, *args, **kwargs):
            self.args = args

    pystray = types.ModuleType("pystray")
    pystray.Icon, pystray.Menu, pystray.MenuItem = Icon, Menu, MenuItem
    sys.modules["pystray"] = pystray

    loaded("before the app's import")
    from tray_client.config import load_config
    from tray_client.ui.tray.app import run_tray

    loaded("app imported")
    code = run_tray(load_config(["--config-file", sys.argv[2]]))
    print(json.dumps({"seen": seen, "code": code}))
""")


def _start(tmp_path: Path) -> dict[str, list[str]]:
    config = tmp_path / "config.toml"
    config.write_text('server = "ws://127.0.0.1:9/"\n', encoding="utf-8")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("XDG_", "PYTHON")) and key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(PYTHONPATH=str(REPO), XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               XDG_RUNTIME_DIR=str(tmp_path / "run"), PYSTRAY_BACKEND="xorg")
    (tmp_path / "run").mkdir()
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(HEAVY), str(config)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 1, result  # the stand-in icon ended the start with an error, and it was said
    assert "RuntimeError: the test ends the start here" in done.stderr
    return result["seen"]


def test_nothing_heavy_is_imported_before_the_tray_icon_shows(tmp_path: Path) -> None:
    seen = _start(tmp_path)
    assert set(seen) == {"before the app's import", "app imported", "icon created", "icon shown"}, seen
    assert seen["app imported"] == [], f"importing the tray app loads {seen['app imported']}"
    assert seen["icon created"] == [], f"the tray icon waits for {seen['icon created']}"
    assert seen["icon shown"] == [], f"the tray icon waits for {seen['icon shown']}"


class _Icon:
    """The part of pystray.Icon that TrayApp.run uses; `run` calls the setup on this thread, like a loop that
    ends as soon as the controller quits."""

    def __init__(self, name: str, icon: object, title: str, menu: object = None) -> None:
        self.visible = False
        self.stopped = False

    def run(self, setup: Callable[[_Icon], None]) -> None:
        setup(self)

    def stop(self) -> None:
        self.stopped = True

    def _update_menu(self) -> None:  # wrapped by ui/tray/menu.py's serialize_menu_updates
        pass


def test_a_pipeline_that_cannot_be_built_is_reported_as_a_failed_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline is built after the icon shows now, on the controller thread; its failure must still reach the
    user as a failed start (message and exit code 1), as it did when it ended `run` before the icon."""
    class Unbuildable:
        def __init__(self, config: object, **parts: object) -> None:
            raise RuntimeError("no audio backend")

    reported: list[str] = []
    tray = run_tray_building(monkeypatch, Unbuildable, reported)
    assert reported == ["RuntimeError: no audio backend"]
    assert tray._icon.visible and tray._icon.stopped  # shown first, then taken down by Quit


def run_tray_building(monkeypatch: pytest.MonkeyPatch, pipeline: type, reported: list[str]) -> TrayApp:
    """Run the real TrayApp with a stand-in pystray icon and `pipeline` as the Pipeline class, which must raise
    (that ends the start: exit code 1, the message appended to `reported`); the app, for its icon."""
    import tray_client.pipeline
    from tray_client.config import load_config
    from tray_client.ui.tray import app

    fake_pystray = types.ModuleType("pystray")
    fake_pystray.Icon = _Icon  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pystray", fake_pystray)
    monkeypatch.setenv("PYSTRAY_BACKEND", "xorg")
    monkeypatch.setattr(tray_client.pipeline, "Pipeline", pipeline)
    monkeypatch.setattr(app, "build_menu", lambda actions: None)
    monkeypatch.setattr(app, "report_failed_start", lambda message, **_: reported.append(message))
    tray = app.TrayApp(load_config(["--server", "ws://127.0.0.1:9/"]))
    assert tray.run() == 1
    return tray
