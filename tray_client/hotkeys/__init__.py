"""Global hotkeys: the spec parser and chord tracker (pure) and the listener with its win32 / X11 backends."""

from tray_client.hotkeys.chords import ChordTracker
from tray_client.hotkeys.listener import HotkeyListener
from tray_client.hotkeys.spec import Hotkey, HotkeyError, parse_hotkey

__all__ = ["ChordTracker", "Hotkey", "HotkeyError", "HotkeyListener", "parse_hotkey"]
