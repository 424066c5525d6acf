"""The Diagnostics report: what to attach to a bug report, in one short text file.

Versions (app, Python, OS, the libraries that matter), the server's health (GET /healthz: model, backend,
sessions, or why it could not be reached and how long that took), the microphone (the setting, the devices
PortAudio sees), the history and overlay state, and the last 20 end-of-speech -> typed latencies with their
parts. `report_text` is pure; `gather` does the I/O and runs on a short-lived thread, never on the tray's.
`DiagnosticsItem` is the tray's menu item: it starts that thread and opens the file it wrote.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tray_client.config import ClientConfig, log_path
from tray_client.events import Notice
from tray_client.history.store import HistoryEntry
from tray_client.ui.tray import intents

__all__ = ["DiagnosticsInput", "DiagnosticsItem", "check_health", "gather", "health_summary", "health_url", "report_text", "versions",
           "write_report"]

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 3.0
LIBRARIES = ("qwen-dictation", "websockets", "pystray", "pynput", "pyaudio", "silero-vad", "torch", "onnxruntime",
             "numpy", "httpx", "opencc")


@dataclass(frozen=True)
class DiagnosticsInput:
    """Everything the report shows, gathered beforehand (so the text itself is a pure function)."""

    server: str
    health: dict[str, Any] | None
    health_error: str
    health_ms: float
    input_device: str
    devices: tuple[str, ...]
    versions: dict[str, str]
    entries: tuple[HistoryEntry, ...]
    notes: tuple[str, ...] = ()  # history or overlay problems, and the like
    now: float = 0.0


def health_url(server: str) -> str:
    """ws://host:port/path -> http://host:port/healthz (wss -> https)."""
    parts = urlsplit(server)
    scheme = "https" if parts.scheme == "wss" else "http"
    return urlunsplit((scheme, parts.netloc, "/healthz", "", ""))


def report_text(data: DiagnosticsInput) -> str:
    """The report as plain text (UTF-8)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(data.now or time.time()))
    lines = [f"Qwen Dictation diagnostics, {stamp}", "", "Versions"]
    lines += [f"  {name}: {version}" for name, version in data.versions.items()]
    lines += ["", "Server", f"  url: {data.server}"]
    if data.health is not None:
        fields = ", ".join(f"{key}={data.health[key]}" for key in ("status", "model", "backend", "sessions")
                           if key in data.health)
        lines.append(f"  /healthz in {data.health_ms:.0f} ms: {fields}")
    else:
        lines.append(f"  /healthz failed after {data.health_ms:.0f} ms: {data.health_error}")
    lines += ["", "Microphone", f"  setting: {data.input_device or 'system default'}"]
    lines += [f"  device: {name}" for name in data.devices] or ["  no input device found (PyAudio sees none)"]
    latencies = [e for e in data.entries if e.latency_s is not None]
    lines += ["", f"Last {len(data.entries)} finals: end of speech -> typed, in ms (silence + server + typing)"]
    for entry in data.entries:
        when = time.strftime("%H:%M:%S", time.localtime(entry.time))
        if entry.latency_s is None:
            parts = "   -  (not real time)"
        else:
            parts = (f"{entry.latency_s * 1000:6.0f}  ({_ms(entry.silence_s)} + {_ms(entry.server_s)} + "
                     f"{_ms(entry.typing_s)})")
        lines.append(f"  {when}  {parts}  {entry.output:<9} {entry.target_app or '?':<14} "
                     f"{len(entry.text)} chars, {entry.audio_s:.1f} s audio")
    if latencies:
        values = sorted(e.latency_s for e in latencies if e.latency_s is not None)
        lines.append(f"  p50 {statistics.median(values) * 1000:.0f} ms, worst {values[-1] * 1000:.0f} ms")
    if data.notes:
        lines += ["", "Notes"] + [f"  {note}" for note in data.notes]
    return "\n".join(lines) + "\n"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def versions() -> dict[str, str]:
    found = {"python": sys.version.split()[0], "os": f"{platform.system()} {platform.release()} "
             f"({platform.machine()})"}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def health_summary(server: str, token: str | None) -> dict[str, object]:
    """The web app's server health: whether /healthz answered, in how many ms, its JSON or the error."""
    health, error, elapsed = check_health(server, token)
    return {"ok": health is not None, "ms": round(elapsed), "error": error, "health": health or {}}


def check_health(server: str, token: str | None) -> tuple[dict[str, Any] | None, str, float]:
    """(the /healthz JSON or None, the error in words, milliseconds taken)."""
    import httpx

    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(health_url(server), headers=headers, timeout=HEALTH_TIMEOUT_S)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            return None, f"HTTP {response.status_code}: {response.text[:200]}", elapsed
        return response.json(), "", elapsed
    except (httpx.HTTPError, json.JSONDecodeError, ValueError) as error:
        return None, f"{type(error).__name__}: {error}", (time.perf_counter() - started) * 1000


def gather(config: ClientConfig, entries: tuple[HistoryEntry, ...], notes: tuple[str, ...] = ()) -> DiagnosticsInput:
    """Collect the report's facts (network and PortAudio: call it off the UI threads)."""
    from tray_client.capture.audio_source import list_input_devices

    health, error, elapsed = check_health(config.server, config.token)
    try:
        devices = tuple(list_input_devices())
    except Exception as failure:  # PortAudio can fail while a device is being plugged in
        devices, notes = (), (*notes, f"listing microphones failed: {failure}")
    return DiagnosticsInput(server=config.server, health=health, health_error=error, health_ms=elapsed,
                            input_device=str(config.input_device or ""), devices=devices, versions=versions(),
                            entries=entries, notes=notes, now=time.time())


def write_report(folder: Path, data: DiagnosticsInput) -> Path:
    """Write the report as diagnostics-<time>.txt in `folder`; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / time.strftime("diagnostics-%Y%m%d-%H%M%S.txt", time.localtime(data.now or time.time()))
    path.write_text(report_text(data), encoding="utf-8")
    return path


class DiagnosticsItem:
    """The tray's Diagnostics item (tray-controller thread): gathers and writes the report aside, then opens it."""

    def __init__(self, config: Callable[[], ClientConfig], facts: Callable[[], tuple[tuple[HistoryEntry, ...],
                 tuple[str, ...]]], post: intents.Post, notify: Callable[[str], object],
                 open_path: Callable[[Path], None]) -> None:
        self._config = config  # the settings in effect (the pipeline's)
        self._facts = facts  # the newest history rows, and notes on the parts that failed
        self._post = post
        self._notify = notify
        self._open = open_path

    def handlers(self) -> dict[type, intents.Handler]:
        return {
            intents.ShowDiagnostics: lambda _i: self.start(),
            intents.DiagnosticsWritten: self._on_written,
        }

    def start(self) -> None:
        """Gather and write the report on a short-lived thread (it waits on the network and PortAudio)."""
        config = self._config()
        entries, notes = self._facts()

        def work() -> None:
            try:
                path = write_report(log_path().parent, gather(config, entries, notes))
            except Exception as error:
                log.exception("diagnostics failed")
                self._post(Notice("error", f"Diagnostics could not be written: {error}"))
                return
            self._post(intents.DiagnosticsWritten(path))

        threading.Thread(target=work, name="diagnostics", daemon=True).start()

    def _on_written(self, intent: intents.DiagnosticsWritten) -> None:
        self._notify(f"Diagnostics written to {intent.path}")
        self._open(intent.path)
