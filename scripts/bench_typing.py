"""How long a final takes to appear in the focused window: from the sink's emit() to the last key processed.

    PYTHONPATH=. python scripts/bench_typing.py [--chars 200] [--runs 10] [--delay-ms N]    (X11: Xvfb)
    PYTHONPATH=. python scripts/bench_typing.py --wine [--paste] [--chars 200] [--runs 10]  (Windows code, Wine)

X11: starts Xvfb and a Tk window in another process that stamps (CLOCK_MONOTONIC, shared by the processes of
one machine) the moment its text reaches the final's length; the product's XdotoolTyper types into it.
Windows (`--wine` runs this script with `--windows` in the Windows lane's Wine prefix, tests/windows, and
clicks into Notepad as a user does): starts Notepad, waits until it is in front and types with the product's
Win32Typer (or pastes with Win32ClipboardPaster, `--paste`), polling the Edit control's text length
(WM_GETTEXTLENGTH) from this process until the whole final is there. `send_p50_ms` is how long our SendInput
call itself took.
Prints one JSON line: p50, p90 and max in ms, and whether every run arrived exactly.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SENTENCE = "The build is green, déjà vu: 识别 tests pass again. "


def final_of(chars: int) -> str:
    return (SENTENCE * (chars // len(SENTENCE) + 1))[:chars].rstrip() + "."


def target_main(out: str, expected_len: int) -> None:
    """The Tk target (its own process): stamp when the text reaches `expected_len`, then empty itself."""
    import tkinter as tk

    root = tk.Tk(className="BenchTarget")
    root.title("bench-typing-target")
    text = tk.Text(root)
    text.pack()
    text.focus_force()

    def check() -> None:
        value = text.get("1.0", "end-1c")
        if len(value) >= expected_len:
            stamp = time.monotonic()
            Path(out + ".tmp").write_text(json.dumps({"at": stamp, "text": value}), encoding="utf-8")
            os.replace(out + ".tmp", out)
            text.delete("1.0", "end")

    root.bind_all("<KeyPress>", lambda _e: root.after_idle(check))
    root.after(100, lambda: Path(out + ".ready").write_text(str(root.winfo_id())))
    root.mainloop()


def bench_x11(chars: int, runs: int, delay_ms: int | None) -> dict[str, object]:
    import tempfile

    from dictation_devtools.desktop import start_display
    from dictation_devtools.polling import wait_for
    from tray_client.config import ClientConfig
    from tray_client.sinks._x11 import XdotoolTyper

    text = final_of(chars)
    display = start_display()
    os.environ["DISPLAY"] = display.name
    work = Path(tempfile.mkdtemp(prefix="bench-typing-"))
    out = str(work / "arrived")
    target = subprocess.Popen([sys.executable, __file__, "--target", out, str(len(text))], env=display.env())
    try:
        if not wait_for(lambda: Path(out + ".ready").exists(), 20):
            raise SystemExit("the Tk target did not start")
        subprocess.run(["xdotool", "search", "--sync", "--name", "bench-typing-target", "windowfocus", "--sync"],
                       env=display.env(), check=True, timeout=20, capture_output=True)
        typer = XdotoolTyper(ClientConfig().type_delay_ms if delay_ms is None else delay_ms, display.name)
        times, exact = [], True
        for _ in range(runs + 1):  # the first run binds the keycodes and warms up: not counted
            Path(out).unlink(missing_ok=True)
            started = time.monotonic()
            typer.emit(text)
            if not wait_for(lambda: Path(out).exists(), 30):
                raise SystemExit("the text never arrived")
            arrived = json.loads(Path(out).read_text(encoding="utf-8"))
            exact = exact and arrived["text"] == text
            times.append((arrived["at"] - started) * 1000)
        typer.close()
        return _summary("x11 xdotool", text, times[1:], exact, delay_ms=typer.delay_ms)
    finally:
        target.terminate()
        target.wait(5)
        display.close()


def bench_windows(chars: int, runs: int, paste: bool = False) -> dict[str, object]:
    import ctypes
    from ctypes import wintypes

    from tray_client.sinks._win32 import Win32ClipboardPaster, Win32Typer

    user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined]
    user32.FindWindowW.restype = wintypes.HWND
    user32.FindWindowExW.restype = wintypes.HWND
    user32.FindWindowExW.argtypes = [wintypes.HWND, wintypes.HWND, wintypes.LPCWSTR, wintypes.LPCWSTR]
    user32.SendMessageW.argtypes = [wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM]
    user32.SendMessageW.restype = ctypes.c_ssize_t
    user32.SetForegroundWindow.argtypes = [wintypes.HWND]
    wm_gettextlength, wm_settext, wm_gettext = 0x000E, 0x000C, 0x000D
    text = final_of(chars)
    notepad = subprocess.Popen(["notepad.exe"])
    try:
        deadline = time.monotonic() + 30
        window = None
        while not window and time.monotonic() < deadline:
            window = user32.FindWindowW("Notepad", None)
            time.sleep(0.05)
        edit = user32.FindWindowExW(window, None, "Edit", None)
        user32.SetForegroundWindow(window)
        user32.GetForegroundWindow.restype = wintypes.HWND
        while user32.GetForegroundWindow() != window:  # under Wine: the caller clicks into Notepad (xdotool)
            if time.monotonic() > deadline + 30:
                raise SystemExit("Notepad never got the focus: click into it")
            time.sleep(0.05)
        typer = Win32ClipboardPaster() if paste else Win32Typer()
        units = len(text.encode("utf-16-le")) // 2

        def length() -> int:
            return int(user32.SendMessageW(edit, wm_gettextlength, 0, 0))

        def content() -> str:
            buffer = ctypes.create_unicode_buffer(length() + 1)
            user32.SendMessageW(edit, wm_gettext, len(buffer), ctypes.addressof(buffer))
            return buffer.value

        times, sent, exact = [], [], True
        for _ in range(runs + 1):
            empty = ctypes.create_unicode_buffer("")
            user32.SendMessageW(edit, wm_settext, 0, ctypes.addressof(empty))
            if length():
                raise SystemExit(f"Notepad could not be emptied: {content()!r}")
            started = time.monotonic()
            typer.emit(text)
            sent.append((time.monotonic() - started) * 1000)
            while length() < units:
                if time.monotonic() - started > 60:
                    raise SystemExit(f"the text never arrived in Notepad ({length()} of {units} units)")
                time.sleep(0.001)  # a tight SendMessage loop starves Notepad's input queue (sent messages go first)
            times.append((time.monotonic() - started) * 1000)
            got = content()
            if got != text:
                print(f"not exact: {got!r}", file=sys.stderr, flush=True)
            exact = exact and got == text
        return _summary("windows Ctrl+V paste (Wine)" if paste else "windows SendInput (Wine)", text, times[1:],
                        exact, send_p50_ms=round(statistics.median(sent[1:]), 1))
    finally:
        notepad.kill()


def bench_wine(argv: list[str]) -> int:
    """From Linux: run this script with --windows under Wine on a fresh Xvfb, and click into Notepad."""
    import threading

    from dictation_devtools.desktop import start_display
    from dictation_devtools.wine.harness import REPO_ROOT, WineLane, focus_notepad

    display = start_display()
    lane = WineLane.build(REPO_ROOT / ".wine-lane", display.name, sys.executable)
    process = lane.start(["scripts/bench_typing.py", "--windows", *argv], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)  # a pipe: the embeddable Python aborts on a file
    lines: list[str] = []
    # Read line by line and wait for the process, not for the pipe's end: Wine's own processes inherit it.
    reader = threading.Thread(target=lambda: lines.extend(line.decode("utf-8", "replace")
                                                          for line in iter(process.stdout.readline, b"")),
                              daemon=True)
    reader.start()
    try:
        focus_notepad(display.name)
        process.wait(timeout=600)
        reader.join(timeout=2)
        sys.stdout.write("".join(lines))
        return process.returncode
    finally:
        if process.poll() is None:
            process.kill()
        lane.close()
        display.close()


def _summary(sink: str, text: str, times: list[float], exact: bool, **extra: object) -> dict[str, object]:
    ordered = sorted(times)
    return {"sink": sink, "chars": len(text), "runs": len(times), "p50_ms": round(statistics.median(times), 1),
            "p90_ms": round(ordered[max(0, int(len(ordered) * 0.9) - 1)], 1), "max_ms": round(ordered[-1], 1),
            "exact": exact, **extra}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=200)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--delay-ms", type=int, default=None, help="X11: xdotool's per-key delay (default: the "
                        "app's type_delay_ms)")
    parser.add_argument("--windows", action="store_true", help="type into Notepad with the Windows sink")
    parser.add_argument("--wine", action="store_true", help="run --windows under Wine (from Linux)")
    parser.add_argument("--paste", action="store_true", help="Windows: the clipboard sink (output = clipboard)")
    parser.add_argument("--target", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.target:
        target_main(args.target[0], int(args.target[1]))
        return 0
    if args.wine:
        return bench_wine([a for a in (argv if argv is not None else sys.argv[1:]) if a != "--wine"])
    result = bench_windows(args.chars, args.runs, args.paste) if args.windows else bench_x11(args.chars, args.runs,
                                                                                args.delay_ms)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
