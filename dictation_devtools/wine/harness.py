"""The Linux side of the Windows lane: a Wine prefix, the Windows Python, and the processes the tests drive.

- `WineLane`: the cached prefix + embeddable CPython built by setup_wine.sh, a persistent wineserver for the
  session, and `start()` / `run()` for Windows Python processes whose sys.path has the repo (through a .pth:
  the embeddable Python's ._pth file makes it ignore PYTHONPATH).
- `Agent`: dictation_devtools/wine/win_agent.py in its own Windows process, the "other program" on the desktop.
- `TrayProcess`: `python.exe -m tray_client` with the lane's stand-ins (wine_stand_ins.py) and its tray tap.
- Keys the *user* presses go through the X server (xdotool on Xvfb): Wine's X11 driver turns them into hardware
  input, so the low-level hook sees them without LLKHF_INJECTED, as a physical keyboard. Keys from the agent go
  through SendInput and arrive injected, as any other program's keys do on Windows.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SETUP_SCRIPT = Path(__file__).with_name("setup_wine.sh")
WINE_SITE = Path(__file__).with_name("wine_site")


class WineUnavailable(RuntimeError):
    """Wine is missing or the lane's Windows Python could not be built; the message says why."""


def win_path(path: Path | str) -> str:
    """A Linux path as the Windows processes see it (Wine maps / to Z:)."""
    return "Z:" + str(Path(path).resolve()).replace("/", "\\")


def poll(predicate: Callable[[], Any], timeout: float, interval: float = 0.05, what: str = "condition") -> Any:
    """Call `predicate` until it returns something truthy; raise TimeoutError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached within {timeout} s (last value {value!r})")
        time.sleep(interval)


@dataclass
class WineLane:
    """A ready Wine prefix with the Windows Python; one per test session."""

    cache: Path
    display: str
    _server: subprocess.Popen[bytes] | None = None

    @property
    def prefix(self) -> Path:
        return self.cache / "prefix"

    @property
    def python_dir(self) -> Path:
        return self.cache / "python"

    def env(self, **extra: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("WINE_LANE_")}
        env.update(WINEPREFIX=str(self.prefix), WINEDEBUG="-all", WINEDLLOVERRIDES="mscoree,mshtml=",
                   DISPLAY=self.display, PYTHONUTF8="1", PYTHONIOENCODING="utf-8")
        env.update(extra)
        return env

    @classmethod
    def build(cls, cache: Path, display: str, python: str) -> WineLane:
        """Run setup_wine.sh (fast when cached), point the Windows Python at the repo, start a wineserver."""
        result = subprocess.run(["bash", str(SETUP_SCRIPT), str(cache)], env={**os.environ, "PYTHON": python},
                                capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise WineUnavailable(f"setup_wine.sh failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        lane = cls(cache=cache, display=display)
        site = lane.python_dir / "Lib" / "site-packages"
        (site / "wine_lane_repo.pth").write_text(f"{win_path(REPO_ROOT)}\n{win_path(WINE_SITE)}\n")
        # A persistent wineserver for the session: every Windows process after this starts in ~0.1 s.
        lane._server = subprocess.Popen(["wineserver", "-f", "-p"], env=lane.env(),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return lane

    def start(self, args: list[str], *, windowless: bool = False, env: dict[str, str] | None = None,
              stdin: Any = subprocess.DEVNULL, stdout: Any = None, stderr: Any = None) -> subprocess.Popen[Any]:
        """A Windows Python process (`pythonw.exe` when `windowless`: no console, no std streams)."""
        exe = self.python_dir / ("pythonw.exe" if windowless else "python.exe")
        return subprocess.Popen(["wine", str(exe), *args], cwd=REPO_ROOT, env=self.env(**(env or {})),
                                stdin=stdin, stdout=stdout, stderr=stderr)

    def run(self, code: str, timeout: float = 60.0) -> str:
        """Run a Python snippet in the Windows Python; return its stdout, raise with its stderr on failure."""
        process = self.start(["-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = process.communicate(timeout=timeout)
        if process.returncode != 0:
            raise RuntimeError(f"Windows Python exited {process.returncode}: {err.decode('utf-8', 'replace')}")
        return out.decode("utf-8")

    def user_profile(self) -> Path:
        """C:\\users\\<name> of this prefix, as a Linux path."""
        users = self.prefix / "drive_c" / "users"
        return next(path for path in users.iterdir() if path.name not in ("Public",) and path.is_dir())

    def close(self) -> None:
        subprocess.run(["wineserver", "-k"], env=self.env(), capture_output=True, timeout=30)
        if self._server is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._server.wait(timeout=10)
            if self._server.poll() is None:
                self._server.kill()


class Agent:
    """The lane's "other program" (win_agent.py) in its own Windows process; `call` is one request/answer."""

    def __init__(self, lane: WineLane) -> None:
        # A pipe, not a file: Wine's Python cannot set up its standard streams on a redirected file handle here.
        self._process = lane.start([str(Path(__file__).with_name("win_agent.py"))], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)  # why it died, if it does
        threading.Thread(target=self._keep_stderr, name="agent-stderr", daemon=True).start()
        self._read()

    def _keep_stderr(self) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr.append(line.decode("utf-8", "replace"))

    def _read(self) -> Any:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=5)
            raise RuntimeError(f"the Windows agent ended (exit {self._process.poll()}); its stderr ends:\n"
                               + "".join(self._stderr))
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"agent: {answer['error']}")
        return answer["ok"]

    def call(self, function: str, **args: Any) -> Any:
        assert self._process.stdin is not None
        self._process.stdin.write((json.dumps({"call": function, "args": args}) + "\n").encode())
        self._process.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()


def copy_to_file(process: subprocess.Popen[bytes], path: Path) -> threading.Thread:
    """Copy a Windows process's output pipe to `path` (Wine's Python cannot start with a regular file as its
    stdout: "init_sys_streams: Invalid handle"; pipes work)."""

    def copy() -> None:
        assert process.stdout is not None
        with path.open("ab") as sink:
            for chunk in iter(lambda: process.stdout.read1(65536), b""):  # type: ignore[union-attr]
                sink.write(chunk)
                sink.flush()

    thread = threading.Thread(target=copy, name=f"copy-{path.name}", daemon=True)
    thread.start()
    return thread


def xdotool(display: str, *args: str) -> None:
    """Keys and clicks from the user's own keyboard and mouse (X server input: not injected for Windows)."""
    subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display}, check=True, timeout=30)


def _trace() -> dict[str, str]:
    """WINE_LANE_TRACE=SECONDS: the app under test dumps every thread's stack after that long (debugging)."""
    seconds = os.environ.get("WINE_LANE_TRACE")
    return {"WINE_LANE_TRACE": seconds} if seconds else {}


def focus_notepad(display: str) -> None:
    """The user clicks into Notepad's text: X focus, which Wine turns into its foreground window and focus."""
    env = {**os.environ, "DISPLAY": display}
    found = poll(lambda: subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "Notepad"], env=env,
                                        capture_output=True, text=True).stdout.split(), 20, what="Notepad on X")
    window = found[0]
    xdotool(display, "mousemove", "--window", window, "60", "60", "click", "1")
    xdotool(display, "windowfocus", "--sync", window)


@dataclass
class TrayProcess:
    """The tray app started as a user starts it (`python -m tray_client`), with the lane's stand-ins."""

    lane: WineLane
    control: Path
    config_file: Path
    process: subprocess.Popen[bytes]
    output: Path
    _read_entries: int = field(default=0)

    @classmethod
    def start(cls, lane: WineLane, workdir: Path, settings: dict[str, Any] | str, *, windowless: bool = False,
              extra_args: list[str] | None = None) -> TrayProcess:
        """`settings`: the config file's keys, or its whole text (to start with a broken file)."""
        control = workdir / "control"
        control.mkdir(parents=True, exist_ok=True)
        config_file = workdir / "config.toml"
        text = settings if isinstance(settings, str) else "".join(
            f"{key} = {json.dumps(value)}\n" for key, value in settings.items())
        config_file.write_text(text, encoding="utf-8")
        output = workdir / "tray-output.txt"
        process = lane.start(["-m", "tray_client", "--config", win_path(config_file), *(extra_args or [])],
                             windowless=windowless, env={"WINE_LANE_CONTROL": win_path(control), **_trace()},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        copy_to_file(process, output)
        return cls(lane=lane, control=control, config_file=config_file, process=process, output=output)

    def entries(self) -> list[dict[str, Any]]:
        """Everything the tray tap recorded so far (Shell_NotifyIcon calls and shown menus)."""
        path = self.control / "tray.jsonl"
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def tips(self) -> list[str]:
        return [entry["tip"] for entry in self.entries() if "tip" in entry and entry["ok"]]

    def notifications(self) -> list[str]:
        return [entry["info"] for entry in self.entries() if entry.get("info") and entry["ok"]]

    def icons(self) -> list[dict[str, Any] | None]:
        """The pixels of each icon Windows accepted ({"size": [w, h], "rgba": hex}), in order."""
        return [entry["icon"] for entry in self.entries() if "icon" in entry and entry["ok"]]

    def menus(self) -> list[list[dict[str, Any]]]:
        return [entry["items"] for entry in self.entries() if entry["kind"] == "menu"]

    def menus_closed(self) -> int:
        return sum(entry["kind"] == "menu_closed" for entry in self.entries())

    def wait_connected(self, timeout: float = 60.0) -> None:
        """Until the app's link has connected to the server once."""
        poll(lambda: "connected to ws://" in self.text_output(), timeout, what="the connection to the server")

    def say(self, name: str, pcm: bytes) -> None:
        """The user speaks: the stand-in microphone plays `pcm` (16 kHz int16) once."""
        temporary = self.control / f"{name}.tmp"
        temporary.write_bytes(pcm)
        temporary.rename(self.control / f"say-{time.monotonic_ns()}-{name}.pcm")

    def wait_spoken(self, timeout: float = 20.0) -> None:
        """Until the stand-in microphone has played every phrase given to `say`."""
        poll(lambda: not [*self.control.glob("say-*.pcm"), *self.control.glob("say-*.playing")], timeout,
             what="the microphone to play every phrase")

    def wait_hotkeys(self, timeout: float = 60.0) -> None:
        """Until the app has registered its hotkeys (it logs that line once its keyboard hook runs)."""
        output = poll(lambda: (lambda text: text if "hotkeys registered" in text or "Hotkeys are off" in text
                                else "")(self.text_output()), timeout, what="the hotkeys to be registered")
        assert "Hotkeys are off" not in output, output

    def text_output(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace") if self.output.exists() else ""

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode
