"""The app context as Windows code under Wine: with Notepad in front holding a letter, the context reader (the
same code as on Windows) returns Notepad's window title and, where UI Automation answers, the text at the caret.

Wine 8's uiautomationcore.dll carries a private type library ("UIA_wine_private") without CUIAutomation or
IUIAutomation, so comtypes cannot build the client interfaces from it and the reader falls back to the title
(seen 2026-12-07, Wine 8.0). The test therefore checks the title path there and, if a later Wine answers, the
text too. On Windows, UIAutomationCore.dll's type library has both, and Notepad's Edit answers ValuePattern.
"""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.journey, pytest.mark.slow]

LETTER = "Dear Ms Okonkwo, about the Lagos invoice"

READ = """
import json, ctypes
from ctypes import wintypes
user32 = ctypes.windll.user32
user32.FindWindowW.restype = wintypes.HWND
user32.FindWindowExW.restype = wintypes.HWND
user32.SendMessageW.argtypes = [wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPCWSTR]
notepad = user32.FindWindowW("Notepad", None)
edit = user32.FindWindowExW(notepad, None, "Edit", None)
user32.SendMessageW(edit, 0x000C, 0, %r)  # WM_SETTEXT
from tray_client.desktop.focus import current_focus
from tray_client.desktop.context_reader import ContextReader, read_app_text
from tray_client.desktop.app_context import compose
focus = current_focus()
reading = read_app_text(focus)
print(json.dumps({"app": focus.app, "title": reading.title, "text": reading.text, "secret": reading.secret,
                  "context": ContextReader(timeout_s=10).read(focus, 500)}))
"""


def test_notepad_in_front_gives_its_title_and_never_more_than_the_budget(notepad, wine_lane):
    out = wine_lane.run(READ % LETTER, timeout=120)
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["app"].lower() == "notepad.exe"
    assert "Notepad" in seen["title"]
    assert seen["context"].startswith(f"Window: {seen['title']}")
    assert len(seen["context"]) <= 500 and not seen["secret"]
    if seen["text"]:  # UI Automation answered (as on Windows): the letter is in the context
        assert LETTER in seen["context"]
    print("UI Automation under this Wine:", "answered" if seen["text"] else "no text (title path)")
