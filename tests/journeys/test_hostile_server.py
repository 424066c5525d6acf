"""A user's client against a server that accepts every session and closes it right after `hello` (a crash loop,
a broken proxy, a hostile program on the port): the client backs off, says what is wrong in words, keeps the
audio, and a headless run ends with exit code 3 instead of reconnecting four times a second forever."""

from __future__ import annotations

import itertools

import pytest

from dictation_devtools.polling import wait_for
from tests.client.protocol_server import Faults, ProtocolServer
from tests.desktop.tray_harness import start_tray
from tests.journeys._hostile_server_support import kept_audio, run_headless, scripted
from tray_client.link.backoff import BACKOFF_INITIAL_S, JITTER, UNSTABLE_AFTER

pytestmark = [pytest.mark.journey, pytest.mark.slow]

CLOSED = "the server keeps closing the connection: it closed the connection (code 1011: injected: closing after hello)"


def assert_backed_off(stamps: list[float]) -> None:
    """Each wait at least (1 - JITTER) x its nominal value, which doubles (a loaded machine only waits longer)."""
    gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    for n, gap in enumerate(gaps):
        assert gap >= (1 - JITTER) * BACKOFF_INITIAL_S * 2**n * 0.95, gaps


def test_a_headless_run_exits_3_says_the_server_keeps_closing_and_keeps_the_audio(speech, tmp_path):
    sample = speech.english
    with ProtocolServer(scripted(sample, "never delivered"), Faults(close_after_ready=1011)) as server:
        result = run_headless(tmp_path, "--server", server.url, "--input-wav", str(sample.path), "--output",
                              "stdout", "--fast")
        stamps = list(server.record.connected_at)
    assert result.returncode == 3, result.stderr[-3000:]
    assert result.stdout == ""
    reason = result.stderr.strip().splitlines()[-1]
    assert CLOSED in reason and f"({UNSTABLE_AFTER} sessions in a row without a transcript)" in reason, reason
    assert "untranscribed --transcribe" in reason  # and how to get the words later
    saved = kept_audio(tmp_path)
    assert saved and f"is kept in {saved[0].parent}" in reason
    assert UNSTABLE_AFTER <= len(stamps) <= UNSTABLE_AFTER + 1  # a bounded number of attempts, then it stopped
    assert_backed_off(stamps)


@pytest.mark.desktop
def test_the_tray_notifies_once_shows_it_in_the_tooltip_and_backs_off(x_display, tmp_path):
    with ProtocolServer(lambda utterance, audio: "", Faults(close_after_ready=1011)) as server:
        tray = start_tray(x_display, tmp_path / "tray-home", "--server", server.url)
        try:
            tray.find_icon()
            assert wait_for(lambda: f"notification: {CLOSED}" in tray.log_text(), 90), tray.log_text()[-3000:]
            assert wait_for(lambda: "keeps closing" in tray.title(), 30), tray.title()
            assert wait_for(lambda: server.record.connections >= UNSTABLE_AFTER + 3, 90)
            stamps = list(server.record.connected_at)
            log = tray.log_text()
        finally:
            tray.close()
    assert log.count(f"notification: {CLOSED}") == 1  # one notice per streak, not one per attempt
    assert_backed_off(stamps)


def test_a_final_too_large_to_read_ends_the_run_with_the_reason_not_a_loop(speech, tmp_path):
    """A 5 MB final: the client closes each such connection (1009); it stops after a bounded number of tries."""
    sample = speech.english
    with ProtocolServer(scripted(sample), Faults(reply_instead_of_final="x" * 5_000_000)) as server:
        result = run_headless(tmp_path, "--server", server.url, "--input-wav", str(sample.path), "--output",
                              "stdout", "--fast")
        connections = server.record.connections
    assert result.returncode == 3, result.stderr[-3000:]
    reason = result.stderr.strip().splitlines()[-1]
    assert "the server keeps closing the connection: a reply from the server was over the client's limit of 4 MiB" \
        in reason, reason
    assert "Traceback" not in result.stderr and kept_audio(tmp_path)
    assert connections <= UNSTABLE_AFTER + 1


def test_a_5000_digit_number_is_reported_as_an_unreadable_reply_not_a_traceback(speech, tmp_path):
    sample = speech.english
    reply = '{"type": "final", "id": "x", "text": "hi", "n": ' + "9" * 5000 + "}"
    with ProtocolServer(scripted(sample), Faults(reply_instead_of_final=reply)) as server:
        result = run_headless(tmp_path, "--server", server.url, "--input-wav", str(sample.path), "--output",
                              "stdout", "--fast", "--final-timeout-s", "1")
    assert result.returncode == 3, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert "the server sent a reply this client cannot read (a number of 5000 digits" in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith("utterance(s) never got a transcript")
    saved = kept_audio(tmp_path)  # each one said so when it was given up, with where its audio is
    assert saved and f"its audio is saved in {saved[0]} (get the text later with" in result.stderr
