"""Copying the selection through the clipboard: the copy is read, the user's clipboard is always put back."""

from __future__ import annotations

from tests.client.test_pinning import Clock
from tray_client.voice_edit.selection import NOTHING_SELECTED, Selection, read_selection


class FakeClipboard:
    """The clipboard and an app that copies `selected` on Ctrl+C (nothing when it is None)."""

    def __init__(self, held: str | None, selected: str | None, *, copy_fails: bool = False) -> None:
        self.held = held
        self.selected = selected
        self.copy_fails = copy_fails
        self.history: list[str] = []
        self.closed = False

    def get(self) -> str | None:
        return self.held

    def set(self, text: str) -> None:
        self.held = text
        self.history.append(text)

    def snapshot(self) -> object:
        return self.held

    def restore(self, snapshot: object) -> None:
        self.set(snapshot if isinstance(snapshot, str) else "")

    def close(self) -> None:
        self.closed = True

    def press_copy(self) -> None:
        if self.copy_fails:
            raise OSError("xdotool is not installed")
        if self.selected is not None:
            self.held = self.selected


def test_the_selection_is_copied_and_the_users_clipboard_comes_back():
    clipboard = FakeClipboard("my clipboard", "hey can u send it")
    assert read_selection(clipboard) == Selection("hey can u send it")
    assert clipboard.held == "my clipboard" and clipboard.closed


def test_nothing_selected_says_so_after_the_wait_and_restores_the_clipboard():
    clipboard, clock = FakeClipboard("my clipboard", None), Clock()
    assert read_selection(clipboard, wait_s=3.0, clock=clock, sleep=clock.sleep) == Selection("", NOTHING_SELECTED)
    assert clock.now >= 3.0 and clipboard.held == "my clipboard"


def test_a_whitespace_selection_is_nothing_and_an_empty_clipboard_stays_empty():
    clipboard = FakeClipboard(None, "   ")
    assert read_selection(clipboard).error == NOTHING_SELECTED
    assert clipboard.held == ""  # not our marker


def test_a_copy_that_cannot_be_pressed_is_an_error_not_a_crash():
    clipboard = FakeClipboard("mine", "text", copy_fails=True)
    result = read_selection(clipboard)
    assert result.text == "" and "xdotool is not installed" in result.error
    assert clipboard.held == "mine"
