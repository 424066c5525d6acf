"""What the tray shows and offers: the tooltip text and the menu, built from an immutable `TrayView`.

Kept apart from app.py so it can be tested without a display: `tooltip()` is pure, and `build_menu()` only
creates pystray menu descriptions (pystray itself is imported lazily, because importing it connects to the
display). The menu reads the latest `TrayView` each time it is drawn and calls `TrayActions` methods, which
only post requests to the app's controller thread and return.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from tray_client.events import ClientState
from tray_client.ui.settings.autostart import LABEL as AUTOSTART_LABEL
from tray_client.ui.tray._fit import TOOLTIP_MAX, fit, shorten, utf16_units

__all__ = [
    "LANGUAGES",
    "MODE_LABELS",
    "OUTPUT_LABELS",
    "STATE_LABELS",
    "TOOLTIP_MAX",
    "TrayActions",
    "TrayView",
    "build_menu",
    "latency_label",
    "recent_items",
    "serialize_menu_updates",
    "shorten",
    "tooltip",
]


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
    recent: tuple[str, ...] = ()  # the newest transcripts first (the Recent submenu)
    today_p50_s: float | None = None  # today's median end-of-speech -> typed latency
    last_latency_s: float | None = None  # the last final's end-of-speech -> typed latency
    overlay: bool = True
    tray_left_click: str = "listen"  # what a left click on the icon runs: "listen" or "window" (the History page)


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
    def set_overlay(self, enabled: bool) -> None: ...
    def reconnect(self) -> None: ...
    def copy_last_transcript(self) -> None: ...
    def undo_last(self) -> None: ...
    def paste_last(self) -> None: ...
    def diagnostics(self) -> None: ...
    def settings(self) -> None: ...
    def history(self) -> None: ...
    def copy_text(self, text: str) -> None: ...
    def type_text(self, text: str) -> None: ...
    def open_config(self) -> None: ...
    def open_log(self) -> None: ...
    def start_server_wsl(self) -> None: ...
    def set_autostart(self, enabled: bool) -> None: ...
    def quit(self) -> None: ...


def tooltip(view: TrayView, limit: int = TOOLTIP_MAX) -> str:
    """`Dictation: <state>` with the detail, the server, and the last transcript shortened to fit `limit`
    UTF-16 units (what Windows counts; see _fit)."""
    state = STATE_LABELS[view.state]
    if view.detail:
        state = f"{state} ({shorten(view.detail, 48, keep='start')})"
    lines = [f"Dictation: {state}", f"Server: {_server_label(view.server)}"]
    if view.last_latency_s is not None:  # end of speech -> typed, for the last final
        lines.append(f"Latency: {latency_label(view.last_latency_s)}")
    head = "\n".join(lines)
    if view.last_text:
        room = limit - utf16_units(head) - utf16_units("\nLast: “”")
        if room >= 8:
            head += f"\nLast: “{shorten(view.last_text, room)}”"
    return fit(head, limit)


def latency_label(seconds: float) -> str:
    """End-of-speech -> typed time as the user reads it: "640 ms", "2.3 s"."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1.0 else f"{seconds:.1f} s"


RECENT_LABEL_CHARS = 48


def recent_items(view: TrayView) -> list[tuple[str, str]]:
    """(label, text) for each Recent entry, newest first; the label is one shortened line."""
    return [(shorten(text, RECENT_LABEL_CHARS, keep="start"), text) for text in view.recent]


def _server_label(server: str) -> str:
    parts = urlsplit(server)
    return parts.netloc or server or "?"


def build_menu(actions: TrayActions) -> Any:
    """The pystray menu. Its default item is what a left click runs (pystray asks each item whether it is the
    default at the click): Listening, or History… with tray_left_click = "window"."""
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

    def recent() -> Any:
        # pystray calls an action with (icon, item) only: no backend reports the modifier keys of the click
        # (win32: WM_COMMAND; X11 xorg: no menu at all; GTK: "activate" without the event), so Shift+click
        # cannot be told apart. Each entry is a submenu with both actions instead.
        current = view()
        p50 = "–" if current.today_p50_s is None else latency_label(current.today_p50_s)
        items: list[Any] = [MenuItem(f"Today: p50 {p50}", None, enabled=False)]
        for label, text in recent_items(current):
            items.append(MenuItem(label, entry_menu(text)))
        return items

    def entry_menu(text: str) -> Any:
        return Menu(MenuItem("Copy", lambda _icon, _item: actions.copy_text(text)),
                    MenuItem("Type again", lambda _icon, _item: actions.type_text(text)))

    return Menu(
        MenuItem("Listening", lambda _icon, _item: actions.toggle_listening(),
                 checked=lambda _item: view().listening,
                 default=lambda _item: view().tray_left_click != "window"),
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
        MenuItem("Live preview", lambda _icon, _item: actions.set_overlay(not view().overlay),
                 checked=lambda _item: view().overlay),
        Menu.SEPARATOR,
        MenuItem("Reconnect", lambda _icon, _item: actions.reconnect()),
        MenuItem("Copy last transcript", lambda _icon, _item: actions.copy_last_transcript(),
                 enabled=lambda _item: bool(view().last_text)),
        MenuItem("Paste last", lambda _icon, _item: actions.paste_last(),
                 enabled=lambda _item: bool(view().last_text)),
        MenuItem("Recent", Menu(lambda: iter(recent()))),
        MenuItem("Undo last dictation", lambda _icon, _item: actions.undo_last(),
                 enabled=lambda _item: bool(view().last_text)),
        MenuItem("Open config", lambda _icon, _item: actions.open_config()),
        MenuItem("Open log", lambda _icon, _item: actions.open_log()),
        MenuItem("Settings…", lambda _icon, _item: actions.settings()),
        MenuItem("History…", lambda _icon, _item: actions.history(),
                 default=lambda _item: view().tray_left_click == "window"),
        MenuItem("Diagnostics", lambda _icon, _item: actions.diagnostics()),
        MenuItem("Start server in WSL", lambda _icon, _item: actions.start_server_wsl(),
                 visible=sys.platform == "win32"),
        MenuItem(AUTOSTART_LABEL,
                 lambda _icon, _item: actions.set_autostart(not view().autostart),
                 checked=lambda _item: view().autostart),
        Menu.SEPARATOR,
        MenuItem("Quit", lambda _icon, _item: actions.quit()),
    )


def serialize_menu_updates(icon: Any) -> threading.RLock:
    """Let only one thread at a time rebuild the icon's native menu; return the lock (see below for its other use).

    pystray's left click runs the default item's action and then rebuilds the menu on the icon's thread; our
    action only posts an intent, so that rebuild still reads the old view, while the controller thread rebuilds
    with the new one. Without a lock the two builds interleave and the stale one can be stored last: the
    Listening check mark then stays wrong until the next change (seen in the Windows lane). With the lock the
    build that ends last also started last, after the view changed, so it reads the new view.

    Reentrant, because the win32 backend also holds it while its popup menu is open (tray_win32), and pystray
    rebuilds the menu on that same thread after the chosen item's action.
    """
    rebuild = icon._update_menu
    lock = threading.RLock()

    def update_menu_one_at_a_time() -> None:
        with lock:
            rebuild()

    icon._update_menu = update_menu_one_at_a_time
    return lock
