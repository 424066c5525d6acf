"""Drive the real tray app on the test X display: start it, find its icon in trayer, read its state, click it,
press hotkeys with xdotool (XTest, like a user), and take screenshots of the tray.

The app runs in its own process (`tray_main.py`), with a private config/log directory, so a test sees exactly
what a user would: the icon window docked in trayer, its title (the tooltip text), the pixels it draws.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from dictation_devtools.desktop import XDisplay
from dictation_devtools.polling import wait_for
from tray_client.events import ClientState
from tray_client.ui.tray.icons import load_state_icon
from tray_client.ui.tray.menu import STATE_LABELS

RUNNER = Path(__file__).with_name("tray_main.py")
REPO_ROOT = Path(__file__).resolve().parents[2]
ICON_CLASS = "qwen-dictation"
STARTUP_TIMEOUT_S = 60.0  # Silero loads torch: slow on a shared 2-core box


def xrun(display: XDisplay, *args: str, timeout: float = 10.0) -> str:
    result = subprocess.run(list(args), env=display.env(), capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


@dataclass
class TrayProcess:
    """The tray app process and the X window of its icon."""

    process: subprocess.Popen
    display: XDisplay
    home: Path
    window_id: str = ""
    foreign_windows: frozenset[str] = frozenset()  # icon windows that existed before: another test's app
    env: dict[str, str] | None = None  # the app's environment (its private user directories)
    log_path: Path | None = None  # where the app logs, when not home/app.log

    @property
    def log_file(self) -> Path:
        return self.log_path or self.home / "app.log"

    def log_text(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace") if self.log_file.exists() else ""

    # --- finding and reading the icon -------------------------------------------------------------------

    def find_icon(self, timeout: float = STARTUP_TIMEOUT_S) -> str:
        """Wait until the icon window exists and is docked (its parent is not the root window)."""

        def docked() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"the tray app exited with {self.process.returncode}:\n{self.log_text()}")
            for window in icon_windows(self.display) - self.foreign_windows:
                if self._parent(window) != self._root():
                    self.window_id = window
                    return True
            return False

        if not wait_for(docked, timeout, 0.1):
            raise AssertionError(f"the tray icon never docked in trayer\n{self.log_text()}")
        return self.window_id

    def _root(self) -> str:
        out = xrun(self.display, "xwininfo", "-root")
        return hex(int(re.search(r"Window id: (0x[0-9a-f]+)", out).group(1), 16))

    def _parent(self, window: str) -> str:
        out = xrun(self.display, "xwininfo", "-children", "-id", window)
        match = re.search(r"Parent window id: (0x[0-9a-f]+)", out)
        return hex(int(match.group(1), 16)) if match else ""

    def title(self) -> str:
        """The icon's title: the tooltip text ("Dictation: <state> ...")."""
        result = subprocess.run(["xdotool", "getwindowname", self.window_id], env=self.display.env(),
                                capture_output=True, text=True)
        return result.stdout.strip()

    def state(self) -> ClientState | None:
        first = self.title().splitlines()[0] if self.title() else ""
        for state, label in STATE_LABELS.items():
            if first == f"Dictation: {label}" or first.startswith(f"Dictation: {label} ("):
                return state
        return None

    def wait_state(self, state: ClientState, timeout: float = 20.0) -> None:
        seen: list[ClientState | None] = []

        def reached() -> bool:
            current = self.state()
            if not seen or seen[-1] is not current:
                seen.append(current)
            return current is state

        if not wait_for(reached, timeout, 0.03):
            raise AssertionError(f"tray state went {seen} (title {self.title()!r}), expected {state}\n"
                                 f"{self.log_text()[-3000:]}\n{self.thread_stacks()}")

    def thread_stacks(self) -> str:
        """Every thread's stack in the app, for failure messages (tray_main.py dumps them on SIGUSR1)."""
        if self.process.poll() is not None:
            return f"(the app exited with {self.process.returncode})"
        self.process.send_signal(signal.SIGUSR2)  # the asyncio tasks (a dead one shows its exception)
        time.sleep(0.5)
        self.process.send_signal(signal.SIGUSR1)  # every thread's stack
        time.sleep(1)
        return (self.home / "stderr.log").read_text(errors="replace")[-8000:]

    def utterance_start_s(self, reason: str) -> float:
        """Where in the input the last utterance started for `reason` ("vad" or "manual"), from the app's log."""
        found = re.findall(rf"utterance \S+ started \({reason}\) at ([0-9.]+) s", self.log_text())
        if not found:
            raise AssertionError(f"no {reason} utterance in the log:\n{self.log_text()[-3000:]}")
        return float(found[-1])

    def geometry(self) -> tuple[int, int, int, int]:
        """Absolute x, y, width, height of the icon window on the screen."""
        out = xrun(self.display, "xwininfo", "-id", self.window_id)

        def value(name: str) -> int:
            return int(re.search(rf"{name}:\s+(-?\d+)", out).group(1))

        return value("Absolute upper-left X"), value("Absolute upper-left Y"), value("Width"), value("Height")

    # --- user input ---------------------------------------------------------------------------------------

    def click(self) -> None:
        """A left click on the icon, with the mouse, through XTest."""
        x, y, width, height = self.geometry()
        xrun(self.display, "xdotool", "mousemove", str(x + width // 2), str(y + height // 2), "click", "1")

    def key(self, combo: str) -> None:
        xrun(self.display, "xdotool", "key", combo)

    def key_down(self, combo: str) -> None:
        xrun(self.display, "xdotool", "keydown", combo)

    def key_up(self, combo: str) -> None:
        xrun(self.display, "xdotool", "keyup", combo)

    # --- pixels -----------------------------------------------------------------------------------------

    def screenshot(self, path: Path) -> Image.Image:
        """The whole screen, saved to `path`."""
        xrun(self.display, "import", "-window", "root", str(path), timeout=20)
        with Image.open(path) as image:
            return image.convert("RGB").copy()

    def icon_pixels(self, screen: Image.Image) -> Image.Image:
        x, y, width, height = self.geometry()
        return screen.crop((x, y, x + width, y + height))

    def tray_pixels(self, screen: Image.Image) -> Image.Image:
        """The tray strip around the icon (what a user sees in the panel)."""
        x, y, width, height = self.geometry()
        return screen.crop((max(0, x - 40), max(0, y - 4), min(screen.width, x + width + 40),
                            min(screen.height, y + height + 4)))

    # --- ending ---------------------------------------------------------------------------------------

    def quit(self, timeout: float = 10.0) -> float:
        """Ask the app to Quit (SIGTERM runs the same path as the menu item); return the seconds to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the tray app did not exit {timeout} s after Quit:\n{self.thread_stacks()}") \
                from None
        return time.monotonic() - started

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


def icon_windows(display: XDisplay) -> frozenset[str]:
    """The X windows of every tray app icon on the display now (pystray's X11 icon has our WM_CLASS class, GTK's
    StatusIcon our WM_CLASS name)."""
    found: set[str] = set()
    for field, pattern in (("--class", ICON_CLASS), ("--classname", f"^{ICON_CLASS}$")):
        result = subprocess.run(["xdotool", "search", field, pattern], env=display.env(), capture_output=True,
                                text=True)
        found.update(result.stdout.split())
    return frozenset(found)


def expected_icon(state: ClientState, width: int, height: int) -> Image.Image:
    """What pystray's X11 backend paints for `state` in a window of this size (RGB, black background)."""
    image = Image.new("RGB", (width, height))
    image.paste(load_state_icon(state).resize((width, height), Image.LANCZOS))
    return image


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel, 0..255."""
    import numpy as np

    return float(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b.resize(a.size), dtype=np.int16)).mean())


def start_tray(display: XDisplay, home: Path, *args: str, as_module: bool = False, backend: str | None = "xorg",
               extra_env: dict[str, str] | None = None) -> TrayProcess:
    """Start the tray app with a private config and log; `args` are tray_client CLI flags.

    `as_module` starts it exactly as a user does, `python -m tray_client` (it then logs to the user log
    directory under `home`), instead of through tray_main.py. `backend` pins pystray's backend; None lets the
    app choose as it does for a user (tray_linux)."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    config.touch()
    env = {
        **display.env(),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "PYTHONPATH": str(REPO_ROOT),
        "PYSTRAY_BACKEND": backend or "",
        **(extra_env or {}),
    }
    if not backend:
        env.pop("PYSTRAY_BACKEND")
    env.pop("PYTHONWARNINGS", None)
    before = icon_windows(display)
    env["XDG_DATA_HOME"] = str(home / "data")
    runner = ["-m", "tray_client"] if as_module else [str(RUNNER), str(home / "app.log")]
    command = [sys.executable, *runner, "--config-file", str(config), "--log-level", "INFO", *args]
    process = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                               stderr=open(home / "stderr.log", "wb"))  # noqa: SIM115 - closed by the OS at exit
    log_path = home / "state" / "qwen-dictation" / "log" / "tray_client.log" if as_module else None
    return TrayProcess(process=process, display=display, home=home, foreign_windows=before, env=env,
                       log_path=log_path)

