"""Windows: the focused control's text, caret and selection through UI Automation, with comtypes.

Why comtypes and not the `uiautomation` package: `uiautomation` is itself built on comtypes, and importing it
sets the whole process's DPI awareness (`SetProcessDpiAwareness(PerMonitorDpiAware)` at import, version 2.0.29)
and ships its own native DLLs; we need four calls (GetFocusedElement, IsPassword, TextPattern, ValuePattern),
which comtypes gives over the system's UIAutomationCore.dll with no side effect.

What is read: the focused element; nothing if it is a password field (`CurrentIsPassword`). With TextPattern
(Word, WordPad, RichEdit, browsers' fields): the document's text, the caret as the start of the first selection
range, and the selected text. With ValuePattern only (a plain Edit such as Notepad's older versions, address
bars): its value, the caret taken as its end. Runs on the context reader's worker thread, which initialises COM
for itself. Any failure is "no reading" (the window title is used instead).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from tray_client.desktop.app_context import AppText

log = logging.getLogger(__name__)

MAX_CHARS = 20_000
_TEXT_PATTERN = 10014
_VALUE_PATTERN = 10002
_ENDPOINT_START, _ENDPOINT_END = 0, 1
_local = threading.local()


def _automation() -> tuple[Any, Any]:
    automation = getattr(_local, "automation", None)
    if automation is None:
        import comtypes
        import comtypes.client

        # RPC_E_CHANGED_MODE: importing comtypes on this thread already initialised COM (STA), fine too.
        with contextlib.suppress(OSError):
            comtypes.CoInitializeEx(comtypes.COINIT_MULTITHREADED)
        # The generated module, by what GetModule returns (its name comes from the type library, which differs
        # between Windows and Wine).
        client = comtypes.client.GetModule("UIAutomationCore.dll")

        automation = comtypes.client.CreateObject(client.CUIAutomation._reg_clsid_, interface=client.IUIAutomation)
        _local.automation, _local.client = automation, client
    return automation, _local.client


def read_focused_text() -> AppText | None:
    """The focused control's text, or None when UI Automation cannot say (then the title is used)."""
    try:
        automation, client = _automation()
        element = automation.GetFocusedElement()
        if element is None:
            return None
        if element.CurrentIsPassword:
            return AppText(secret=True)
        reading = _text_pattern(element, client)
        return reading if reading is not None else _value_pattern(element, client)
    except Exception as error:
        log.debug("UI Automation gave no text: %s", error)
        return None


def _text_pattern(element: Any, client: Any) -> AppText | None:
    pattern = element.GetCurrentPattern(_TEXT_PATTERN)
    if not pattern:
        return None
    pattern = pattern.QueryInterface(client.IUIAutomationTextPattern)
    document = pattern.DocumentRange
    text = document.GetText(MAX_CHARS)
    caret: int | None = None
    selection = ""
    ranges = pattern.GetSelection()
    if ranges is not None and ranges.Length > 0:
        first = ranges.GetElement(0)
        selection = first.GetText(MAX_CHARS)
        before = document.Clone()
        before.MoveEndpointByRange(_ENDPOINT_END, first, _ENDPOINT_START)
        caret = len(before.GetText(MAX_CHARS))
    return AppText(text=text, caret=caret, selection=selection)


def _value_pattern(element: Any, client: Any) -> AppText | None:
    pattern = element.GetCurrentPattern(_VALUE_PATTERN)
    if not pattern:
        return None
    value = pattern.QueryInterface(client.IUIAutomationValuePattern).CurrentValue or ""
    return AppText(text=value[-MAX_CHARS:])
