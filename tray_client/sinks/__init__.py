"""Where finals go: stdout, keystrokes or a clipboard paste, one module per platform behind `make_sink`."""

from __future__ import annotations

import os
import sys

from tray_client.sinks.base import (
    ElevatedTargetError,
    ModifiersHeldError,
    OutputError,
    TextOnClipboard,
    TextSink,
)
from tray_client.sinks.stdout import StdoutSink

__all__ = ["ElevatedTargetError", "ModifiersHeldError", "OutputError", "StdoutSink", "TextOnClipboard", "TextSink",
           "make_sink", "set_clipboard"]


def make_sink(output: str, *, type_delay_ms: int = 0, paste_keys: str = "ctrl+v") -> TextSink:
    """The sink for an output mode on this platform (pasting with `paste_keys`); raises OutputError when its
    tools are missing."""
    if output == "stdout":
        return StdoutSink()
    windows = sys.platform == "win32"
    x11 = not windows and bool(os.environ.get("DISPLAY"))
    if output == "type":
        if windows:
            from tray_client.sinks._win32 import Win32Typer

            return Win32Typer()
        if x11:
            from tray_client.sinks._x11 import XdotoolTyper

            return XdotoolTyper(type_delay_ms)
        raise OutputError("--output type needs Windows or an X11 display (DISPLAY is not set); use --output stdout")
    if output == "clipboard":
        if windows:
            from tray_client.sinks._win32 import Win32ClipboardPaster

            return Win32ClipboardPaster(paste_keys=paste_keys)
        if x11:
            from tray_client.sinks._x11 import X11ClipboardPaster

            return X11ClipboardPaster(paste_keys)
        raise OutputError("--output clipboard needs Windows or an X11 display; use --output stdout")
    raise OutputError(f"unknown output {output!r}: use type, clipboard or stdout")


def set_clipboard(text: str) -> None:
    """Put `text` on the system clipboard without pasting it (the tray's "copy last transcript")."""
    if sys.platform == "win32":
        from tray_client.sinks._win32 import set_clipboard_text
    elif os.environ.get("DISPLAY"):
        from tray_client.sinks._x11 import set_clipboard_text
    else:
        raise OutputError("no clipboard: needs Windows or an X11 display")
    set_clipboard_text(text)
