"""The Windows lane's hands and eyes: a Windows Python process, apart from the app under test, driven over stdin.

Runs under Wine with the embeddable CPython (never on Linux). One JSON request per line on stdin, one JSON
answer per line on stdout: `{"call": NAME, "args": {...}}` -> `{"ok": RESULT}` or `{"error": TEXT}`. Everything
here is plain Win32 through ctypes, as another program on the user's desktop would do it: start Notepad and read
its text back (WM_GETTEXT), press keys with SendInput (these arrive as *injected*, LLKHF_INJECTED, exactly as
on Windows), click the tray icon the way the shell does (its callback message), read and set the clipboard,
find message boxes and read their text.
"""

from __future__ import annotations

import ctypes
import json
import re
import subprocess
import sys
import time
from ctypes import wintypes
from typing import Any

user32 = ctypes.WinDLL("user32", use_last_error=True)
kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)

WM_GETTEXT = 0x000D
WM_GETTEXTLENGTH = 0x000E
WM_SETTEXT = 0x000C
WM_CLOSE = 0x0010
WM_QUERYENDSESSION = 0x0011
WM_ENDSESSION = 0x0016
ENDSESSION_LOGOFF = 0x80000000
WM_USER = 0x0400
PYSTRAY_NOTIFY = WM_USER + 11  # pystray's tray callback message (pystray._util.win32.WM_NOTIFY)
WM_KEYDOWN = 0x0100
VK_ESCAPE = 0x1B
WM_LBUTTONUP = 0x0202
WM_RBUTTONUP = 0x0205
INPUT_KEYBOARD = 1
KEYEVENTF_KEYUP = 0x0002
CF_UNICODETEXT = 13
GMEM_MOVEABLE = 0x0002

WNDENUMPROC = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.HWND, wintypes.LPARAM)
user32.FindWindowW.restype = wintypes.HWND
user32.FindWindowExW.restype = wintypes.HWND
user32.FindWindowExW.argtypes = [wintypes.HWND, wintypes.HWND, wintypes.LPCWSTR, wintypes.LPCWSTR]
user32.SendMessageW.restype = ctypes.c_ssize_t
user32.SendMessageW.argtypes = [wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM]
user32.PostMessageW.argtypes = [wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM]
user32.GetWindowThreadProcessId.argtypes = [wintypes.HWND, ctypes.POINTER(wintypes.DWORD)]
user32.GetClassNameW.argtypes = [wintypes.HWND, wintypes.LPWSTR, ctypes.c_int]
user32.GetWindowTextW.argtypes = [wintypes.HWND, wintypes.LPWSTR, ctypes.c_int]
user32.IsWindowVisible.argtypes = [wintypes.HWND]
user32.IsWindow.argtypes = [wintypes.HWND]
user32.MoveWindow.argtypes = [wintypes.HWND, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, wintypes.BOOL]
user32.SetForegroundWindow.argtypes = [wintypes.HWND]
user32.GetClipboardData.restype = wintypes.HANDLE
user32.SetClipboardData.argtypes = [wintypes.UINT, wintypes.HANDLE]
user32.SetClipboardData.restype = wintypes.HANDLE
user32.RegisterClipboardFormatW.argtypes = [wintypes.LPCWSTR]
user32.EnumClipboardFormats.argtypes = [wintypes.UINT]
user32.EnumWindows.argtypes = [WNDENUMPROC, wintypes.LPARAM]
user32.EnumChildWindows.argtypes = [wintypes.HWND, WNDENUMPROC, wintypes.LPARAM]
kernel32.GlobalAlloc.restype = wintypes.HGLOBAL
kernel32.GlobalAlloc.argtypes = [wintypes.UINT, ctypes.c_size_t]
kernel32.GlobalLock.restype = wintypes.LPVOID
kernel32.GlobalLock.argtypes = [wintypes.HGLOBAL]
kernel32.GlobalUnlock.argtypes = [wintypes.HGLOBAL]
kernel32.GlobalSize.restype = ctypes.c_size_t
kernel32.GlobalSize.argtypes = [wintypes.HGLOBAL]


class KEYBDINPUT(ctypes.Structure):
    _fields_ = [("wVk", wintypes.WORD), ("wScan", wintypes.WORD), ("dwFlags", wintypes.DWORD),
                ("time", wintypes.DWORD), ("dwExtraInfo", ctypes.c_size_t)]


class _INPUTUNION(ctypes.Union):
    _fields_ = [("ki", KEYBDINPUT), ("padding", ctypes.c_byte * 32)]


class INPUT(ctypes.Structure):
    _fields_ = [("type", wintypes.DWORD), ("union", _INPUTUNION)]


_notepad: subprocess.Popen | None = None


def _class_name(hwnd: int) -> str:
    buffer = ctypes.create_unicode_buffer(256)
    user32.GetClassNameW(hwnd, buffer, 256)
    return buffer.value


def _window_pid(hwnd: int) -> int:
    pid = wintypes.DWORD()
    user32.GetWindowThreadProcessId(hwnd, ctypes.byref(pid))
    return pid.value


def _get_text(hwnd: int) -> str:
    length = user32.SendMessageW(hwnd, WM_GETTEXTLENGTH, 0, 0)
    buffer = ctypes.create_unicode_buffer(length + 1)
    user32.SendMessageW(hwnd, WM_GETTEXT, length + 1, ctypes.addressof(buffer))
    return buffer.value


def _top_windows() -> list[int]:
    found: list[int] = []
    callback = WNDENUMPROC(lambda hwnd, _: found.append(hwnd) or True)
    user32.EnumWindows(callback, 0)
    return found


def _children(hwnd: int) -> list[int]:
    found: list[int] = []
    callback = WNDENUMPROC(lambda child, _: found.append(child) or True)
    user32.EnumChildWindows(hwnd, callback, 0)
    return found


def _wait(predicate: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


# --- Notepad -------------------------------------------------------------------------------------------------

def notepad_start(timeout: float = 20.0) -> int:
    """Start Notepad (once) and return its edit control's handle."""
    global _notepad
    if _notepad is None or _notepad.poll() is not None:
        _notepad = subprocess.Popen(["notepad.exe"])
    top = _wait(lambda: user32.FindWindowW("Notepad", None), timeout)
    if not top:
        raise RuntimeError("Notepad did not open a window")
    edit = _wait(lambda: user32.FindWindowExW(top, None, "Edit", None), timeout)
    return int(edit)


def notepad_focus() -> bool:
    return bool(user32.SetForegroundWindow(user32.FindWindowW("Notepad", None)))


def _notepad_top() -> int:
    """The first Notepad's window: the one `notepad_start` opened, even while a second Notepad is in front."""
    if _notepad is not None and _notepad.poll() is None:
        mine = [hwnd for hwnd in _top_windows() if _class_name(hwnd) == "Notepad" and _window_pid(hwnd) == _notepad.pid]
        if mine:
            return mine[0]
    return user32.FindWindowW("Notepad", None)


def notepad_text() -> str:
    return _get_text(user32.FindWindowExW(_notepad_top(), None, "Edit", None))


def notepad_clear() -> str:
    edit = user32.FindWindowExW(_notepad_top(), None, "Edit", None)
    user32.SendMessageW(edit, WM_SETTEXT, 0, ctypes.addressof(ctypes.create_unicode_buffer("")))
    return _get_text(edit)


# --- a second Notepad, on a file (its title names the file, so the user can tell the two apart) ----------------

_other_notepads: list[subprocess.Popen] = []


def _titled(name: str) -> list[int]:
    return [hwnd for hwnd in _top_windows()
            if _class_name(hwnd) == "Notepad" and user32.IsWindowVisible(hwnd) and name in _get_text(hwnd)]


def notepad_open(path: str, timeout: float = 20.0) -> int:
    """Open another Notepad on the existing file `path`; returns its top-level window."""
    name = path.replace("/", "\\").rsplit("\\", 1)[-1]
    _other_notepads.append(subprocess.Popen(["notepad.exe", path]))
    found = _wait(lambda: _titled(name), timeout)
    if not found or not _wait(lambda: user32.FindWindowExW(found[0], None, "Edit", None), timeout):
        raise RuntimeError(f"Notepad did not open a window for {path}")
    return int(found[0])


def notepad_window() -> int:
    """The first Notepad's top-level window."""
    return int(_notepad_top() or 0)


def foreground() -> int:
    """The window Windows has in front now (where keys go)."""
    return int(user32.GetForegroundWindow() or 0)


def window_move(hwnd: int, x: int, y: int, width: int = 420, height: int = 300) -> bool:
    """Move a window (so two Notepads do not overlap: a click meant for one must not land on the other)."""
    return bool(user32.MoveWindow(hwnd, x, y, width, height, True))


def window_text(hwnd: int) -> str | None:
    """The text in the Edit control of the top-level window `hwnd`; None once that window is gone."""
    if not user32.IsWindow(hwnd):
        return None
    return _get_text(user32.FindWindowExW(hwnd, None, "Edit", None))


def notepads_close_others() -> int:
    """End every Notepad `notepad_open` started (clean-up: the first one stays for the next test)."""
    ended = 0
    for process in _other_notepads:
        if process.poll() is None:
            process.kill()
            process.wait(10)
            ended += 1
    _other_notepads.clear()
    return ended


# --- keys from another program (injected) --------------------------------------------------------------------

def send_keys(events: list[list[Any]]) -> int:
    """SendInput virtual keys: [[vk, down], ...]. Windows (and Wine) mark these LLKHF_INJECTED."""
    inputs = (INPUT * len(events))()
    for slot, (vk, down) in zip(inputs, events, strict=True):
        slot.type = INPUT_KEYBOARD
        slot.union.ki = KEYBDINPUT(wVk=vk, wScan=0, dwFlags=0 if down else KEYEVENTF_KEYUP, time=0, dwExtraInfo=0)
    return int(user32.SendInput(len(events), inputs, ctypes.sizeof(INPUT)))


# --- the tray icon, as the shell drives it ----------------------------------------------------------------------

def tray_windows(pid: int | None = None) -> list[int]:
    """pystray's hidden windows (class `<name><id>SystemTrayIcon`), of process `pid` or of any."""
    return [hwnd for hwnd in _top_windows()
            if re.fullmatch(r".*\d+SystemTrayIcon", _class_name(hwnd)) and pid in (None, _window_pid(hwnd))]


def tray_click(pid: int | None = None, button: str = "left") -> int:
    """Post the tray callback message the shell sends when the user clicks the icon; returns windows reached."""
    windows = tray_windows(pid)
    message = WM_LBUTTONUP if button == "left" else WM_RBUTTONUP
    for hwnd in windows:
        user32.PostMessageW(hwnd, PYSTRAY_NOTIFY, 0, message)
    return len(windows)


def end_session() -> list[int]:
    """Sign out, as Windows does it to each top-level window: WM_QUERYENDSESSION, then (if every answer was yes)
    WM_ENDSESSION with wParam TRUE; both sent (the sender waits for the answer). Returns each query answer."""
    # The low 32 bits: pystray declares its window procedure as returning an HRESULT (32 bits), so the upper half
    # of the 64-bit LRESULT is whatever the register held.
    answers = [int(user32.SendMessageW(hwnd, WM_QUERYENDSESSION, 0, ENDSESSION_LOGOFF)) & 0xFFFFFFFF
               for hwnd in tray_windows()]
    if answers and all(answers):
        for hwnd in tray_windows():
            user32.SendMessageW(hwnd, WM_ENDSESSION, 1, ENDSESSION_LOGOFF)
    return answers


def menu_windows() -> list[int]:
    """Open popup menus (class #32768) that are visible."""
    return [hwnd for hwnd in _top_windows() if _class_name(hwnd) == "#32768" and user32.IsWindowVisible(hwnd)]


def menus_escape() -> int:
    """Post Escape to each open popup menu; returns how many got it.

    Posted to the menu's own window rather than sent through SendInput, so a key meant for a menu that has
    already closed dies with that window instead of waiting in the input queue, where it would shut the next
    menu the moment it opens."""
    return sum(bool(user32.PostMessageW(hwnd, WM_KEYDOWN, VK_ESCAPE, 0)) for hwnd in menu_windows())


# --- programs started as Explorer or the Run key starts them -------------------------------------------------

_started: dict[int, subprocess.Popen] = {}


def start_detached(argv: list[str], cwd: str | None = None) -> int:
    """Start a program with no console and no standard handles (as a logon Run entry or a shortcut does)."""
    detached, new_group = 0x00000008, 0x00000200  # DETACHED_PROCESS, CREATE_NEW_PROCESS_GROUP
    process = subprocess.Popen(argv, cwd=cwd, creationflags=detached | new_group, close_fds=True)
    _started[process.pid] = process
    return process.pid


def exit_code(pid: int) -> int | None:
    """The exit code of a program `start_detached` started, or None while it runs."""
    return _started[pid].poll()


def kill(pid: int) -> None:
    if _started[pid].poll() is None:
        _started[pid].kill()


# --- message boxes ---------------------------------------------------------------------------------------------

def dialogs(pid: int | None = None) -> list[dict[str, Any]]:
    """Visible dialog boxes (class #32770), with their title and the text of their static controls."""
    found = []
    for hwnd in _top_windows():
        if _class_name(hwnd) != "#32770" or not user32.IsWindowVisible(hwnd):
            continue
        if pid is not None and _window_pid(hwnd) != pid:
            continue
        texts = [_get_text(child) for child in _children(hwnd) if _class_name(child) == "Static"]
        found.append({"hwnd": int(hwnd), "title": _get_text(hwnd), "texts": [t for t in texts if t],
                      "pid": _window_pid(hwnd)})
    return found


def close_window(hwnd: int) -> bool:
    return bool(user32.PostMessageW(hwnd, WM_CLOSE, 0, 0))


# --- the clipboard ------------------------------------------------------------------------------------------------

def _open_clipboard() -> None:
    if not _wait(lambda: user32.OpenClipboard(None), 5.0):
        raise RuntimeError("the clipboard stayed busy")


def clipboard_set(text: str, custom: dict[str, str] | None = None) -> list[int]:
    """Put `text` (CF_UNICODETEXT) and optional registered binary formats {name: hex bytes} on the clipboard."""
    _open_clipboard()
    try:
        user32.EmptyClipboard()
        items = [(CF_UNICODETEXT, (text + "\0").encode("utf-16-le"))]
        for name, payload in (custom or {}).items():
            items.append((user32.RegisterClipboardFormatW(name), bytes.fromhex(payload)))
        for fmt, data in items:
            handle = kernel32.GlobalAlloc(GMEM_MOVEABLE, len(data))
            pointer = kernel32.GlobalLock(handle)
            ctypes.memmove(pointer, data, len(data))
            kernel32.GlobalUnlock(handle)
            if not user32.SetClipboardData(fmt, handle):
                raise RuntimeError(f"SetClipboardData({fmt}) failed: {ctypes.get_last_error()}")
        return [fmt for fmt, _ in items]
    finally:
        user32.CloseClipboard()


def clipboard_get(custom: list[str] | None = None) -> dict[str, Any]:
    """The clipboard's text, the list of formats on it, and the bytes (hex) of the named registered formats."""
    _open_clipboard()
    try:
        formats = []
        fmt = user32.EnumClipboardFormats(0)
        while fmt:
            formats.append(fmt)
            fmt = user32.EnumClipboardFormats(fmt)
        text = None
        handle = user32.GetClipboardData(CF_UNICODETEXT)
        if handle:
            pointer = kernel32.GlobalLock(handle)
            text = ctypes.wstring_at(pointer)
            kernel32.GlobalUnlock(handle)
        blobs = {}
        for name in custom or []:
            handle = user32.GetClipboardData(user32.RegisterClipboardFormatW(name))
            if handle:
                pointer = kernel32.GlobalLock(handle)
                blobs[name] = ctypes.string_at(pointer, kernel32.GlobalSize(handle)).hex()
                kernel32.GlobalUnlock(handle)
        return {"text": text, "formats": formats, "custom": blobs}
    finally:
        user32.CloseClipboard()


# --- the registry --------------------------------------------------------------------------------------------------

def run_key_value(name: str) -> str | None:
    """HKCU\\...\\Run\\<name>, as the Startup apps page reads it."""
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, r"Software\Microsoft\Windows\CurrentVersion\Run") as key:
            return str(winreg.QueryValueEx(key, name)[0])
    except FileNotFoundError:
        return None


CALLS = {function.__name__: function for function in (
    notepad_start, notepad_focus, notepad_text, notepad_clear, notepad_open, notepad_window, foreground, window_move,
    window_text,
    notepads_close_others, send_keys, tray_windows, tray_click, menu_windows,
    menus_escape, end_session,
    dialogs, close_window, clipboard_set, clipboard_get, run_key_value, start_detached, exit_code, kill)}


def main() -> int:
    sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    sys.stdin.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    print(json.dumps({"ok": "ready"}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = {"ok": CALLS[request["call"]](**request.get("args", {}))}
        except Exception as error:
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)
    if _notepad is not None and _notepad.poll() is None:
        _notepad.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
