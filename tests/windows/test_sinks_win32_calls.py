"""The Windows sinks' own Win32 calls, run as Windows code: the SendInput structure, the integrity check (UIPI),
the clipboard window, and the headless stdout under a cp1252 console. Typing and pasting into Notepad are in
test_typing.py and test_windows_paths.py.

The clipboard check reports through a file, not a pipe: the first window a Wine process creates starts Wine's
desktop process, which inherits the pipes and keeps them open after our process has ended."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from dictation_devtools.wine.harness import win_path


def run_windows(wine_lane, code: str, result: Path) -> dict:
    """Run `code` (which writes JSON to sys.argv[1]) in the Windows Python; return what it wrote."""
    process = wine_lane.start(["-c", code, win_path(result)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert process.wait(timeout=120) == 0
    return json.loads(result.read_text(encoding="utf-8"))


def test_input_structure_clipboard_window_and_integrity_check_work_as_windows_code(wine_lane, tmp_path):
    result = run_windows(wine_lane,
                         "import ctypes, json, sys\n"
                         "from tray_client.sinks._win32 import set_clipboard_text\n"
                         "from tray_client.sinks._win32_clipboard_api import ClipboardApi\n"
                         "from tray_client.sinks._win32_input import _INPUT, foreground_is_elevated\n"
                         "set_clipboard_text('copied h\\u00e9llo \\U0001f389 \\u4f60\\u597d')\n"
                         "api = ClipboardApi()\n"
                         "assert api.open()\n"
                         "text = api.get_bytes(13).decode('utf-16-le').rstrip('\\0')\n"
                         "api.close()\n"
                         "api.destroy()\n"
                         "result = {'input_size': ctypes.sizeof(_INPUT), 'text': text, 'elevated': foreground_is_elevated()}\n"
                         "open(sys.argv[1], 'w', encoding='utf-8').write(json.dumps(result))\n", tmp_path / "result.json")
    assert result == {"input_size": 40, "text": "copied héllo 🎉 你好", "elevated": False}


def test_stdout_sink_writes_utf8_under_a_cp1252_console(wine_lane):
    process = wine_lane.start(
        ["-c", "import sys\n"
               "from tray_client.sinks import StdoutSink\n"
               "assert sys.stdout.encoding.lower() == 'cp1252', sys.stdout.encoding\n"
               "StdoutSink().emit('识别中文 🎉')\n"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"PYTHONIOENCODING": "cp1252", "PYTHONUTF8": "0"})
    out, err = process.communicate(timeout=120)
    assert out.replace(b"\r\n", b"\n") == "识别中文 🎉\n".encode(), err.decode("utf-8", "replace")
