"""The tray state as a pure function of the pipeline's facts, and the headless exit policy fed its events."""

from __future__ import annotations

from tray_client.config import ClientConfig
from tray_client.events import ClientState, Notice, StateChanged
from tray_client.headless import ExitPolicy, outcome
from tray_client.pipeline import ShutdownReport
from tray_client.state import Facts, derive_state

UP = Facts(link_connected=True, link_detail="connected")


def test_what_the_user_must_fix_comes_first_then_the_server_then_speech():
    assert derive_state(Facts(capture_error="mic gone", fault="x", link_error="token")) == (
        ClientState.ERROR, "mic gone")
    assert derive_state(Facts(fault="internal error in link", link_error="token")) == (
        ClientState.ERROR, "internal error in link")
    assert derive_state(Facts(link_error="refused token", speaking=True)) == (ClientState.ERROR, "refused token")
    assert derive_state(Facts(link_detail="cannot reach", speaking=True, listening=True)) == (
        ClientState.DISCONNECTED, "cannot reach")
    assert derive_state(Facts(link_connected=True, speaking=True, transcribing=True)) == (ClientState.SPEECH, "")
    assert derive_state(Facts(link_connected=True, transcribing=True, listening=True)) == (
        ClientState.TRANSCRIBING, "")
    assert derive_state(Facts(link_connected=True, listening=True)) == (ClientState.LISTENING, "")
    assert derive_state(UP) == (ClientState.OFF, "")


def test_headless_gives_up_on_a_server_down_too_long_counting_from_the_last_connection():
    policy = ExitPolicy(ClientConfig(server="ws://x", unreachable_exit_s=15), now=0.0)
    policy.on_event(StateChanged(ClientState.DISCONNECTED, "cannot reach ws://x"), 1.0)
    assert policy.reason_to_stop(15.0) is None
    assert "unreachable for 16 s (cannot reach ws://x)" in policy.reason_to_stop(16.0)
    policy.on_event(StateChanged(ClientState.LISTENING), 16.5)  # connected again
    policy.on_event(StateChanged(ClientState.DISCONNECTED, "connection lost"), 20.0)
    policy.on_event(StateChanged(ClientState.ERROR, "mic gone"), 21.0)  # says nothing about the server
    assert policy.reason_to_stop(35.0) is None and policy.reason_to_stop(35.1) is not None


def test_headless_stops_at_once_on_what_nobody_can_fix_while_it_waits_and_counts_lost_utterances():
    policy = ExitPolicy(ClientConfig(server="ws://x"), now=0.0)
    policy.on_event(StateChanged(ClientState.LISTENING), 0.1)
    policy.on_event(Notice("error", "mic gone", code="capture"), 0.2)
    policy.on_event(Notice("error", "an utterance got no transcript", code="untranscribed"), 0.3)
    assert policy.reason_to_stop(0.4) is None and policy.untranscribed == 1
    policy.on_event(Notice("error", "the server refused the token", code="auth_refused"), 0.5)
    assert policy.reason_to_stop(0.6) == "the server refused the token"
    assert outcome(ShutdownReport(0), 0) is None
    assert outcome(ShutdownReport(2, ("a", "b")), 1) == "3 utterance(s) never got a transcript"
