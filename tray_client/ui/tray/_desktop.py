"""The tray's few calls out to the desktop: open a file, copy text, start the server in WSL in a console."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["copy_to_clipboard", "open_in_desktop", "start_server_wsl", "wsl_server_command"]

log = logging.getLogger(__name__)


def open_in_desktop(path: Path) -> bool:
    """Open a file with the desktop's default application; False when there is no way to."""
    if not path.exists():
        return False
    if sys.platform == "win32":
        os.startfile(str(path))  # type: ignore[attr-defined]
        return True
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    if shutil.which(opener) is None:
        return False
    subprocess.Popen([opener, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return True


def copy_to_clipboard(text: str) -> None:
    """Put `text` on the clipboard (the sinks do the platform work); raises OutputError when there is none."""
    from tray_client.sinks import set_clipboard

    if text:
        set_clipboard(text)


def wsl_server_script() -> Path:
    """scripts/start_server_wsl.ps1 of this checkout (the launchers install the client editable)."""
    return Path(__file__).resolve().parents[3] / "scripts" / "start_server_wsl.ps1"


def wsl_server_command(script: Path) -> list[str]:
    """The console command for "Start server in WSL". `-NoExit`: when the server fails, its window stays open
    with the reason on screen instead of vanishing with it."""
    return ["powershell.exe", "-NoProfile", "-NoExit", "-ExecutionPolicy", "Bypass", "-File", str(script)]


def start_server_wsl() -> str | None:
    """Start the server in its own console window; return why not, or None when it was started."""
    script = wsl_server_script()
    if sys.platform != "win32" or not script.is_file():
        return f"Starting the server in WSL needs Windows and {script}"
    subprocess.Popen(wsl_server_command(script), creationflags=getattr(subprocess, "CREATE_NEW_CONSOLE", 0))
    return None
