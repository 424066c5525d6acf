"""Context from the focused app: what is sent (budget, caret, selection, passwords), the bounded reader, and the
privacy switches (global and per app)."""

from __future__ import annotations

import threading

from tray_client.config import ClientConfig
from tray_client.desktop.app_context import AppText, compose, may_send, near_caret
from tray_client.desktop.context_reader import ContextReader
from tray_client.desktop.focus import Focus
from tray_client.link.core import LinkSettings
from tray_client.pipeline import link_settings
from tray_client.text.dispatch import FollowFocus, TextDispatch


def test_near_caret_keeps_the_budget_mostly_before_the_caret():
    text = "a" * 1000 + "|" + "b" * 1000
    part = near_caret(text, 1000, 90)
    assert len(part) == 90 and part.index("|") == 60  # two thirds before the caret
    assert near_caret(text, len(text), 50) == "b" * 50  # at the end: all before
    assert near_caret(text, 0, 50) == "a" * 50  # at the start: all after
    assert near_caret("short", 2, 500) == "short"
    assert near_caret("anything", 3, 0) == ""


def test_compose_puts_the_title_first_and_stays_within_the_budget():
    reading = AppText("notepad.exe", "Invoice - Notepad", "x" * 2000 + "Dear Ms Okonkwo", None)
    context = compose(reading, 500)
    assert context.startswith("Window: Invoice - Notepad\n\n") and context.endswith("Dear Ms Okonkwo")
    assert len(context) <= 500


def test_a_password_field_sends_nothing_of_its_text():
    reading = AppText("app", "Sign in", "hunter2", 7, secret=True)
    assert "hunter2" not in compose(reading, 500) and compose(reading, 500) == "Window: Sign in"


def test_the_selection_is_sent_instead_of_the_text_around_the_caret():
    reading = AppText("app", "", "before the selected words after", 7, selection="selected words")
    assert compose(reading, 500) == "selected words"


def test_a_slow_app_costs_the_utterance_its_context_not_more_than_the_timeout():
    release = threading.Event()

    def hung(focus: Focus) -> AppText:
        release.wait(30)
        return AppText(text="late")

    reader = ContextReader(timeout_s=0.05, reader=hung)
    try:
        assert reader.read(Focus("1", ("app",)), 500) == ""
        assert reader.last_read_s < 5  # bounded by the timeout (generous for a loaded machine)
        assert reader.read(Focus("1", ("app",)), 500) == ""  # still busy: no second reading piles up
    finally:
        release.set()
        reader.close()


def test_a_reader_that_raises_gives_no_context_and_dictation_goes_on():
    def broken(focus: Focus) -> AppText:
        raise RuntimeError("bug")

    reader = ContextReader(timeout_s=5, reader=broken)
    assert reader.read(Focus("1"), 500) == ""
    reader.close()


class _Link:
    """A stand-in UtteranceLink: records the starts and the settings; the audio is not needed here."""

    def __init__(self) -> None:
        self.settings: LinkSettings | None = None
        self.opened: list[tuple[str, str]] = []

    def configure(self, settings: LinkSettings) -> None:
        self.settings = settings

    def open(self, utterance_id: str, context: str = "") -> None:
        self.opened.append((utterance_id, context))

    def append(self, utterance_id: str, pcm: bytes) -> None:
        pass

    def close(self, utterance_id: str) -> None:
        pass

    def silence(self, utterance_id: str, silence_ms: int) -> None:
        pass


def _follow(config: ClientConfig, reading: AppText) -> tuple[FollowFocus, _Link]:
    focus = Focus("7", ("mailapp",), 1234)
    dispatch = TextDispatch(config, fixed_sink=True, foreground=lambda: focus)
    link = _Link()
    follow = FollowFocus(link, dispatch, lambda: config, link_settings,
                         context_reader=lambda: ContextReader(timeout_s=5, reader=lambda f: reading))
    return follow, link


def test_the_context_goes_with_the_start_and_the_switches_turn_it_off():
    reading = AppText("mailapp", "Inbox", "Dear Ms Okonkwo", None)
    follow, link = _follow(ClientConfig(), reading)
    follow.open("u1")
    assert link.opened == [("u1", "Window: Inbox\n\nDear Ms Okonkwo")]
    follow.shutdown()
    for config in (ClientConfig(app_context=False), ClientConfig(apps={"mailapp": {"app_context": False}}),
                   ClientConfig(app_context_chars=0), ClientConfig(server="ws://192.168.1.20:8765")):
        follow, link = _follow(config, reading)
        follow.open("u2")
        assert link.opened == [("u2", "")]
        follow.shutdown()


def test_screen_text_goes_only_to_loopback_or_to_a_server_with_a_token():
    assert may_send("ws://127.0.0.1:8765", None) and may_send("ws://localhost:8765", None)
    assert may_send("ws://[::1]:8765", None)
    assert not may_send("ws://192.168.1.20:8765", None) and not may_send("wss://asr.example.com", "")
    assert may_send("wss://asr.example.com", "s3cret")
