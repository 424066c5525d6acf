"""The user dictates into a GTK app on a desktop with accessibility (AT-SPI) on, with the client started as a
user starts it: the server receives, with the utterance's start, the app's window title and the text nearest
the caret, so it can spell "Okonkwo" as on screen. A password field gives only the title; app_context = false
sends nothing; the history never holds the context."""

from __future__ import annotations

import sqlite3

import pytest

from dictation_devtools.user_desktop import UserDesktop
from tests.client.protocol_server import ProtocolServer
from tests.journeys._context_support import gtk_field
from tests.journeys._hostile_server_support import run_headless, scripted, user_env

pytestmark = [pytest.mark.journey, pytest.mark.slow, pytest.mark.desktop]

ON_SCREEN = "Dear Ms Okonkwo, about the Lagos invoice"


def _dictate(user_desktop: UserDesktop, speech, tmp_path, *flags: str) -> dict[str, str | None]:
    sample = speech.english
    with ProtocolServer(scripted(sample, "Thank you for the invoice.")) as server:
        result = run_headless(tmp_path, "--server", server.url, "--input-wav", str(sample.path), "--output",
                              "stdout", "--fast", *flags, env=user_env(tmp_path, **user_desktop.env()))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Thank you for the invoice." in result.stdout
    return server.record.start_contexts


def test_the_focused_fields_text_and_title_go_with_the_utterance(user_desktop, speech, tmp_path):
    with gtk_field(user_desktop.env(), ON_SCREEN):
        contexts = _dictate(user_desktop, speech, tmp_path)
    first = next(iter(contexts.values()))
    assert first == f"Window: Context target\n\n{ON_SCREEN}"
    history = list((tmp_path / "xdg_data_home").rglob("history.sqlite3"))
    assert history, "the headless run keeps its text in the history"
    for path in history:  # the text is there, the context never is
        with sqlite3.connect(path) as db:
            dump = "\n".join(db.iterdump())
        assert "Thank you for the invoice." in dump and "Okonkwo" not in dump


def test_a_password_field_gives_only_the_title(user_desktop, speech, tmp_path):
    with gtk_field(user_desktop.env(), "hunter2-secret", password=True):
        contexts = _dictate(user_desktop, speech, tmp_path)
    assert all(context == "Window: Context target" for context in contexts.values()), contexts


def test_the_privacy_switch_sends_nothing(user_desktop, speech, tmp_path):
    with gtk_field(user_desktop.env(), ON_SCREEN):
        contexts = _dictate(user_desktop, speech, tmp_path, "--no-app-context")
    assert contexts and all(context is None for context in contexts.values()), contexts
