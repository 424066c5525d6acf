"""What the tray shows and offers: the tooltip text and the menu, built from an immutable `TrayView`.

Kept apart from app.py so it can be tested without a display: `tooltip()` is pure, and `build_menu()` only
creates pystray menu descriptions (pystray itself is imported lazily, because importing it connects to the
display). The menu reads the latest `TrayView` each time it is drawn and calls `TrayActions` methods, which
only post requests to the app's controller thread and return.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from tray_client.events import ClientState

__all__ = [
    "LANGUAGES",
    "MODE_LABELS",
    "OUTPUT_LABELS",
    "STATE_LABELS",
    "TOOLTIP_MAX",
    "TrayActions",
    "TrayView",
    "build_menu",
    "shorten",
    "tooltip",
]

TOOLTIP_MAX = 127
"""Windows keeps 128 UTF-16 units of a tray tooltip, including the terminator; longer text is cut or refused."""

STATE_LABELS = {
    ClientState.OFF: "off",
    ClientState.LISTENING: "listening",
    ClientState.SPEECH: "hearing speech",
    ClientState.TRANSCRIBING: "transcribing",
    ClientState.DISCONNECTED: "disconnected",
    ClientState.ERROR: "error",
}
MODE_LABELS = {"vad": "Voice activity (VAD)", "ptt": "Push-to-talk (hold key)", "toggle": "Toggle (press, press)"}
OUTPUT_LABELS = {"type": "Type keystrokes", "clipboard": "Paste from clipboard"}
LANGUAGES: tuple[str | None, ...] = (
    None, "Chinese", "English", "Cantonese", "Japanese", "Korean", "French", "German", "Spanish", "Portuguese",
    "Italian", "Russian", "Arabic", "Hindi", "Indonesian", "Thai", "Vietnamese", "Turkish", "Dutch", "Polish",
)
"""Auto-detect first, then the most used of Qwen3-ASR's 30 languages; a config file may name any of them."""


@dataclass(frozen=True)
class TrayView:
    """A snapshot of everything the icon, tooltip and menu show. The controller thread replaces it whole."""

    state: ClientState = ClientState.OFF
    detail: str = ""
    server: str = ""
    last_text: str = ""
    listening: bool = False
    mode: str = "vad"
    output: str = "type"
    language: str | None = None
    input_device: str | int | None = None
    devices: tuple[str, ...] = ()
    autostart: bool = False
    sounds: bool = True
    extra: dict[str, str] = field(default_factory=dict)


class TrayActions(Protocol):
    """What the menu can ask for. Every method returns at once; the work happens on the controller thread."""

    def view(self) -> TrayView: ...
    def toggle_listening(self) -> None: ...
    def set_mode(self, mode: str) -> None: ...
    def set_output(self, output: str) -> None: ...
    def set_language(self, language: str | None) -> None: ...
    def set_input_device(self, device: str | None) -> None: ...
    def refresh_devices(self) -> None: ...
    def set_sounds(self, enabled: bool) -> None: ...
    def reconnect(self) -> None: ...
    def copy_last_transcript(self) -> None: ...
    def open_config(self) -> None: ...
    def open_log(self) -> None: ...
    def start_server_wsl(self) -> None: ...
    def set_autostart(self, enabled: bool) -> None: ...
    def quit(self) -> None: ...


def shorten(text: str, limit: int, *, keep: str = "end") -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis.

    `keep="end"` keeps the newest words (a transcript); `keep="start"` keeps the beginning (an error, whose
    first words say what went wrong)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    if limit <= 1:
        return flat[:limit]
    return flat[: limit - 1] + "…" if keep == "start" else "…" + flat[-(limit - 1):]


def tooltip(view: TrayView, limit: int = TOOLTIP_MAX) -> str:
    """`Dictation: <state>` with the detail, the server, and the last transcript shortened to fit `limit`."""
    state = STATE_LABELS[view.state]
    if view.detail:
        state = f"{state} ({shorten(view.detail, 48, keep='start')})"
    lines = [f"Dictation: {state}", f"Server: {_server_label(view.server)}"]
    head = "\n".join(lines)
    if view.last_text:
        room = limit - len(head) - len("\nLast: “”")
        if room >= 8:
            head += f"\nLast: “{shorten(view.last_text, room)}”"
    return head[:limit]


def _server_label(server: str) -> str:
    parts = urlsplit(server)
    return parts.netloc or server or "?"


def build_menu(actions: TrayActions) -> Any:
    """The pystray menu: Listening is the default item, so a left click toggles it."""
    from pystray import Menu, MenuItem

    def view() -> TrayView:
        return actions.view()

    def radio(label: str, is_on: Callable[[TrayView], bool], action: Callable[[], None]) -> Any:
        return MenuItem(label, lambda _icon, _item: action(), checked=lambda _item: is_on(view()), radio=True)

    def microphones() -> Any:
        current = view()
        items = [radio("System default", lambda v: v.input_device in (None, ""),
                       lambda: actions.set_input_device(None))]
        for name in current.devices:
            items.append(radio(name, lambda v, n=name: v.input_device == n,
                               lambda n=name: actions.set_input_device(n)))
        items.append(Menu.SEPARATOR)
        items.append(MenuItem("Refresh list", lambda _icon, _item: actions.refresh_devices()))
        return items

    return Menu(
        MenuItem("Listening", lambda _icon, _item: actions.toggle_listening(),
                 checked=lambda _item: view().listening, default=True),
        Menu.SEPARATOR,
        MenuItem("Mode", Menu(*[
            radio(label, lambda v, m=mode: v.mode == m, lambda m=mode: actions.set_mode(m))
            for mode, label in MODE_LABELS.items()
        ])),
        MenuItem("Output", Menu(*[
            radio(label, lambda v, o=output: v.output == o, lambda o=output: actions.set_output(o))
            for output, label in OUTPUT_LABELS.items()
        ])),
        MenuItem("Language", Menu(*[
            radio(language or "Auto-detect", lambda v, lang=language: v.language == lang,
                  lambda lang=language: actions.set_language(lang))
            for language in LANGUAGES
        ])),
        MenuItem("Microphone", Menu(lambda: iter(microphones()))),
        MenuItem("Sounds", lambda _icon, _item: actions.set_sounds(not view().sounds),
                 checked=lambda _item: view().sounds),
        Menu.SEPARATOR,
        MenuItem("Reconnect", lambda _icon, _item: actions.reconnect()),
        MenuItem("Copy last transcript", lambda _icon, _item: actions.copy_last_transcript(),
                 enabled=lambda _item: bool(view().last_text)),
        MenuItem("Open config", lambda _icon, _item: actions.open_config()),
        MenuItem("Open log", lambda _icon, _item: actions.open_log()),
        MenuItem("Start server in WSL", lambda _icon, _item: actions.start_server_wsl(),
                 visible=sys.platform == "win32"),
        MenuItem("Start with Windows" if sys.platform == "win32" else "Start with session",
                 lambda _icon, _item: actions.set_autostart(not view().autostart),
                 checked=lambda _item: view().autostart),
        Menu.SEPARATOR,
        MenuItem("Quit", lambda _icon, _item: actions.quit()),
    )
