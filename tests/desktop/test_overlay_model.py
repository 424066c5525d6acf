"""What the overlay shows when, without a display: partials while speaking, the final with its latency, the
fade, the states and problems, and the off switch."""

from __future__ import annotations

from tray_client.events import ClientState
from tray_client.ui.overlay.model import ERROR_HOLD_S, FADE_S, FINAL_HOLD_S, OverlayModel


def test_partial_while_speaking_then_the_final_with_latency_then_it_fades():
    model = OverlayModel()
    model.state(ClientState.LISTENING, "", 0.0)
    model.state(ClientState.SPEECH, "", 5.0)
    view = model.view(5.1)
    assert (view.visible, view.status, view.tone, view.text) == (True, "Hearing you", "speech", "")
    model.partial("hello wor", 5.5)
    assert model.view(5.6).text == "hello wor"
    model.state(ClientState.TRANSCRIBING, "", 6.0)
    assert (model.view(6.1).status, model.view(6.1).text) == ("Transcribing…", "hello wor")
    model.final("hello world", 6.4)
    model.state(ClientState.LISTENING, "", 6.41)
    model.latency(0.62)
    view = model.view(6.5)
    assert (view.status, view.tone, view.text, view.alpha) == ("Typed · 620 ms after you stopped", "done",
                                                               "hello world", 1.0)
    assert 0.0 < model.view(6.4 + FINAL_HOLD_S + FADE_S / 2).alpha < 1.0
    assert not model.view(6.4 + FINAL_HOLD_S + FADE_S + 0.01).visible


def test_a_new_utterance_clears_the_old_final_and_long_text_keeps_its_end():
    model = OverlayModel()
    model.final("old words", 1.0)
    model.state(ClientState.SPEECH, "", 1.2)
    assert model.view(1.3).text == ""
    model.partial("x" * 300 + "END", 1.4)
    text = model.view(1.5).text
    assert text.startswith("…") and text.endswith("END") and len(text) == 160


def test_problems_are_shown_for_a_while_and_listening_briefly():
    model = OverlayModel()
    model.state(ClientState.LISTENING, "", 0.0)
    assert model.view(0.5).status == "Listening"
    assert not model.view(3.0).visible  # idle listening does not sit on the screen all day
    model.state(ClientState.DISCONNECTED, "connection refused", 10.0)
    view = model.view(10.1)
    assert view.tone == "problem" and view.status.startswith("Server unreachable")
    assert not model.view(10.0 + ERROR_HOLD_S + FADE_S + 0.1).visible
    model.state(ClientState.ERROR, "the server refused the token", 20.0)
    assert model.view(20.1).status == "Error: the server refused the token"


def test_turned_off_it_shows_nothing():
    model = OverlayModel()
    model.enabled = False
    model.state(ClientState.SPEECH, "", 0.0)
    model.partial("words", 0.1)
    assert not model.view(0.2).visible
