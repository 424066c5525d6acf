"""A failed start is seen: under pythonw (no stderr) on Windows a message box says why, and the log file has it.

The message box is faked at its one Win32 call (MessageBoxW); everything else is the real entry point."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from tray_client import __main__ as entry
from tray_client import startup
from tray_client.config import log_path
from tray_client.ui.tray import (
    app,  # imported before sys.platform is faked: filelock picks its backend at import
)


@pytest.fixture
def user_dirs(tmp_path, monkeypatch):
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield tmp_path
    for handler in [h for h in root.handlers if h not in handlers]:  # the entry point set up logging
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


def test_a_broken_config_under_pythonw_shows_a_message_box_and_writes_the_log(user_dirs, monkeypatch):
    config = user_dirs / "config.toml"
    config.write_text("mode = 'shout'\n", encoding="utf-8")
    boxes: list[tuple[str, str]] = []
    monkeypatch.setattr(startup, "_message_box", lambda text, title: boxes.append((text, title)))
    monkeypatch.setattr(sys, "stderr", None)  # what pythonw.exe gives the process
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(startup.sys, "platform", "win32")
    assert entry.main(["--config", str(config)]) == entry.EXIT_USAGE
    (text, title), = boxes
    assert "mode='shout'" in text and str(log_path()) in text and title == startup.TITLE
    assert "mode='shout'" in log_path().read_text(encoding="utf-8")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_with_a_console_the_reason_goes_to_stderr_and_no_box(user_dirs, monkeypatch):
    boxes: list[tuple[str, str]] = []
    monkeypatch.setattr(startup, "_message_box", lambda text, title: boxes.append((text, title)))
    monkeypatch.setattr(startup, "_desktop_notice", lambda text, title: boxes.append((text, title)))
    monkeypatch.setenv("DISPLAY", ":0")
    stderr = Terminal()
    monkeypatch.setattr(sys, "stderr", stderr)
    assert entry.main(["--mode", "shout"]) == entry.EXIT_USAGE
    assert "mode='shout'" in stderr.getvalue() and boxes == []


def test_an_unexpected_failure_at_start_is_reported_not_raised(user_dirs, monkeypatch):
    boxes: list[tuple[str, str]] = []
    monkeypatch.setattr(startup, "_message_box", lambda text, title: boxes.append((text, title)))
    monkeypatch.setattr(sys, "stderr", None)
    monkeypatch.setattr(startup.sys, "platform", "win32")

    def broken_tray(_config: object) -> int:
        raise RuntimeError("no tray backend")

    monkeypatch.setattr(app, "run_tray", broken_tray)
    assert entry.main(["--server", "ws://127.0.0.1:9"]) == 1
    assert boxes and "RuntimeError: no tray backend" in boxes[0][0]
    assert "no tray backend" in log_path().read_text(encoding="utf-8")


@pytest.mark.parametrize("display", ["DISPLAY", "WAYLAND_DISPLAY"])
def test_a_broken_config_started_from_a_linux_launcher_is_shown_on_screen(user_dirs, monkeypatch, display):
    """A menu entry or the session's autostart gives a stderr nobody reads: a notification must say it."""
    config = user_dirs / "config.toml"
    config.write_text("mode = 'shout'\n", encoding="utf-8")
    notices: list[tuple[str, str]] = []
    monkeypatch.setattr(startup, "_desktop_notice", lambda text, title: notices.append((text, title)))
    monkeypatch.setattr(startup.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv(display, ":0")
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # the journal or ~/.xsession-errors: not a terminal
    assert entry.main(["--config", str(config)]) == entry.EXIT_USAGE
    (text, title), = notices
    assert "mode='shout'" in text and str(log_path()) in text and title == startup.TITLE


def test_without_a_display_a_broken_config_is_not_notified(user_dirs, monkeypatch):
    notices: list[tuple[str, str]] = []
    monkeypatch.setattr(startup, "_desktop_notice", lambda text, title: notices.append((text, title)))
    monkeypatch.setattr(startup.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # a script or a service
    assert entry.main(["--mode", "shout"]) == entry.EXIT_USAGE
    assert notices == []
