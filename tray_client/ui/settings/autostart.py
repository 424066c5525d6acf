"""Start the tray with the user's session: the HKCU Run key on Windows, an XDG autostart entry on Linux.

Why these two: both are per-user (no admin rights), both are what the OS's own "startup apps" settings
show and let the user switch off, and both survive reinstalling the venv as long as the command is the same.
The command is the venv's `pythonw.exe -m tray_client` on Windows (no console window) and
`python -m tray_client` elsewhere, followed by the arguments the running app was started with (the launcher's
`--server` and the like; one-run flags such as `--input-wav` are left out).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import subprocess
import sys
from pathlib import Path

__all__ = ["LABEL", "AutostartError", "autostart_command", "is_enabled", "set_enabled", "xdg_autostart_path"]

log = logging.getLogger(__name__)

APP_ID = "qwen-dictation"
LABEL = "Start with Windows" if sys.platform == "win32" else "Start at login"
"""What the menu item and the settings box are called (Linux users met "Start with Windows")."""
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"


class AutostartError(OSError):
    """Autostart could not be read or changed; the message says where and why."""


ONE_SHOT_FLAGS = {"--input-wav": True, "--fast": False, "--no-fast": False, "--print-config": False}
"""Flags (and whether each takes a value) that make sense for one run, never for every session start."""


def autostart_command(argv: list[str] | None = None) -> list[str]:
    """The command that starts this tray app with this interpreter (pythonw on Windows: no console), with the
    arguments this run was given (`--server`, `--hotkey-toggle`, ...), so the next session starts the same app."""
    python = Path(sys.executable)
    if sys.platform == "win32":
        windowless = python.with_name("pythonw.exe")
        if windowless.exists():
            python = windowless
    return [str(python), "-m", "tray_client", *_persistent_args(sys.argv[1:] if argv is None else argv)]


def _persistent_args(argv: list[str]) -> list[str]:
    kept: list[str] = []
    skip_value = False
    for arg in argv:
        if skip_value:
            skip_value = False
            continue
        name = arg.split("=", 1)[0]
        if name in ONE_SHOT_FLAGS:
            skip_value = ONE_SHOT_FLAGS[name] and "=" not in arg
            continue
        kept.append(arg)
    return kept


def is_enabled() -> bool:
    """Whether the tray starts with the user's session."""
    if sys.platform == "win32":
        return _win32_run_value() is not None
    return xdg_autostart_path().is_file()


def set_enabled(enabled: bool, command: list[str] | None = None) -> None:
    """Turn starting with the session on or off (idempotent)."""
    command = command or autostart_command()
    if sys.platform == "win32":
        _win32_set_run_value(subprocess.list2cmdline(command) if enabled else None)
    else:
        _xdg_set(command if enabled else None)
    log.info("start with the session: %s", "on" if enabled else "off")


# --- Linux and other XDG desktops ---------------------------------------------------------------------------

def xdg_autostart_path() -> Path:
    """`$XDG_CONFIG_HOME/autostart/qwen-dictation.desktop` (the freedesktop.org autostart spec)."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "autostart" / f"{APP_ID}.desktop"


def _xdg_set(command: list[str] | None) -> None:
    path = xdg_autostart_path()
    try:
        if command is None:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "[Desktop Entry]\n"
            "Type=Application\n"
            "Name=Qwen Dictation\n"
            "Comment=Voice dictation tray (Qwen3-ASR)\n"
            f"Exec={shlex.join(command)}\n"
            "Terminal=false\n"
            "X-GNOME-Autostart-enabled=true\n",
            encoding="utf-8",
        )
    except OSError as error:
        raise AutostartError(f"could not change {path}: {error}; check that the folder is writable") from error


# --- Windows ------------------------------------------------------------------------------------------------

def _win32_run_value() -> str | None:
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            value, _ = winreg.QueryValueEx(key, APP_ID)
            return str(value)
    except FileNotFoundError:
        return None


def _win32_set_run_value(command_line: str | None) -> None:
    import winreg

    try:
        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
            if command_line is None:
                with contextlib.suppress(FileNotFoundError):
                    winreg.DeleteValue(key, APP_ID)
            else:
                winreg.SetValueEx(key, APP_ID, 0, winreg.REG_SZ, command_line)
    except OSError as error:
        raise AutostartError(
            f"could not change HKCU\\{RUN_KEY}\\{APP_ID}: {error}; a policy may block it, "
            "use Windows Settings > Apps > Startup instead"
        ) from error
