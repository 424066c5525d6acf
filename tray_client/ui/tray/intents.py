"""Typed intents: what the menu, the hotkeys and signals ask the tray controller to do.

Each is a small frozen dataclass, so it crosses threads safely and the controller dispatches on its type
(one handler per type, checked by a test), never on a string.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from tray_client.events import Command, PipelineEvent
from tray_client.port import SettingValue

if TYPE_CHECKING:  # the history loads after the tray icon shows (start-up time)
    from tray_client.history.recorder import HistorySnapshot

__all__ = [
    "CopyLast",
    "CopyText",
    "DiagnosticsWritten",
    "Handler",
    "HotkeyDown",
    "HotkeyUp",
    "HotkeysLost",
    "Intent",
    "Message",
    "OpenConfig",
    "OpenLog",
    "PasteLast",
    "Post",
    "Quit",
    "RefreshDevices",
    "SendCommand",
    "SetAutostart",
    "SetSetting",
    "ShowDiagnostics",
    "StartServerWsl",
    "Tick",
    "ToggleListening",
    "TypeText",
    "UndoLast",
]


@dataclass(frozen=True)
class ToggleListening:
    """The Listening menu item (or a left click): flip listening on/off."""


@dataclass(frozen=True)
class SetSetting:
    """A menu radio or check item changed a config setting (`key` is a ClientConfig field name)."""

    key: str
    value: SettingValue
    save: bool = True  # False: the settings window already wrote the file (keeping the user's comments)


@dataclass(frozen=True)
class SendCommand:
    """Pass a pipeline command on as it is (Reconnect)."""

    command: Command


@dataclass(frozen=True)
class RefreshDevices:
    """Enumerate the microphones again (menu item)."""


@dataclass(frozen=True)
class Tick:
    """The controller's periodic wake-up (no message for DEVICE_REFRESH_S)."""


@dataclass(frozen=True)
class CopyLast:
    """Put the last transcript on the clipboard."""


@dataclass(frozen=True)
class OpenConfig:
    """Open the config file in the desktop's editor (writing it first if it does not exist)."""


@dataclass(frozen=True)
class OpenLog:
    """Open the log file."""


@dataclass(frozen=True)
class StartServerWsl:
    """Start the ASR server in WSL2 in its own console window (Windows)."""


@dataclass(frozen=True)
class SetAutostart:
    """Start with the user's session, or not."""

    enabled: bool


@dataclass(frozen=True)
class HotkeyDown:
    """A bound hotkey went down (`name`: push_to_talk or toggle)."""

    name: str


@dataclass(frozen=True)
class HotkeyUp:
    """A bound hotkey went up."""

    name: str


@dataclass(frozen=True)
class HotkeysLost:
    """The hotkeys stopped working after a good start (the keyboard listener died)."""

    why: str


@dataclass(frozen=True)
class Quit:
    """End the app (menu, SIGTERM/SIGINT, or the icon's loop ending)."""



@dataclass(frozen=True)
class UndoLast:
    """Delete what the last final typed (tray item or the undo hotkey's release)."""


@dataclass(frozen=True)
class ShowDiagnostics:
    """Write the diagnostics report and open it."""


@dataclass(frozen=True)
class DiagnosticsWritten:
    """The diagnostics report is at `path`."""

    path: Path


@dataclass(frozen=True)
class OpenSettings:
    """Open the app's window (the local web app) on a page: settings, history, dictionary, profiles, stats."""

    page: str = "settings"


@dataclass(frozen=True)
class SettingsSaved:
    """The settings window wrote these changed settings to the config file."""

    changes: dict[str, SettingValue]


@dataclass(frozen=True)
class CopyText:
    """Put a Recent entry on the clipboard."""

    text: str


@dataclass(frozen=True)
class TypeText:
    """Type a Recent entry again into the focused window (from the web app: the next window focused)."""

    text: str
    when_focus_moves: bool = False


@dataclass(frozen=True)
class PasteLast:
    """Type the last transcript into the window in front (tray item or the paste-last hotkey's release): the way
    back for a final that went to the clipboard because its window lost the focus."""


Intent = (ToggleListening | SetSetting | SendCommand | RefreshDevices | Tick | CopyLast | OpenConfig | OpenLog
          | StartServerWsl | SetAutostart | HotkeyDown | HotkeyUp | HotkeysLost | Quit | UndoLast
          | ShowDiagnostics | DiagnosticsWritten | OpenSettings | SettingsSaved | CopyText | TypeText | PasteLast)

Message: TypeAlias = "PipelineEvent | HistorySnapshot | Intent"
"""What the tray-controller's inbox carries: the pipeline's events, the history's snapshots and the intents."""

Post = Callable[[Message], None]
"""Put a message in the tray-controller's inbox (any thread)."""

Handler = Callable[[Any], None]
"""The controller's handler for one message type (it takes that type; the table is keyed by it)."""
