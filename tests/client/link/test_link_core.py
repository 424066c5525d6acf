"""LinkCore without a socket: every replay, dedupe, ordering, too_long, engine-retry and delivery rule as pure
state transitions (the socket-level behaviour is in test_link.py)."""

from __future__ import annotations

import json

import pytest

from tray_client.link.actions import (
    AuthRefused,
    Deliver,
    Disconnect,
    Fail,
    LinkError,
    Reconnect,
    ShowPartial,
    Unsent,
)
from tray_client.link.backoff import DROPPED_MAX_S, HEALTHY_AFTER_S, JITTER, UNSTABLE_AFTER, Ending, Retry
from tray_client.link.core import (
    BACKOFF_INITIAL_S,
    BACKOFF_MAX_S,
    DELIVERY_ATTEMPTS,
    MAX_DROP_REPLAYS,
    MAX_FRAME_BYTES,
    Backoff,
    LinkCore,
    LinkSettings,
)
from tray_client.link.spool import HeldAudio

A = b"\x01\x00" * 100
B = b"\x02\x00" * 100


def core(**settings) -> LinkCore:
    link = LinkCore(LinkSettings(url="ws://test", **settings))
    link.connection_made()
    return link


def events(frames: list) -> list:
    """Frames as readable items: JSON events by name (start with its id), audio as bytes."""
    out = []
    for frame in frames:
        if isinstance(frame, bytes):
            out.append(frame)
        else:
            data = json.loads(frame)
            out.append(f"start {data['id']}" if data["event"] == "start" else data["event"])
    return out


def final(utterance_id: str | None, text: str) -> str:
    return json.dumps({"type": "final", "id": utterance_id, "text": text, "language": "English"})


def error(code: str, utterance_id: str | None = None) -> str:
    return json.dumps({"type": "error", "code": code, "id": utterance_id, "message": "m"})


def utterance(link: LinkCore, utterance_id: str, *chunks: bytes) -> None:
    link.open(utterance_id)
    for chunk in chunks:
        link.append(utterance_id, chunk)
    link.close(utterance_id)


def take(link: LinkCore, actions: list) -> list[tuple[str, str]]:
    """Act as a consumer that takes every final: acknowledge each Deliver; return what was delivered."""
    taken = []
    while actions:
        action = actions.pop(0)
        if isinstance(action, Deliver):
            taken.append((action.segment_id, action.text))
            actions.extend(link.delivered(action.segment_id))
    return taken


def test_hello_then_audio_at_once_without_waiting_for_ready():
    link = core(language="Chinese", context="Qwen")
    utterance(link, "u", A, B)
    frames = link.data_to_send(now=0.0)
    assert json.loads(frames[0]) == {"event": "hello", "protocol": 1, "language": "Chinese", "context": "Qwen"}
    assert events(frames[1:]) == ["start u", A, B, "stop"]
    assert link.data_to_send(now=0.0) == []  # nothing is sent twice on one connection
    assert link.receive_text(json.dumps({"type": "ready", "protocol": 1})) == []  # ready is information only


def test_nothing_is_sent_while_disconnected_and_everything_is_replayed_from_the_first_byte():
    link = LinkCore(LinkSettings(url="ws://test"))
    utterance(link, "a", A)
    assert link.data_to_send(0.0) == []
    link.connection_made()
    link.open("b")
    link.append("b", A)
    assert events(link.data_to_send(0.0))[1:] == ["start a", A, "stop", "start b", A]
    assert take(link, link.receive_text(final("a", "one"))) == [("a", "one")]
    link.append("b", B)
    link.connection_lost()
    link.connection_made()
    # "a" is delivered and not sent again; the open "b" starts over with all of its audio.
    assert events(link.data_to_send(0.0))[1:] == ["start b", A, B]


def test_a_long_chunk_is_split_into_frames_the_server_accepts():
    link = core()
    big = bytes(MAX_FRAME_BYTES * 2 + 10)
    utterance(link, "big", big)
    audio = [f for f in link.data_to_send(0.0) if isinstance(f, bytes)]
    assert [len(f) for f in audio] == [MAX_FRAME_BYTES, MAX_FRAME_BYTES, 10] and b"".join(audio) == big


def test_finals_are_delivered_in_utterance_order_and_once():
    link = core()
    utterance(link, "a", A)
    utterance(link, "b", B)
    link.data_to_send(0.0)
    assert link.receive_text(final("b", "second")) == []  # waits for "a"
    assert take(link, link.receive_text(final("a", "first"))) == [("a", "first"), ("b", "second")]
    assert link.receive_text(final("a", "first")) == []  # a replay answered twice
    assert link.unfinished == 0


def test_a_final_the_consumer_could_not_take_is_offered_again_then_given_up_with_its_audio():
    link = core()
    utterance(link, "a", A)
    link.data_to_send(0.0)
    (offer,) = link.receive_text(final("a", "words"))
    assert offer == Deliver("a", "words", "English")
    assert link.delivery_failed("a", "RuntimeError: boom") == []
    assert link.receive_text(final("a", "words")) == []  # a replay's final is not a new delivery ...
    assert link.tick(1.0) == [offer]  # ... the kept one is offered again
    assert take(link, [offer]) == [("a", "words")] and link.unfinished == 0

    utterance(link, "b", B)
    link.data_to_send(0.0)
    actions = link.receive_text(final("b", "lost?"))
    for _ in range(DELIVERY_ATTEMPTS - 1):
        assert link.delivery_failed("b", "boom") == []
        actions = link.tick(2.0)
        assert actions == [Deliver("b", "lost?", "English")]
    (failed,) = link.delivery_failed("b", "boom")
    assert failed == Fail("b", B, "its transcript could not be output: boom")
    assert link.unfinished == 0


def test_too_long_segments_are_delivered_in_order_and_the_utterance_ends_with_the_uncut_one():
    link = core()
    link.open("x")
    link.append("x", A)
    link.data_to_send(0.0)
    assert link.receive_text(error("too_long", "x")) == []
    assert take(link, link.receive_text(final("x", "one"))) == [("x", "one")]
    assert link.unfinished == 1  # the rest follows as x.2
    link.close("x")
    link.data_to_send(0.0)
    link.connection_lost()  # a replay re-creates the cut: segment x is not delivered twice
    link.connection_made()
    link.data_to_send(0.0)
    assert link.receive_text(error("too_long", "x")) == []
    assert link.receive_text(final("x", "one")) == []
    assert take(link, link.receive_text(final("x.2", "two"))) == [("x.2", "two")]
    assert link.unfinished == 0


def test_an_engine_error_resends_the_utterance_once_then_fails_it_without_holding_the_next_back():
    link = core()
    utterance(link, "e", A)
    utterance(link, "f", B)
    link.data_to_send(0.0)
    assert link.receive_text(error("engine", "e")) == []
    assert events(link.data_to_send(0.0)) == ["start e", A, "stop"]  # same id, all audio, same connection
    assert link.receive_text(final("f", "next")) == []
    actions = link.receive_text(error("engine", "e"))
    assert actions[0] == Fail("e", A, "the server could not transcribe it: m")
    assert take(link, actions[1:]) == [("f", "next")]


def test_a_missing_final_reconnects_once_then_fails():
    link = core(final_timeout_s=5.0)
    utterance(link, "late", A)
    link.data_to_send(now=10.0)
    assert link.tick(14.9) == []
    assert link.tick(15.0) == [Reconnect("no final for late")]
    link.connection_lost()
    assert link.tick(100.0) == []  # no deadline while disconnected
    link.connection_made()
    link.data_to_send(now=100.0)
    assert link.tick(105.0) == [Fail("late", A, "no transcript from the server")]


def test_a_slow_server_that_says_so_in_ready_gets_its_final_wait_even_for_audio_sent_before_ready():
    """A CPU server takes many seconds for a final; at the client's own 10 s the link replayed and then gave up on
    words the server was about to send. Its `ready` now says how long finals may take; the client streams before
    `ready` arrives, so an utterance already stopped gets the longer wait too, and the next connection's too."""
    from dictation_core import protocol

    link = core(final_timeout_s=10.0)
    utterance(link, "slow", A)
    link.data_to_send(now=0.0)  # streamed and stopped before `ready`
    assert link.receive_text(protocol.ready("m", "transformers", final_timeout_s=120.0)) == []
    assert link.tick(60.0) == []  # still waiting: the server said finals may take 120 s
    assert link.tick(120.0) == [Reconnect("no final for slow")]
    link.connection_lost()
    link.connection_made()
    link.receive_text(protocol.ready("m", "transformers", final_timeout_s=120.0))
    link.data_to_send(now=200.0)
    assert link.tick(300.0) == []
    assert link.receive_text(final("slow", "kept")) != []  # delivered, not given up


def test_a_server_cannot_stretch_the_final_wait_past_the_protocols_bound_or_with_nonsense():
    from dictation_core import protocol

    def hinted(value: object) -> float | None:
        return protocol.parse_message(json.dumps({"type": "ready", "final_timeout_s": value})).final_timeout_s

    assert hinted(120) == 120.0 and hinted(1e9) == protocol.MAX_FINAL_TIMEOUT_S
    assert [hinted(v) for v in (-1, 0, "120", True, None, [1])] == [None] * 6
    assert protocol.parse_message(protocol.ready("m", "vllm")).final_timeout_s is None  # a GPU server says nothing


def test_refusals_disconnect_and_partials_and_id_less_finals_are_matched():
    link = core()
    ((refused,),) = [link.receive_text(error("unauthorized"))]
    assert isinstance(refused, Disconnect) and isinstance(refused.error, AuthRefused)
    utterance(link, "p", A)
    assert link.receive_text(json.dumps({"type": "partial", "id": "p", "text": "pa"})) == [ShowPartial("p", "pa")]
    assert link.receive_text(json.dumps({"type": "partial", "id": "zz", "text": "?"})) == []
    link.data_to_send(0.0)
    assert take(link, link.receive_text(final(None, "original server"))) == [("p", "original server")]
    assert [action.code for action in link.receive_text("not json")] == ["bad_reply"]


def test_backoff_doubles_to_its_cap_restarts_after_a_healthy_connection_and_stops_on_a_refused_token():
    backoff = Backoff(lambda: 0.0)  # no jitter: the nominal delays
    unreachable = Ending(why="refused")
    delays = [backoff.after(unreachable).delay_s for _ in range(6)]
    assert delays == [0.25, 0.5, 1.0, 2.0, BACKOFF_MAX_S, BACKOFF_MAX_S]
    # A connection that carried a final, or stayed up a while, proves the server works: start over.
    assert backoff.after(Ending(came_up=True, answered=True, lasted_s=1.0)).delay_s == BACKOFF_INITIAL_S
    assert backoff.after(unreachable).delay_s == BACKOFF_INITIAL_S
    assert backoff.after(Ending(came_up=True, lasted_s=HEALTHY_AFTER_S)).delay_s == BACKOFF_INITIAL_S
    assert backoff.after(Ending(came_up=True, asked=True, lasted_s=60.0)).delay_s == 0.0
    assert backoff.after(Ending(refused=True)).delay_s is None


def test_sessions_the_server_ends_without_a_final_back_off_to_a_longer_cap_and_are_reported_once():
    """The old policy reset the backoff after every handshake: a server that closed after each hello was
    reconnected to four times a second forever."""
    backoff = Backoff(lambda: 0.0)
    dropped = Ending(came_up=True, lasted_s=0.1, why="it closed the connection (code 1011)")
    retries = [backoff.after(dropped) for _ in range(10)]
    assert [r.delay_s for r in retries] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, DROPPED_MAX_S, DROPPED_MAX_S,
                                            DROPPED_MAX_S]
    assert [bool(r.unstable) for r in retries] == [n + 1 >= UNSTABLE_AFTER for n in range(10)]
    assert [r.tell for r in retries].count(True) == 1 and retries[UNSTABLE_AFTER - 1].tell
    assert retries[-1].unstable == ("the server keeps closing the connection: it closed the connection (code "
                                    "1011) (10 sessions in a row without a transcript); retrying in 30.0 s")
    # Asking for a reconnect ourselves is not the server's failure: no wait, the streak stays.
    assert backoff.after(Ending(came_up=True, asked=True)) == Retry(0.0, 0, 10)
    # Reaching it in between does not reset the streak: the next dropped session still waits the longest.
    assert backoff.after(Ending(why="refused")).delay_s == BACKOFF_INITIAL_S
    assert backoff.after(dropped).delay_s == DROPPED_MAX_S
    assert backoff.after(Ending(came_up=True, answered=True)).delay_s == BACKOFF_INITIAL_S  # healthy again
    assert not backoff.after(dropped).unstable


def test_one_session_cut_by_a_restart_does_not_slow_down_finding_the_restarted_server():
    backoff = Backoff(lambda: 0.0)
    assert backoff.after(Ending(came_up=True, lasted_s=3.0, why="no close frame")).delay_s == BACKOFF_INITIAL_S
    assert [backoff.after(Ending()).delay_s for _ in range(5)] == [0.25, 0.5, 1.0, 2.0, BACKOFF_MAX_S]


def test_every_delay_is_jittered_below_its_nominal_value():
    draws = iter([0.0, 0.5, 0.999])
    backoff = Backoff(lambda: next(draws))
    delays = [backoff.after(Ending()).delay_s for _ in range(3)]
    assert delays == [0.25, 0.5 * (1 - JITTER * 0.5), pytest.approx(1.0 * (1 - JITTER * 0.999))]


def test_an_utterance_on_connections_the_server_drops_is_replayed_a_bounded_number_of_times_then_fails():
    link = core()
    link.open("a")
    link.append("a", A)
    link.close("a")
    for _attempt in range(MAX_DROP_REPLAYS):
        assert events(link.data_to_send(0.0))[1:] == ["start a", A, "stop"]
        assert link.connection_lost(dropped=True, why="code 1011") == []
        link.connection_made()
    link.data_to_send(0.0)
    [fail] = link.connection_lost(dropped=True, why="code 1011")
    assert fail == Fail("a", A, f"the server closed the connection {MAX_DROP_REPLAYS + 1} times while "
                                "transcribing it (code 1011)")
    link.connection_made()
    assert events(link.data_to_send(0.0)) == ["hello"]  # not replayed again


def test_connections_we_end_or_that_carry_nothing_do_not_count_against_an_utterance():
    link = core()
    link.open("a")
    link.append("a", A)
    for _ in range(MAX_DROP_REPLAYS + 2):
        link.data_to_send(0.0)
        assert link.connection_lost(dropped=False) == []  # a reconnect we asked for (new settings)
        link.connection_made()
    link.close("a")
    link.data_to_send(0.0)
    assert take(link, link.receive_text(final("a", "kept"))) == [("a", "kept")]
    assert link.answered


@pytest.mark.parametrize(("raw", "said"), [
    ('{"type": "final", "id": "a", "text": "x", "n": ' + "9" * 5000 + "}", "a number of 5000 digits"),
    ("[" * 100_000 + "]" * 100_000, "cannot read"),
    ("not json", "not JSON"),
])
def test_an_unreadable_reply_is_a_clear_protocol_error_told_once_never_an_exception(raw, said):
    link = core()
    [tell] = link.receive_text(raw)
    assert tell.code == "bad_reply" and tell.level == "warning" and said in tell.message
    assert link.receive_text(raw) == []  # once per connection, then counted
    link.connection_lost(dropped=True)
    link.connection_made()
    assert link.receive_text(raw) == []  # told once until a final reads well again
    link.open("a")
    link.close("a")
    link.data_to_send(0.0)
    assert take(link, link.receive_text(final("a", "ok"))) == [("a", "ok")]
    link.connection_lost()
    link.connection_made()
    assert link.receive_text(raw)[0].code == "bad_reply"


def test_held_audio_moves_the_oldest_to_disk_past_its_cap_and_reads_it_back(tmp_path):
    held = HeldAudio(frame_bytes=4, folder=tmp_path / "spool", max_bytes=16)
    held.add("old", b"aaaabbbbcc")
    held.add("new", b"ddddeeee")  # 18 bytes: over the cap, so "old" goes to disk
    assert held.in_memory == 8 and (tmp_path / "spool" / "old.pcm").read_bytes() == b"aaaabbbbcc"
    assert held.frames("old", 1) == [b"bbbb", b"cc"] and held.audio("new") == b"ddddeeee"
    (level, message), = held.take_news()
    assert level == "warning" and "on disk" in message and held.take_news() == []
    held.forget("old")
    assert not (tmp_path / "spool" / "old.pcm").exists() and held.count("old") == 0


def test_held_audio_keeps_everything_in_memory_when_the_disk_fails(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the spool folder should be")
    held = HeldAudio(frame_bytes=4, folder=blocked, max_bytes=4)
    held.add("u", b"aaaabbbb")
    assert held.audio("u") == b"aaaabbbb" and held.in_memory == 8  # nothing dropped
    (level, message), = held.take_news()
    assert level == "error" and "stays in memory" in message


def test_a_dropped_open_utterance_is_cancelled_on_the_wire():
    link = core()
    link.open("open")
    link.append("open", A)
    assert events(link.data_to_send(0.0))[1:] == ["start open", A]
    assert link.drop_all() == [Unsent("open", A)]  # its audio goes back to the caller, to be kept
    assert events(link.data_to_send(0.0)) == ["cancel"]  # the server discards it; no final will come


def test_an_utterance_refused_as_busy_is_sent_again_after_the_next_final_or_a_pause():
    link = core()
    utterance(link, "a", A)
    utterance(link, "b", B)
    link.data_to_send(0.0)
    assert link.receive_text(error("busy", "b")) == []  # the server's share for this connection is full
    assert link.data_to_send(0.0) == []  # not at once: it would be refused again
    assert take(link, link.receive_text(final("a", "one"))) == [("a", "one")]
    assert events(link.data_to_send(1.0)) == ["start b", B, "stop"]  # a final made room
    assert link.receive_text(error("busy", "b")) == []
    link.tick(2.0)
    assert link.data_to_send(2.5) == []
    link.tick(3.0)  # no final came: tried again after BUSY_RETRY_S
    assert events(link.data_to_send(3.0)) == ["start b", B, "stop"]
    (refused,) = link.receive_text(error("busy"))  # without an id: the whole connection
    assert isinstance(refused, Disconnect) and type(refused.error) is LinkError


def test_the_app_context_goes_with_its_utterances_start_and_again_with_its_replay():
    link = core(context="Qwen")
    link.open("a", "Dear Ms Okonkwo")
    link.append("a", A)
    link.close("a")
    utterance(link, "b", B)  # no app context: a start as before
    starts = [json.loads(f) for f in link.data_to_send(0.0) if isinstance(f, str) and '"start"' in f]
    assert starts == [{"event": "start", "id": "a", "context": "Dear Ms Okonkwo"}, {"event": "start", "id": "b"}]
    link.connection_lost()
    link.connection_made()
    replayed = [json.loads(f) for f in link.data_to_send(0.0) if isinstance(f, str) and '"start"' in f]
    assert replayed[0] == {"event": "start", "id": "a", "context": "Dear Ms Okonkwo"}
