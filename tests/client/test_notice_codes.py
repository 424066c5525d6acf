"""Notice codes are one enum: every code the client uses is listed, and an unlisted one is refused at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tray_client.events import Notice, NoticeCode

ROOT = Path(__file__).resolve().parents[2] / "tray_client"


def test_the_codes_the_output_reports_are_listed():
    # These two were used by delivery.py but missing from the list in events.py.
    assert Notice("warning", "put on the clipboard", code="on_clipboard").code is NoticeCode.ON_CLIPBOARD
    assert Notice("warning", "undo refused", code="text").code is NoticeCode.TEXT


def test_a_code_compares_equal_to_its_string_so_listeners_keep_working():
    assert Notice("error", "refused", code=NoticeCode.AUTH_REFUSED).code == "auth_refused"
    assert Notice("info", "news").code is NoticeCode.PLAIN


def test_an_unlisted_code_is_refused_where_it_is_made():
    with pytest.raises(ValueError, match="no_such_code"):
        Notice("warning", "x", code="no_such_code")


def test_every_code_written_as_a_string_in_the_client_is_listed():
    used = {match for path in ROOT.rglob("*.py")
            for match in re.findall(r'\bcode="(\w*)"', path.read_text(encoding="utf-8"))}
    assert used <= {code.value for code in NoticeCode}
