"""The settings window (Tk), opened from the tray: edit, check and save the common settings.

Thread: `open_settings` runs the window on a thread of its own ("settings") with its own Tk interpreter (the
tray's main thread belongs to pystray); one window at a time. The overlay runs another interpreter on its own
thread, so every Tk variable and widget here names its master (see SettingsWindow). The window only calls back: `on_save` (written
file, changes) and `test_connection` / `level` run on helper threads and report through a queue polled by Tk.

Fields: server URL and token (Test connection shows the server's model and the time /healthz took), microphone
(with a live level meter), mode, the three hotkeys (Record, then press the keys; two on the same keys are a
conflict), language, output, VAD sensitivity and silence, overlay, sounds, history retention, Chinese script, voice
commands, replacements (one `words = replacement` per line; saved as the [replacements] table), start with
Windows ("Start at login" elsewhere), on four tabs. Save checks every field with the config loader's rules (settings_model.check): an error is shown beside
its field and nothing is written; otherwise config.toml is updated keeping the user's comments.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tray_client.config import ClientConfig, config_path
from tray_client.ui.autostart import LABEL as AUTOSTART_LABEL
from tray_client.ui.settings_form import WRAP_PX, Form
from tray_client.ui.settings_model import FIELDS, CheckResult, check, update_toml_text
from tray_client.ui.tk_support import require_tk

__all__ = ["SettingsHooks", "SettingsWindow", "open_settings", "opened", "save_settings"]

log = logging.getLogger(__name__)

POLL_MS = 50
METER_WIDTH = 220
DEFAULT_DEVICE = "System default"
MODES = {"vad": "Voice activity (VAD)", "ptt": "Push-to-talk (hold key)", "toggle": "Toggle (press, press)"}
OUTPUTS = {"type": "Type keystrokes", "clipboard": "Paste from clipboard"}
_MODIFIER_KEYSYMS = {"Control_L": "ctrl", "Control_R": "ctrl", "Alt_L": "alt", "Alt_R": "alt", "Meta_L": "alt",
                     "Meta_R": "alt", "Shift_L": "shift", "Shift_R": "shift", "Super_L": "cmd", "Super_R": "cmd"}
_NAMED_KEYSYMS = {"space": "space", "Return": "enter", "Tab": "tab", "Escape": "esc", "Home": "home", "End": "end",
                  "Insert": "insert", "Delete": "delete", "Prior": "page_up", "Next": "page_down", "Up": "up",
                  "Down": "down", "Left": "left", "Right": "right", "Pause": "pause", "Print": "print_screen",
                  "Scroll_Lock": "scroll_lock", "Menu": "menu", "BackSpace": "backspace"}
_MODIFIER_ORDER = ("ctrl", "alt", "shift", "cmd")


@dataclass(frozen=True)
class SettingsHooks:
    """What the window needs from the app (called on the settings thread or a helper thread)."""

    on_save: Callable[[Path, dict[str, Any]], None]  # the file written and the changed settings
    test_connection: Callable[[str, str | None], str]  # server, token -> a line to show
    devices: Callable[[], list[str]]
    level: Callable[[str | None], Any] | None = None  # device -> a meter with read() -> 0..1, error, close()
    autostart: bool = False
    on_autostart: Callable[[bool], None] | None = None


def _use_native_theme(style: Any) -> None:
    """ttk's native look where Tk has one (vista on Windows, aqua on macOS); clam elsewhere, not Tk's 1990s
    "default"."""
    themes = set(style.theme_names())
    for theme in ("vista", "aqua", "clam"):
        if theme in themes:
            style.theme_use(theme)
            return


def hotkey_spec(modifiers: set[str], keysym: str) -> str | None:
    """Tk's key event as pynput hotkey text ("<ctrl>+<alt>+d"), or None for a key no hotkey can use."""
    if keysym in _NAMED_KEYSYMS:
        key = f"<{_NAMED_KEYSYMS[keysym]}>"
    elif keysym.startswith("F") and keysym[1:].isdigit():
        key = f"<{keysym.lower()}>"
    elif len(keysym) == 1 and keysym.isprintable():
        key = keysym.lower()
    else:
        return None
    return "+".join([f"<{m}>" for m in _MODIFIER_ORDER if m in modifiers] + [key])


def save_settings(config: ClientConfig, changes: dict[str, Any]) -> Path:
    """Write `changes` into the config file (comments and other keys kept), atomically; return its path."""
    path = Path(config.config_file) if config.config_file else config_path()
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(update_toml_text(old, changes), encoding="utf-8")
    temporary.replace(path)
    return path


class SettingsWindow:
    """The form on a Tk toplevel; build it on the thread that owns that Tk interpreter.

    Its fields (settings_form.Form: each variable names this root as its master) sit on tabs, so the window fits
    1280x720 at 100 % and 1366x768 at 125 % (it was 1258x937 px as one column). `form` reads and changes the
    fields through their widgets, as the user does."""

    def __init__(self, root: Any, config: ClientConfig, hooks: SettingsHooks) -> None:
        import tkinter as tk
        from tkinter import ttk

        self._tk, self._root, self._config, self._hooks = tk, root, config, hooks
        self._inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._recording: str | None = None
        self._held: set[str] = set()
        self._meter: Any = None
        self.saved: Path | None = None
        self._closed = False
        root.title("Dictation settings")
        _use_native_theme(ttk.Style(root))
        root.columnconfigure(0, weight=1)
        root.rowconfigure(0, weight=1)
        outer = ttk.Frame(root, padding=10)
        outer.grid(sticky="nsew")
        outer.columnconfigure(0, weight=1)
        outer.rowconfigure(0, weight=1)
        tabs = ttk.Notebook(outer)
        tabs.grid(row=0, column=0, sticky="nsew")
        self.form = form = Form(root, tabs)
        self._vars, self._errors = form.vars, form.errors
        form.page("Connection")
        devices = [DEFAULT_DEVICE, *hooks.devices()]
        current_device = str(config.input_device) if config.input_device not in (None, "") else DEFAULT_DEVICE
        form.entry("server", "Server URL", config.server)
        form.entry("token", "Token", config.token or "", show="•")
        self._connection = form.button_row("Test connection", self._test_connection)
        form.choice("input_device", "Microphone", current_device, devices)
        self._level = tk.Canvas(form.page_frame, width=METER_WIDTH, height=10, bg="#303030", highlightthickness=0)
        self._level.grid(row=form.row, column=1, sticky="w", pady=(0, 6))
        self._level_text = ttk.Label(form.page_frame, text="", wraplength=WRAP_PX)
        self._level_text.grid(row=form.row + 1, column=1, columnspan=2, sticky="w")
        form.row += 2
        form.page("Dictation")
        form.choice("mode", "Mode", MODES[config.mode], list(MODES.values()))
        for name, label in (("hotkey_push_to_talk", "Push-to-talk hotkey"), ("hotkey_toggle", "Toggle hotkey"),
                            ("hotkey_undo", "Undo hotkey")):
            form.entry(name, label, getattr(config, name), record=self.record)
        from tray_client.ui.tray import LANGUAGES

        form.choice("language", "Language", config.language or "Auto-detect",
                    [language or "Auto-detect" for language in LANGUAGES])
        form.choice("output", "Output", OUTPUTS.get(config.output, OUTPUTS["type"]), list(OUTPUTS.values()))
        form.entry("vad_threshold", "VAD sensitivity (0-1, lower hears more)", f"{config.vad_threshold:g}")
        form.entry("min_silence_ms", "Silence that ends a sentence (ms)", str(config.min_silence_ms))
        form.page("Text")
        from tray_client.text.chinese_script import SCRIPTS
        from tray_client.text.replacements import format_lines

        form.choice("chinese_script", "Chinese characters", config.chinese_script, list(SCRIPTS))
        form.check("voice_commands", "Voice commands (\"new line\", \"scratch that\", \"换行\"…)",
                   config.voice_commands)
        form.lines("replacements", "Replacements\n(words = replacement)", format_lines(config.replacements))
        form.page("App")
        form.check("overlay", "Live preview overlay", config.overlay)
        form.check("sounds", "Sounds", config.sounds)
        form.entry("history_days", "Keep history (days, 0 = none)", str(config.history_days))
        form.check("autostart", AUTOSTART_LABEL, hooks.autostart, with_error=False)  # not a config setting
        buttons = ttk.Frame(outer)
        buttons.grid(row=1, column=0, sticky="e", pady=(10, 0))
        self.status = ttk.Label(outer, text="", wraplength=2 * WRAP_PX)
        self.status.grid(row=2, column=0, sticky="w")
        self.save_button = ttk.Button(buttons, text="Save", command=self.save)
        self.save_button.pack(side="right")
        ttk.Button(buttons, text="Close", command=self.close).pack(side="right", padx=6)
        root.bind("<KeyPress>", self._on_key_press, add="+")
        root.bind("<KeyRelease>", self._on_key_release, add="+")
        root.protocol("WM_DELETE_WINDOW", self.close)
        self._vars["input_device"].trace_add("write", lambda *_: self._start_meter())
        self._start_meter()
        root.after(POLL_MS, self._poll)

    # --- values --------------------------------------------------------------------------------------------
    def set(self, name: str, value: Any) -> None:
        """Set a field as the user would (tests, and the Record button)."""
        self._vars[name].set(value)

    def get(self, name: str) -> Any:
        """A field's value as shown."""
        return self._vars[name].get()

    def call(self, function: Callable[[SettingsWindow], Any]) -> concurrent.futures.Future[Any]:
        """Run `function(self)` on the window's own thread (from any thread); its result comes in the future."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._inbox.put(("call", (function, future)))
        return future

    def error(self, name: str) -> str:
        """The error shown beside a field ("" when none)."""
        return str(self._errors[name].cget("text"))

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {name: self._vars[name].get() for name in FIELDS}
        values["mode"] = _key_of(MODES, values["mode"])
        values["output"] = _key_of(OUTPUTS, values["output"])
        values["language"] = None if values["language"] == "Auto-detect" else values["language"]
        values["input_device"] = None if values["input_device"] == DEFAULT_DEVICE else values["input_device"]
        return values

    def save(self) -> CheckResult:
        """Check every field; show the errors beside their fields, or write the file and report the changes."""
        result = check(self._config, self.values())
        for name, label in self._errors.items():
            label.configure(text=result.errors.get(name, ""))
        if result.errors:
            self.status.configure(text="Not saved: fix the fields marked in red.")
            return result
        try:
            path = save_settings(self._config, result.changes)
        except OSError as error:
            self.status.configure(text=f"Not saved: {error}")
            return result
        assert result.config is not None
        self._config = result.config
        self.saved = path
        autostart = bool(self._vars["autostart"].get())
        if self._hooks.on_autostart is not None and autostart != self._hooks.autostart:
            self._hooks.on_autostart(autostart)
        self._hooks.on_save(path, result.changes)
        self.status.configure(text=f"Saved to {path}" if result.changes else "Nothing changed.")
        return result

    def close(self) -> None:
        self._closed = True
        self._stop_meter()
        self._root.destroy()

    @property
    def size(self) -> tuple[int, int]:
        """The window's natural width and height in pixels (what it asks of the screen)."""
        self._root.update_idletasks()
        return int(self._root.winfo_reqwidth()), int(self._root.winfo_reqheight())

    @property
    def level_width(self) -> int:
        """Pixels of the level bar now (what the user sees of the microphone)."""
        items = self._level.find_all()
        if not items:
            return 0
        left, _, right, _ = self._level.coords(items[0])
        return int(right - left)

    # --- helpers on other threads, results through the inbox --------------------------------------------
    def _test_connection(self) -> None:
        server, token = self._vars["server"].get().strip(), self._vars["token"].get().strip() or None
        self._connection.configure(text="testing…")

        def work() -> None:
            try:
                line = self._hooks.test_connection(server, token)
            except Exception as error:
                line = f"failed: {error}"
            self._inbox.put(("connection", line))

        threading.Thread(target=work, name="settings-test", daemon=True).start()

    def _start_meter(self) -> None:
        self._stop_meter()
        if self._hooks.level is not None:
            self._meter = self._hooks.level(self.values()["input_device"])

    def _stop_meter(self) -> None:
        if self._meter is not None:
            self._meter.close()
            self._meter = None

    def _poll(self) -> None:
        try:
            while True:
                kind, value = self._inbox.get_nowait()
                if kind == "connection":
                    self._connection.configure(text=value)
                elif kind == "call":
                    function, future = value
                    try:
                        future.set_result(function(self))
                    except Exception as error:
                        future.set_exception(error)
        except queue.Empty:
            pass
        if self._closed:  # a call closed the window: its widgets are gone
            return
        meter = self._meter
        level = meter.read() if meter is not None else 0.0
        self._level.delete("all")
        if level > 0:
            self._level.create_rectangle(0, 0, round(METER_WIDTH * level), 10, fill="#7ee787", width=0)
        self._level_text.configure(text=f"no level: {meter.error}" if meter is not None and meter.error else "")
        self._root.after(POLL_MS, self._poll)

    # --- recording a hotkey --------------------------------------------------------------------------------
    def record(self, name: str) -> None:
        """The Record button: the next key press with its modifiers becomes this hotkey."""
        self._recording = name
        self._held.clear()
        self._vars[name].set("press the keys…")
        self._root.focus_set()

    def _on_key_press(self, event: Any) -> str | None:
        if self._recording is None:
            return None
        modifier = _MODIFIER_KEYSYMS.get(event.keysym)
        if modifier:
            self._held.add(modifier)
            return "break"
        spec = hotkey_spec(self._held, event.keysym)
        if spec is not None:
            self._vars[self._recording].set(spec)
            self._recording = None
        return "break"

    def _on_key_release(self, event: Any) -> None:
        modifier = _MODIFIER_KEYSYMS.get(event.keysym)
        if modifier:
            self._held.discard(modifier)


def _key_of(mapping: dict[str, str], label: str) -> str:
    return next((key for key, text in mapping.items() if text == label), label)


_open_lock = threading.Lock()
_open_window: list[threading.Thread] = []
_shown: list[SettingsWindow] = []  # the window on screen now (tests read it through `opened`)


def opened() -> SettingsWindow | None:
    """The settings window on screen now, if any (use its `call` to reach it from another thread)."""
    return _shown[0] if _shown else None


def open_settings(config: ClientConfig, hooks: SettingsHooks) -> bool:
    """Open the window on its own thread; False when one is open already (it stays, no second one).

    Raises TkUnavailable (saying how to fix it) when this Python has no Tk."""
    require_tk("The Settings window")
    with _open_lock:
        if _open_window and _open_window[0].is_alive():
            return False

        def run() -> None:
            import gc
            import tkinter as tk

            root = window = None
            try:
                root = tk.Tk(className="qwen-dictation-settings")
                window = SettingsWindow(root, config, hooks)
                _shown[:] = [window]
                root.mainloop()
            except Exception:
                log.exception("the settings window failed")
            finally:
                _shown.clear()
                # Tcl is torn down on this thread (see overlay.py for why it matters).
                window = root = None
                gc.collect()

        thread = threading.Thread(target=run, name="settings", daemon=True)
        _open_window[:] = [thread]
        thread.start()
        return True
