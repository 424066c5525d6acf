"""The Win32 clipboard calls behind `PasteSession`, through ctypes, with a message-only window of our own.

The window is what makes delayed rendering work: it owns the clipboard after EmptyClipboard, and Windows sends
it WM_RENDERFORMAT when an app reads our text (see _win32_clipboard for why). Everything here runs on the
pipeline's output thread, which created the window, so pumping its messages there delivers WM_RENDERFORMAT.
"""

from __future__ import annotations

import ctypes
import logging
import time
from ctypes import wintypes
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["ClipboardApi"]

_GMEM_MOVEABLE = 0x0002
_WM_RENDERFORMAT, _WM_RENDERALLFORMATS = 0x0305, 0x0306
_PM_REMOVE = 0x0001
_HWND_MESSAGE = -3
_LRESULT = ctypes.c_ssize_t
_WNDPROC = ctypes.WINFUNCTYPE(_LRESULT, wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM) \
    if hasattr(ctypes, "WINFUNCTYPE") else None


class _WNDCLASSW(ctypes.Structure):
    _fields_ = [("style", wintypes.UINT), ("lpfnWndProc", ctypes.c_void_p), ("cbClsExtra", ctypes.c_int),
                ("cbWndExtra", ctypes.c_int), ("hInstance", wintypes.HINSTANCE), ("hIcon", wintypes.HANDLE),
                ("hCursor", wintypes.HANDLE), ("hbrBackground", wintypes.HANDLE),
                ("lpszMenuName", wintypes.LPCWSTR), ("lpszClassName", wintypes.LPCWSTR)]


def _dlls() -> tuple[Any, Any, Any]:
    user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    gdi32 = ctypes.WinDLL("gdi32", use_last_error=True)  # type: ignore[attr-defined]
    handle, hwnd = wintypes.HANDLE, wintypes.HWND
    for name, restype, argtypes in [
        ("OpenClipboard", wintypes.BOOL, [hwnd]), ("GetClipboardData", handle, [wintypes.UINT]),
        ("SetClipboardData", handle, [wintypes.UINT, handle]), ("EnumClipboardFormats", wintypes.UINT,
                                                               [wintypes.UINT]),
        ("GetClipboardOwner", hwnd, []), ("GetOpenClipboardWindow", hwnd, []), ("GetForegroundWindow", hwnd, []),
        ("GetClipboardSequenceNumber", wintypes.DWORD, []), ("RegisterClipboardFormatW", wintypes.UINT,
                                                            [wintypes.LPCWSTR]),
        ("GetWindowThreadProcessId", wintypes.DWORD, [hwnd, ctypes.POINTER(wintypes.DWORD)]),
        ("DefWindowProcW", _LRESULT, [hwnd, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM]),
        ("CreateWindowExW", hwnd, [wintypes.DWORD, wintypes.LPCWSTR, wintypes.LPCWSTR, wintypes.DWORD,
                                   ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, hwnd, handle,
                                   handle, ctypes.c_void_p]),
        ("PeekMessageW", wintypes.BOOL, [ctypes.c_void_p, hwnd, wintypes.UINT, wintypes.UINT, wintypes.UINT]),
        ("DispatchMessageW", _LRESULT, [ctypes.c_void_p]), ("DestroyWindow", wintypes.BOOL, [hwnd]),
        ("RegisterClassW", wintypes.ATOM, [ctypes.c_void_p]),
        ("UnregisterClassW", wintypes.BOOL, [wintypes.LPCWSTR, handle]),  # untyped, a 64-bit HINSTANCE overflows
        ("EmptyClipboard", wintypes.BOOL, []), ("CloseClipboard", wintypes.BOOL, []),
    ]:
        function = getattr(user32, name)
        function.restype, function.argtypes = restype, argtypes
    for name, restype, argtypes in [
        ("GlobalAlloc", handle, [wintypes.UINT, ctypes.c_size_t]), ("GlobalLock", ctypes.c_void_p, [handle]),
        ("GlobalUnlock", wintypes.BOOL, [handle]), ("GlobalSize", ctypes.c_size_t, [handle]),
        ("GlobalFree", handle, [handle]), ("GetModuleHandleW", handle, [wintypes.LPCWSTR]),
    ]:
        function = getattr(kernel32, name)
        function.restype, function.argtypes = restype, argtypes
    gdi32.CopyEnhMetaFileW.restype, gdi32.CopyEnhMetaFileW.argtypes = handle, [handle, wintypes.LPCWSTR]
    return user32, kernel32, gdi32


class ClipboardApi:
    """The clipboard calls PasteSession makes, on a message-only window owned by the calling thread."""

    def __init__(self) -> None:
        self._user32, self._kernel32, self._gdi32 = _dlls()
        self._pending: dict[int, bytes] = {}  # formats promised with delayed rendering
        self._readers: list[int | None] = []  # pids of the processes whose reads made us render
        self._render_sequence = 0
        self._proc = _WNDPROC(self._window_proc)  # kept referenced: Windows calls it for the window's life
        instance = self._kernel32.GetModuleHandleW(None)
        self._class_name = f"QwenDictationClipboard{id(self)}"
        self._instance = instance
        window_class = _WNDCLASSW(lpfnWndProc=ctypes.cast(self._proc, ctypes.c_void_p), hInstance=instance,
                                  lpszClassName=self._class_name)
        if not self._user32.RegisterClassW(ctypes.byref(window_class)):
            raise OSError(ctypes.get_last_error(), "RegisterClassW failed")
        self._hwnd = self._user32.CreateWindowExW(0, window_class.lpszClassName, "", 0, 0, 0, 0, 0,
                                                  _HWND_MESSAGE, None, instance, None)
        if not self._hwnd:
            raise OSError(ctypes.get_last_error(), "CreateWindowExW failed")

    # --- PasteSession's surface -----------------------------------------------------------------------------

    def open(self) -> bool:
        return bool(self._user32.OpenClipboard(self._hwnd))

    def close(self) -> None:
        self._user32.CloseClipboard()

    def empty(self) -> None:
        self._pending.clear()
        self._user32.EmptyClipboard()

    def formats(self) -> list[int]:
        found, fmt = [], 0
        while True:
            fmt = self._user32.EnumClipboardFormats(fmt)
            if not fmt:
                return found
            found.append(fmt)

    def get_bytes(self, fmt: int) -> bytes | None:
        handle = self._user32.GetClipboardData(fmt)
        if not handle:
            return None
        size = self._kernel32.GlobalSize(handle)
        pointer = self._kernel32.GlobalLock(handle)
        if not pointer:
            return None
        try:
            return ctypes.string_at(pointer, size)
        finally:
            self._kernel32.GlobalUnlock(handle)

    def set_bytes(self, fmt: int, data: bytes) -> None:
        handle = self._kernel32.GlobalAlloc(_GMEM_MOVEABLE, max(1, len(data)))
        pointer = self._kernel32.GlobalLock(handle)
        ctypes.memmove(pointer, data, len(data))
        self._kernel32.GlobalUnlock(handle)
        if not self._user32.SetClipboardData(fmt, handle):
            self._kernel32.GlobalFree(handle)  # the system did not take ownership
            log.debug("SetClipboardData(%d) failed: %d", fmt, ctypes.get_last_error())

    def set_delayed(self, fmt: int, data: bytes) -> None:
        self._pending[fmt] = data
        self._readers = []
        self._user32.SetClipboardData(fmt, None)

    def copy_metafile(self) -> Any:
        handle = self._user32.GetClipboardData(14)
        return self._gdi32.CopyEnhMetaFileW(handle, None) if handle else None

    def set_metafile(self, handle: Any) -> None:
        self._user32.SetClipboardData(14, handle)

    def register_format(self, name: str) -> int:
        return int(self._user32.RegisterClipboardFormatW(name))

    def sequence_number(self) -> int:
        return int(self._user32.GetClipboardSequenceNumber())

    def last_render_sequence(self) -> int:
        return self._render_sequence

    def owned_by_us(self) -> bool:
        return self._user32.GetClipboardOwner() == self._hwnd

    def readers(self) -> list[int | None]:
        return list(self._readers)

    def foreground_pid(self) -> int | None:
        return self._pid_of(self._user32.GetForegroundWindow())

    def render_now(self) -> None:
        # As WM_RENDERALLFORMATS asks: open, and render only if the promise is still ours (nobody replaced it).
        if self._pending and self.open():
            try:
                if self.owned_by_us():
                    for fmt, data in list(self._pending.items()):
                        self.set_bytes(fmt, data)
                self._pending.clear()
            finally:
                self.close()

    def pump_messages(self, wait_s: float) -> None:
        message = ctypes.create_string_buffer(64)  # MSG is 48 bytes on x64
        while self._user32.PeekMessageW(message, None, 0, 0, _PM_REMOVE):
            self._user32.DispatchMessageW(message)
        time.sleep(wait_s)

    def destroy(self) -> None:
        self._user32.DestroyWindow(self._hwnd)
        self._user32.UnregisterClassW(self._class_name, self._instance)

    # --- the window -----------------------------------------------------------------------------------------

    def _pid_of(self, hwnd: Any) -> int | None:
        if not hwnd:
            return None
        pid = wintypes.DWORD()
        self._user32.GetWindowThreadProcessId(hwnd, ctypes.byref(pid))
        return int(pid.value)

    def _window_proc(self, hwnd: Any, message: int, wparam: int, lparam: int) -> int:
        if message == _WM_RENDERFORMAT and wparam in self._pending:
            # Inside WM_RENDERFORMAT the reader holds the clipboard open: SetClipboardData without OpenClipboard.
            reader = self._pid_of(self._user32.GetOpenClipboardWindow())
            self.set_bytes(wparam, self._pending.pop(wparam))
            self._render_sequence = self.sequence_number()
            self._readers.append(reader)
            return 0
        if message == _WM_RENDERALLFORMATS:
            self.render_now()  # our window is going away while the clipboard still promises our text
            return 0
        return int(self._user32.DefWindowProcW(hwnd, message, wparam, lparam))
