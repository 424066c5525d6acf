"""The Windows clipboard for paste mode: keep the user's whole clipboard, paste ours, restore after the read.

Choices, with the reasons (Win32 clipboard documentation):
- **Whole clipboard.** Every format that lives in an HGLOBAL (text, HTML, RTF, DIB images, CF_HDROP file lists,
  registered formats) is copied out before we paste and put back after; CF_ENHMETAFILE is copied with
  CopyEnhMetaFile. GDI handles (CF_BITMAP, CF_PALETTE, CF_METAFILEPICT, CF_DSP*, the private and GDI-object
  ranges) cannot be copied as memory: Windows synthesizes CF_BITMAP from the DIB we keep.
- **Restore only after the target has read the paste.** A fixed delay loses the race with a slow target (Handy
  issue #502), and GetClipboardSequenceNumber only changes when the content changes, not when someone reads.
  So our text goes on the clipboard with *delayed rendering* (SetClipboardData(CF_UNICODETEXT, NULL)): Windows
  then sends our window WM_RENDERFORMAT when an app calls GetClipboardData, and during it GetOpenClipboardWindow
  names the reader. We render, and restore once the *foreground* process has read it and closed the clipboard.
  A reader that opened the clipboard without a window (OpenClipboard(NULL)) is taken to be the target. If
  another process read first (a clipboard monitor that ignores the exclusion format below), the rendered data
  stays and no further read can be seen: then we restore OTHER_READER_SETTLE_S after Ctrl+V, logged. If
  nobody reads within PASTE_READ_TIMEOUT_S, our text is rendered and left on the clipboard (the user can paste
  it by hand) and the sink says so.
- **Skip the restore if the clipboard changed meanwhile**: someone else became its owner, or the sequence
  number moved past the one our own last change left.
- **Out of history and cloud.** With our text go "ExcludeClipboardContentFromMonitorProcessing" (clipboard
  monitors skip it), "CanIncludeInClipboardHistory" = 0 and "CanUploadToCloudClipboard" = 0 (Windows 10 1809+
  clipboard history and cloud sync). The restore carries the same formats, so the user's own entry is not
  duplicated in their history.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tray_client.sinks.base import OutputError

__all__ = ["CF_UNICODETEXT", "ClipboardSnapshot", "PasteSession", "restorable"]

log = logging.getLogger(__name__)

CF_UNICODETEXT = 13
CF_ENHMETAFILE = 14
_GDI_FORMATS = frozenset({2, 3, 9, 0x80, 0x81, 0x82, 0x83, 0x8E})
"""CF_BITMAP, CF_METAFILEPICT, CF_PALETTE, CF_OWNERDISPLAY, CF_DSPTEXT..CF_DSPENHMETAFILE: handles, not memory."""
PRIVACY_FORMATS = {
    "ExcludeClipboardContentFromMonitorProcessing": b"\x00\x00\x00\x00",
    "CanIncludeInClipboardHistory": b"\x00\x00\x00\x00",
    "CanUploadToCloudClipboard": b"\x00\x00\x00\x00",
}
PASTE_READ_TIMEOUT_S = 5.0
"""How long the target may take to read the paste (a first paste into Word can take seconds)."""
OTHER_READER_SETTLE_S = 1.0
"""After another process rendered our text first, how long the target gets to read it (best effort)."""
CLIPBOARD_BUSY_S = 2.0
"""How long to retry OpenClipboard while another app (the reader) holds it."""


def restorable(fmt: int) -> bool:
    """Whether a clipboard format can be copied out and put back (see the module doc)."""
    return fmt not in _GDI_FORMATS and not 0x200 <= fmt <= 0x2FF


@dataclass
class ClipboardSnapshot:
    """The user's clipboard: (format, bytes) for memory formats, plus an enhanced metafile handle if there was one."""

    items: list[tuple[int, bytes]]
    metafile: Any = None

    def __bool__(self) -> bool:
        return bool(self.items) or self.metafile is not None


class PasteSession:
    """One paste: snapshot, put our text (delayed), send Ctrl+V, wait for the target's read, restore.

    `api` is the clipboard's Win32 surface (`_win32_clipboard_api.ClipboardApi` on Windows, a stand-in in tests).
    """

    def __init__(self, api: Any, *, clock: Callable[[], float] = time.monotonic,
                 read_timeout_s: float = PASTE_READ_TIMEOUT_S) -> None:
        self._api = api
        self._clock = clock
        self._read_timeout_s = read_timeout_s

    def paste(self, text: str, send_paste_keys: Callable[[], None]) -> None:
        """Paste `text` into the foreground window and give the user's clipboard back; OutputError if not read."""
        api = self._api
        snapshot = self.take_snapshot()
        self._open()
        try:
            api.empty()
            api.set_delayed(CF_UNICODETEXT, (text + "\0").encode("utf-16-le"))
            for name, data in PRIVACY_FORMATS.items():
                api.set_bytes(api.register_format(name), data)
        finally:
            api.close()
        ours = api.sequence_number()
        send_paste_keys()
        if not self._wait_for_read():
            api.render_now()  # our text stays usable on the clipboard after our window is gone
            raise OutputError(f"the app did not take the paste within {self._read_timeout_s:.0f} s; the text is "
                              "on the clipboard: paste it with Ctrl+V (your previous clipboard was replaced)")
        ours = max(ours, api.last_render_sequence())
        self._open()  # waits until the reader has closed the clipboard, i.e. finished reading
        try:
            if not api.owned_by_us() or api.sequence_number() != ours:
                log.info("the clipboard changed during the paste; not restoring the previous content")
                return
            api.empty()
            if snapshot:
                self._put(snapshot)
        finally:
            api.close()

    def _wait_for_read(self) -> bool:
        """Pump messages until the target has read our text (see the module doc); False on timeout."""
        api = self._api
        sent = self._clock()
        while True:
            readers = api.readers()
            if readers and (None in readers or api.foreground_pid() in readers):
                return True
            if readers and self._clock() >= sent + OTHER_READER_SETTLE_S:
                log.info("another process (pid %s) read the paste first; restoring after a settle time", readers)
                return True
            if self._clock() >= sent + self._read_timeout_s:
                return False
            api.pump_messages(0.01)  # WM_RENDERFORMAT arrives while we pump

    def take_snapshot(self) -> ClipboardSnapshot:
        """Copy out every restorable format of the clipboard now."""
        api = self._api
        self._open()
        try:
            items: list[tuple[int, bytes]] = []
            metafile = None
            for fmt in api.formats():
                if fmt == CF_ENHMETAFILE:
                    metafile = api.copy_metafile()
                elif restorable(fmt):
                    data = api.get_bytes(fmt)
                    if data is not None:
                        items.append((fmt, data))
            return ClipboardSnapshot(items, metafile)
        finally:
            api.close()

    def put_back(self, snapshot: ClipboardSnapshot) -> None:
        """Make the clipboard hold `snapshot` again (empty if it was empty)."""
        self._open()
        try:
            self._api.empty()
            if snapshot:
                self._put(snapshot)
        finally:
            self._api.close()

    def get_text(self) -> str | None:
        """The clipboard's text now (CF_UNICODETEXT), None when it holds none."""
        self._open()
        try:
            data = self._api.get_bytes(CF_UNICODETEXT)
        finally:
            self._api.close()
        return None if data is None else data.decode("utf-16-le", "replace").split("\0", 1)[0]

    def set_text(self, text: str) -> None:
        """Put `text` on the clipboard now (kept out of clipboard history and monitors)."""
        self._open()
        try:
            self._api.empty()
            self._api.set_bytes(CF_UNICODETEXT, (text + "\0").encode("utf-16-le"))
            for name, data in PRIVACY_FORMATS.items():
                self._api.set_bytes(self._api.register_format(name), data)
        finally:
            self._api.close()

    def _put(self, snapshot: ClipboardSnapshot) -> None:
        api = self._api
        for fmt, data in snapshot.items:
            api.set_bytes(fmt, data)
        if snapshot.metafile is not None:
            api.set_metafile(snapshot.metafile)
        for name, data in PRIVACY_FORMATS.items():
            api.set_bytes(api.register_format(name), data)

    def _open(self) -> None:
        deadline = self._clock() + CLIPBOARD_BUSY_S
        while not self._api.open():
            if self._clock() >= deadline:
                raise OutputError("the clipboard is held by another application; try again or use --output type")
            self._api.pump_messages(0.01)
