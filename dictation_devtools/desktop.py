"""A virtual desktop for tests: Xvfb, trayer as the system tray, and a Tk window that records typed text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from dictation_devtools.polling import wait_for

TK_APP = Path(__file__).with_name("tk_target_app.py")
SETTLE_MARKER = "#$"  # typed by the test itself, never by the app under test


class DesktopUnavailable(RuntimeError):
    """Xvfb, trayer or xdotool is missing (`apt-get install xvfb trayer xdotool x11-utils`)."""


def missing_desktop_tools() -> list[str]:
    return [tool for tool in ("Xvfb", "trayer", "xdotool", "xwininfo") if shutil.which(tool) is None]


@dataclass
class XDisplay:
    """A running Xvfb with trayer docked as the system tray."""

    name: str
    xvfb: subprocess.Popen
    tray: subprocess.Popen

    def env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": self.name}

    def close(self) -> None:
        for process in (self.tray, self.xvfb):
            process.terminate()
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.kill()


def _free_display_number() -> int:
    for number in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise DesktopUnavailable("no free X display number between :90 and :199")


def start_display() -> XDisplay:
    """Start Xvfb and trayer; raise DesktopUnavailable when the tools are missing."""
    missing = missing_desktop_tools()
    if missing:
        raise DesktopUnavailable(f"missing {', '.join(missing)}: apt-get install xvfb trayer xdotool x11-utils")
    number = _free_display_number()
    name = f":{number}"
    xvfb = subprocess.Popen(
        ["Xvfb", name, "-screen", "0", "1280x800x24", "-nolisten", "tcp", "+extension", "RECORD"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {**os.environ, "DISPLAY": name}
    if not wait_for(lambda: subprocess.run(["xdpyinfo"], env=env, capture_output=True).returncode == 0
                    if shutil.which("xdpyinfo") else Path(f"/tmp/.X11-unix/X{number}").exists(), 10):
        xvfb.kill()
        raise DesktopUnavailable(f"Xvfb did not start on {name}")
    tray = subprocess.Popen(
        ["trayer", "--edge", "top", "--align", "right", "--widthtype", "pixel", "--width", "200",
         "--heighttype", "pixel", "--height", "24", "--transparent", "false", "--tint", "0x808080",
         "--SetDockType", "true", "--expand", "true"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if not wait_for(lambda: _tray_owner(env), 10):
        tray.kill()
        xvfb.kill()
        raise DesktopUnavailable("trayer did not take the system-tray selection")
    return XDisplay(name=name, xvfb=xvfb, tray=tray)


def _tray_owner(env: dict[str, str]) -> bool:
    """True once some window owns the _NET_SYSTEM_TRAY_S0 selection (trayer is ready to dock icons)."""
    code = (
        "from Xlib import display\n"
        "d = display.Display()\n"
        "atom = d.intern_atom('_NET_SYSTEM_TRAY_S0')\n"
        "print(d.get_selection_owner(atom))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return result.returncode == 0 and result.stdout.strip() not in ("", "0")


@dataclass
class TkTarget:
    """The Tk text window that receives typed text, running in its own process."""

    process: subprocess.Popen
    state_dir: Path
    title: str
    window_id: str
    env: dict[str, str]

    def text(self) -> str:
        path = self.state_dir / "text"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def wait_for_text(self, expected: str, timeout: float = 10.0) -> str:
        """Wait until the window holds exactly `expected`; return what it holds at the end."""
        wait_for(lambda: self.text() == expected, timeout)
        return self.text()

    def settled_text(self, timeout: float = 10.0) -> str:
        """The text once everything already typed at the window has arrived: a marker typed now is queued after
        it, so when the marker shows, nothing sent before can still come (a negative check without a sleep)."""
        self.focus()
        subprocess.run(["xdotool", "type", "--", SETTLE_MARKER], env=self.env, check=True, timeout=30)
        wait_for(lambda: self.text().endswith(SETTLE_MARKER), timeout)
        text = self.text()
        if not text.endswith(SETTLE_MARKER):
            raise TimeoutError(f"the marker typed into the Tk window did not arrive in {timeout} s: {text!r}")
        return text[: -len(SETTLE_MARKER)]

    def clear(self) -> None:
        (self.state_dir / "clear").write_text("1")
        wait_for(lambda: not (self.state_dir / "clear").exists() and self.text() == "", 5)

    def focus(self) -> None:
        subprocess.run(["xdotool", "windowfocus", "--sync", self.window_id], env=self.env, check=True,
                       timeout=10)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_tk_target(display: XDisplay, state_dir: Path, wm_class: str | None = None) -> TkTarget:
    """Open the Tk window on `display` (with this WM_CLASS class, if given), focus it and return it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    title = f"dictation-target-{uuid.uuid4().hex[:8]}"
    env = display.env()
    process = subprocess.Popen([sys.executable, str(TK_APP), str(state_dir), title, *([wm_class] if wm_class else [])],
                               env=env)
    if not wait_for(lambda: (state_dir / "ready").exists(), 15):
        process.kill()
        raise DesktopUnavailable("the Tk target window did not start")
    found = subprocess.run(["xdotool", "search", "--sync", "--name", title], env=env, capture_output=True,
                           text=True, timeout=15)
    window_id = found.stdout.split()[0]
    target = TkTarget(process=process, state_dir=state_dir, title=title, window_id=window_id, env=env)
    target.focus()
    return target
