"""Windows keyboard input: SendInput with KEYEVENTF_UNICODE, the modifier state, and the UIPI check.

Why KEYEVENTF_UNICODE for every character: a virtual key (what pynput sends for any character on the current
layout, through VkKeyScan) is layout-dependent and goes through the IME. With a Chinese, Japanese or Korean IME
on, "a" starts a composition; on AZERTY or Russian layouts the key means another character. A KEYEVENTF_UNICODE
event (VK_PACKET) carries the UTF-16 unit itself: the window gets exactly that character. Characters outside the
BMP go as their two surrogates (both downs, then both ups, as pynput does and as Wine showed exact for emoji).
A newline is sent as VK_RETURN, and only where the text has one (a dictated "new line"); other control
characters are never sent. Ctrl+V uses VK 0x56, the V key on every layout (letters A-Z have fixed VKs).

Why the integrity check (UIPI): SendInput into a window of a process with a higher integrity level (an app run
as administrator) is dropped silently: "neither GetLastError nor the return value will indicate the failure
was caused by UIPI blocking" (SendInput docs). So before typing we compare the foreground window's process
integrity level with ours, and if it is higher, we do not type.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Iterable
from ctypes import wintypes
from typing import Any

from tray_client._win32_keys import held_modifiers

log = logging.getLogger(__name__)

__all__ = ["KeyEvent", "SendInputKeyboard", "foreground_is_elevated", "is_elevated_target", "key_events",
           "paste_events", "press_events"]

KEYEVENTF_KEYUP = 0x0002
KEYEVENTF_UNICODE = 0x0004
VK_RETURN, VK_CONTROL, VK_V = 0x0D, 0x11, 0x56
SCAN_RETURN, SCAN_CONTROL, SCAN_V = 0x1C, 0x1D, 0x2F
VK_SHIFT, VK_BACK, VK_INSERT = 0x10, 0x08, 0x2D
SCAN_SHIFT, SCAN_BACK, SCAN_INSERT = 0x2A, 0x0E, 0x52
VK_C, SCAN_C = 0x43, 0x2E
KEYEVENTF_EXTENDEDKEY = 0x0001
SECURITY_MANDATORY_HIGH_RID = 0x3000
EVENTS_PER_CALL = 8192
"""Key events per SendInput call: a whole final (4,096 characters) goes in one call. One call is never
interleaved with the user's own input, and it arrives at once: 200 characters in one batch, not 64 events at a
time, each call a round trip through the input queue (issue: text appeared in pieces)."""

KeyEvent = tuple[int, int, int]
"""(wVk, wScan, dwFlags) of one KEYBDINPUT."""


def key_events(text: str) -> list[KeyEvent]:
    """The KEYBDINPUT events that type `text` exactly, on any layout and with any IME (see the module doc)."""
    events: list[KeyEvent] = []
    for char in text:
        if char == "\n":
            events += [(VK_RETURN, SCAN_RETURN, 0), (VK_RETURN, SCAN_RETURN, KEYEVENTF_KEYUP)]
            continue
        if ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0:
            continue  # never type a control character the user did not dictate
        data = char.encode("utf-16-le")
        units = [int.from_bytes(data[i:i + 2], "little") for i in range(0, len(data), 2)]
        events += [(0, unit, KEYEVENTF_UNICODE) for unit in units]
        events += [(0, unit, KEYEVENTF_UNICODE | KEYEVENTF_KEYUP) for unit in units]
    return events


def paste_events(paste_keys: str = "ctrl+v") -> list[KeyEvent]:
    """Ctrl+V by virtual key 0x56, so it pastes on every layout (a Unicode "v" would not be a shortcut);
    also Ctrl+Shift+V and Shift+Insert (profiles' `paste_keys`)."""
    if paste_keys == "shift+insert":
        return _chord([(VK_SHIFT, SCAN_SHIFT, 0)], (VK_INSERT, SCAN_INSERT, KEYEVENTF_EXTENDEDKEY))
    held = [(VK_CONTROL, SCAN_CONTROL, 0)] + ([(VK_SHIFT, SCAN_SHIFT, 0)] if paste_keys == "ctrl+shift+v" else [])
    return _chord(held, (VK_V, SCAN_V, 0))


def copy_events() -> list[KeyEvent]:
    """Ctrl+C by virtual key, so it copies on every layout (the voice edit reads the selection with it)."""
    return _chord([(VK_CONTROL, SCAN_CONTROL, 0)], (VK_C, SCAN_C, 0))


def press_events(key: str, count: int = 1) -> list[KeyEvent]:
    """A voice command's key by virtual key: "newline" (Shift+Enter), "enter" or "backspace", `count` times."""
    if key == "backspace":
        return _chord([], (VK_BACK, SCAN_BACK, 0)) * count
    held = [(VK_SHIFT, SCAN_SHIFT, 0)] if key == "newline" else []
    return _chord(held, (VK_RETURN, SCAN_RETURN, 0)) * count


def _chord(held: list[KeyEvent], key: KeyEvent) -> list[KeyEvent]:
    """Press the `held` keys, tap `key`, release the held keys in reverse order."""
    vk, scan, flags = key
    return [*held, key, (vk, scan, flags | KEYEVENTF_KEYUP),
            *[(h_vk, h_scan, h_flags | KEYEVENTF_KEYUP) for h_vk, h_scan, h_flags in reversed(held)]]


def is_elevated_target(target_rid: int | None, own_rid: int) -> bool:
    """Whether UIPI blocks our input to a process of integrity `target_rid` (None: we may not even query it,
    which for a normal user's process means it runs elevated)."""
    if target_rid is None:
        return own_rid < SECURITY_MANDATORY_HIGH_RID
    return target_rid > own_rid


class _KEYBDINPUT(ctypes.Structure):
    _fields_ = [("wVk", wintypes.WORD), ("wScan", wintypes.WORD), ("dwFlags", wintypes.DWORD),
                ("time", wintypes.DWORD), ("dwExtraInfo", ctypes.c_size_t)]


class _MOUSEINPUT(ctypes.Structure):  # only for the union's size: INPUT is 40 bytes on x64 because of it
    _fields_ = [("dx", wintypes.LONG), ("dy", wintypes.LONG), ("mouseData", wintypes.DWORD),
                ("dwFlags", wintypes.DWORD), ("time", wintypes.DWORD), ("dwExtraInfo", ctypes.c_size_t)]


class _INPUTUNION(ctypes.Union):
    _fields_ = [("ki", _KEYBDINPUT), ("mi", _MOUSEINPUT)]


class _INPUT(ctypes.Structure):
    _fields_ = [("type", wintypes.DWORD), ("union", _INPUTUNION)]


_INPUT_KEYBOARD = 1


class SendInputKeyboard:
    """The few user32 calls typing needs: SendInput, GetAsyncKeyState and the foreground window's integrity."""

    def __init__(self, user32: Any = None) -> None:
        self._user32 = user32 or ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]

    def send(self, events: Iterable[KeyEvent]) -> None:
        """Send the events in batches; raise OutputError when Windows refused some (blocked input)."""
        from tray_client.sinks.base import OutputError

        batch = list(events)
        for start in range(0, len(batch), EVENTS_PER_CALL):
            chunk = batch[start:start + EVENTS_PER_CALL]
            inputs = (_INPUT * len(chunk))(*[
                _INPUT(_INPUT_KEYBOARD, _INPUTUNION(ki=_KEYBDINPUT(vk, scan, flags, 0, 0)))
                for vk, scan, flags in chunk
            ])
            sent = self._user32.SendInput(len(chunk), inputs, ctypes.sizeof(_INPUT))
            if sent != len(chunk):
                raise OutputError(f"Windows accepted {sent} of {len(chunk)} key events (error "
                                  f"{ctypes.get_last_error()}); another program may be blocking input")

    def held_modifiers(self) -> frozenset[str]:
        """The modifiers the user holds now (GetAsyncKeyState's high bit)."""
        return held_modifiers(self._user32.GetAsyncKeyState)


def foreground_is_elevated() -> bool:
    """Whether the foreground window belongs to a process with a higher integrity level than ours (UIPI)."""
    user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32 = _kernel32()
    user32.GetForegroundWindow.restype = wintypes.HWND
    user32.GetWindowThreadProcessId.argtypes = [wintypes.HWND, ctypes.POINTER(wintypes.DWORD)]
    hwnd = user32.GetForegroundWindow()
    if not hwnd:
        return False
    pid = wintypes.DWORD()
    user32.GetWindowThreadProcessId(hwnd, ctypes.byref(pid))
    own = _integrity_rid(kernel32.GetCurrentProcess())
    if own is None:
        return False
    process_query_limited_information = 0x1000
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid.value)
    if not handle:
        return is_elevated_target(None, own) if ctypes.get_last_error() == 5 else False  # 5: access denied
    try:
        return is_elevated_target(_integrity_rid(handle), own)
    finally:
        kernel32.CloseHandle(handle)


def _integrity_rid(process: Any) -> int | None:
    """The mandatory integrity level RID of a process's token (0x2000 medium, 0x3000 high), None if denied."""
    advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32 = _kernel32()
    advapi32.OpenProcessToken.argtypes = [wintypes.HANDLE, wintypes.DWORD, ctypes.POINTER(wintypes.HANDLE)]
    advapi32.GetTokenInformation.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD,
                                             ctypes.POINTER(wintypes.DWORD)]
    advapi32.GetSidSubAuthorityCount.argtypes = [ctypes.c_void_p]
    advapi32.GetSidSubAuthority.argtypes = [ctypes.c_void_p, wintypes.DWORD]
    token = wintypes.HANDLE()
    token_query, token_integrity_level = 0x0008, 25
    if not advapi32.OpenProcessToken(process, token_query, ctypes.byref(token)):
        return None
    try:
        size = wintypes.DWORD()
        advapi32.GetTokenInformation(token, token_integrity_level, None, 0, ctypes.byref(size))
        buffer = ctypes.create_string_buffer(size.value)
        if not advapi32.GetTokenInformation(token, token_integrity_level, buffer, size, ctypes.byref(size)):
            return None
        sid = ctypes.cast(buffer, ctypes.POINTER(ctypes.c_void_p))[0]  # TOKEN_MANDATORY_LABEL.Label.Sid
        advapi32.GetSidSubAuthorityCount.restype = ctypes.POINTER(ctypes.c_ubyte)
        advapi32.GetSidSubAuthority.restype = ctypes.POINTER(wintypes.DWORD)
        count = advapi32.GetSidSubAuthorityCount(ctypes.c_void_p(sid)).contents.value
        return int(advapi32.GetSidSubAuthority(ctypes.c_void_p(sid), count - 1).contents.value)
    finally:
        kernel32.CloseHandle(token)


def _kernel32() -> Any:
    """kernel32 with the handle-returning functions typed (an untyped HANDLE is cut to 32 bits on x64)."""
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
    kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
    return kernel32
