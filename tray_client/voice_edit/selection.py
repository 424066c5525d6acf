"""Reading the selected text of whatever app has the focus: copy it through the clipboard, then put back what the
user had on the clipboard.

Why the clipboard and not X11's PRIMARY selection: PRIMARY keeps the last selection of any app even after it was
deselected, so an edit could rewrite text that is no longer selected, or text in another window; Ctrl+C copies
only what is selected now, in the focused app, on every desktop and on Windows alike. To tell "copied" from
"nothing selected" the clipboard first gets a marker of ours: the copy replaces it, or nothing does.

`read_selection` is the logic over a small `ClipboardPort`; `X11Clipboard` is the X11 port (xclip, xdotool; the
clipboard's text is what is kept, as in the X11 paste sink), `voice_edit._win32_selection` the Windows one (every
format of the clipboard is kept, as in the Windows paste sink).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["COPY_WAIT_S", "ClipboardPort", "Selection", "X11Clipboard", "default_clipboard", "read_selection"]

log = logging.getLogger(__name__)

COPY_WAIT_S = 3.0
"""How long the app has to answer Ctrl+C; an app that copies nothing in that time has nothing selected."""
POLL_S = 0.03
NOTHING_SELECTED = "nothing is selected: select the text to edit first, then press the hotkey"


class ClipboardPort(Protocol):
    """The clipboard as text, a snapshot of what it holds, and the copy key pressed in the focused window."""

    def snapshot(self) -> object:
        """What the user's clipboard holds now, for `restore`."""
        ...

    def restore(self, snapshot: object) -> None: ...

    def get(self) -> str | None:
        """The clipboard's text, None when it holds none."""
        ...

    def set(self, text: str) -> None: ...

    def press_copy(self) -> None:
        """Press Ctrl+C in the focused window, once the user let go of the hotkey."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Selection:
    """The selected text, or `error` (why none, for a notice) with `text` empty."""

    text: str
    error: str = ""


def read_selection(clipboard: ClipboardPort, *, wait_s: float = COPY_WAIT_S,
                   clock: Callable[[], float] = time.monotonic,
                   sleep: Callable[[float], None] = time.sleep) -> Selection:
    """Copy the focused app's selection and return it; the user's clipboard text is put back in every case."""
    saved = clipboard.snapshot()
    marker = f"qwen-dictation-selection-{uuid.uuid4().hex}"
    clipboard.set(marker)
    try:
        clipboard.press_copy()
        deadline = clock() + wait_s
        while True:
            copied = clipboard.get()
            if copied is not None and copied != marker:
                return Selection(copied) if copied.strip() else Selection("", NOTHING_SELECTED)
            if clock() >= deadline:
                return Selection("", NOTHING_SELECTED)
            sleep(POLL_S)  # polling: X11 and Windows tell a clipboard change only to a window that asks for it
    except Exception as error:  # a missing tool or a dead display: said, never raised into the tray
        log.warning("could not copy the selection: %s", error)
        return Selection("", f"the selection could not be copied ({error})")
    finally:
        _restore(clipboard, saved)


def _restore(clipboard: ClipboardPort, saved: object) -> None:
    try:
        clipboard.restore(saved)
    except Exception as error:
        log.warning("could not put the clipboard back: %s", error)
    finally:
        clipboard.close()


def default_clipboard() -> ClipboardPort:
    """This platform's port (made on the output thread that uses it: on Windows it owns a window there)."""
    if sys.platform == "win32":
        from tray_client.voice_edit._win32_selection import Win32Clipboard

        return Win32Clipboard()
    return X11Clipboard()


class X11Clipboard:
    """The X11 CLIPBOARD's text through xclip, Ctrl+C through xdotool."""

    def snapshot(self) -> object:
        return self.get()

    def restore(self, snapshot: object) -> None:
        self.set(snapshot if isinstance(snapshot, str) else "")

    def close(self) -> None:
        pass

    def get(self) -> str | None:
        result = subprocess.run(["xclip", "-selection", "clipboard", "-o"], capture_output=True, timeout=10)
        return result.stdout.decode("utf-8", "replace") if result.returncode == 0 else None

    def set(self, text: str) -> None:
        from tray_client.sinks._x11 import set_clipboard_text

        set_clipboard_text(text)

    def press_copy(self) -> None:
        from tray_client.undo.desktop import wait_keys_released

        # While the hotkey's keys are down X's passive grab takes every key, and Ctrl+Alt+C is not a copy.
        wait_keys_released(2.0)
        subprocess.run(["xdotool", "key", "--clearmodifiers", "ctrl+c"], check=True, timeout=10,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
