"""The link against a real socket: replay after drops and restarts, timeouts, de-duplication, refused tokens."""

from __future__ import annotations

import asyncio

from tests.client.protocol_server import Faults, ProtocolServer, free_port
from tray_client import _supervise
from tray_client.link import driver as link_module
from tray_client.link import spool as spool_module
from tray_client.link.core import LinkCore
from tray_client.link.driver import Link, LinkSettings

CHUNK = bytes(range(256)) * 8  # 2 KiB of audio per chunk, recognisable


def echo_length(utterance_id: str, audio: bytes) -> str:
    return f"{utterance_id}:{len(audio)}"


class Collector:
    def __init__(self) -> None:
        self.finals: list[tuple[str, str]] = []
        self.failed: list[tuple[str, bytes, str]] = []
        self.statuses = []

        self.faults: list[tuple[str, str | None]] = []  # (task, error type) from supervision; None: recovered

    def link(self, url: str, **settings) -> Link:
        return Link(LinkSettings(url=url, **settings),
                    on_final=lambda i, t, lang: self.finals.append((i, t)),
                    on_failed=lambda i, a, why: self.failed.append((i, a, why)),
                    on_status=self.statuses.append,
                    on_fault=lambda name, e: self.faults.append((name, type(e).__name__ if e else None)))


async def drain(link: Link, collector: Collector) -> None:
    """Return once the client has handled everything the server sent so far: one more utterance is answered on
    the same ordered connection after all of it (its final is taken off the collector again)."""
    send_utterance(link, "drain", 1)
    assert await link.wait_idle(10)
    assert collector.finals.pop()[0] == "drain"


async def wait_until(predicate, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def send_utterance(link: Link, utterance_id: str, chunks: int) -> None:
    link.open(utterance_id)
    for _ in range(chunks):
        link.append(utterance_id, CHUNK)
    link.close(utterance_id)


def test_connection_dropped_mid_utterance_replays_and_outputs_each_once():
    faults = Faults(drop_after_bytes=3 * len(CHUNK), drops=2)
    with ProtocolServer(echo_length, faults) as server:
        collector = Collector()

        async def scenario() -> None:
            link = collector.link(server.url)
            link.start()
            send_utterance(link, "a", 5)
            send_utterance(link, "b", 2)
            send_utterance(link, "c", 4)
            assert await link.wait_idle(20)
            await link.aclose()

        asyncio.run(scenario())
    assert collector.finals == [("a", f"a:{5 * len(CHUNK)}"), ("b", f"b:{2 * len(CHUNK)}"),
                                ("c", f"c:{4 * len(CHUNK)}")]
    assert server.record.starts["a"] == 3  # dropped twice, then complete
    assert server.record.audio["a"][-1] == CHUNK * 5  # the replay carried every byte, in order
    assert collector.failed == []


def test_server_restart_keeps_audio_until_it_is_back():
    port = free_port()
    with ProtocolServer(echo_length, port=port) as server:
        collector = Collector()

        async def scenario() -> None:
            link = collector.link(server.url)
            link.start()
            await wait_until(lambda: link.connected)
            await asyncio.to_thread(server.down)
            send_utterance(link, "x", 3)
            await wait_until(lambda: not link.connected)
            await wait_until(lambda: any("cannot reach" in s.detail for s in collector.statuses))  # tried again
            assert collector.finals == [] and link.unfinished == 1
            started = asyncio.get_running_loop().time()
            await asyncio.to_thread(server.up)
            assert await link.wait_idle(10)
            # Backoff is capped, so a restarted server is found within a few seconds.
            assert asyncio.get_running_loop().time() - started < link_module.BACKOFF_MAX_S + 2
            await link.aclose()

        asyncio.run(scenario())
    assert collector.finals == [("x", f"x:{3 * len(CHUNK)}")]
    assert any(not status.connected for status in collector.statuses)


def test_missing_final_is_replayed_once_then_reported_with_its_audio():
    with ProtocolServer(echo_length, Faults(withhold_finals=1)) as server:
        collector = Collector()

        async def replayed() -> None:
            link = collector.link(server.url, final_timeout_s=0.5)
            link.start()
            send_utterance(link, "late", 2)
            assert await link.wait_idle(10)
            await link.aclose()

        asyncio.run(replayed())
        assert collector.finals == [("late", f"late:{2 * len(CHUNK)}")]
        assert server.record.starts["late"] == 2

        server.faults.withhold_ids = {"lost"}
        collector = Collector()

        async def given_up() -> None:
            link = collector.link(server.url, final_timeout_s=0.5)
            link.start()
            send_utterance(link, "lost", 2)
            send_utterance(link, "next", 1)
            assert await link.wait_idle(10)
            await link.aclose()

        asyncio.run(given_up())
    # "lost" is reported with all of its audio, and the next utterance is not held back by it.
    assert [(i, a, why) for i, a, why in collector.failed] == [("lost", CHUNK * 2, "no transcript from the server")]
    assert collector.finals == [("next", f"next:{len(CHUNK)}")]


def test_duplicate_finals_are_output_once():
    with ProtocolServer(echo_length, Faults(duplicate_finals=True)) as server:
        collector = Collector()

        async def scenario() -> None:
            link = collector.link(server.url)
            link.start()
            send_utterance(link, "u1", 1)
            send_utterance(link, "u2", 1)
            assert await link.wait_idle(10)
            await drain(link, collector)  # the duplicates have arrived and were handled
            await link.aclose()

        asyncio.run(scenario())
    assert [i for i, _ in collector.finals] == ["u1", "u2"]
    assert [i for i, _ in server.record.finals_sent] == ["u1", "u1", "u2", "u2", "drain", "drain"]


def test_hello_carries_language_and_glossary_and_auth_is_sent():
    with ProtocolServer(echo_length, Faults(refuse_token="s3cret")) as server:
        collector = Collector()

        async def scenario(token: str) -> Link:
            link = collector.link(server.url, token=token, language="Chinese", context="Qwen, vLLM")
            link.start()
            await wait_until(lambda: link.connected or link.status.error, 10)
            await link.aclose()
            return link

        refused = asyncio.run(scenario("wrong"))
        assert refused.status.error and "--token" in refused.status.detail
        accepted = asyncio.run(scenario("s3cret"))
        assert not accepted.status.error and server.record.connections == 1
    assert server.record.hellos == [{"event": "hello", "protocol": 1, "language": "Chinese",
                                     "context": "Qwen, vLLM"}]


def test_aclose_reports_unfinished_utterances():
    collector = Collector()

    async def scenario() -> list:
        link = collector.link(f"ws://127.0.0.1:{free_port()}")
        link.start()
        send_utterance(link, "kept", 1)
        await wait_until(lambda: collector.statuses)  # a connection attempt failed while it was pending
        return await link.aclose()

    (unsent,) = asyncio.run(scenario())
    assert unsent.utterance_id == "kept" and len(unsent.audio) > 0  # the audio comes back, to be kept


def test_engine_error_replays_the_utterance_on_the_same_connection_and_outputs_it_once():
    with ProtocolServer(echo_length, Faults(engine_failures=1)) as server:
        collector = Collector()

        async def scenario() -> Link:
            link = collector.link(server.url)
            link.start()
            send_utterance(link, "e1", 3)
            send_utterance(link, "e2", 1)
            assert await link.wait_idle(10)
            await drain(link, collector)  # nothing more arrived for e1 or e2
            await link.aclose()
            return link

        asyncio.run(scenario())
    assert collector.finals == [("e1", f"e1:{3 * len(CHUNK)}"), ("e2", f"e2:{len(CHUNK)}")]
    assert server.record.engine_errors == 1
    assert server.record.starts == {"e1": 2, "e2": 1, "drain": 1}  # the replay: same id, all audio, stop
    assert server.record.audio["e1"] == [CHUNK * 3, CHUNK * 3]
    assert server.record.connections == 1  # no reconnect needed
    assert collector.failed == []


def test_engine_error_twice_tells_the_user_and_does_not_hang():
    with ProtocolServer(echo_length, Faults(engine_fail_ids={"bad"})) as server:
        collector = Collector()

        async def scenario() -> None:
            link = collector.link(server.url, final_timeout_s=30)
            link.start()
            send_utterance(link, "bad", 2)
            send_utterance(link, "good", 1)
            assert await link.wait_idle(5)
            await link.aclose()

        asyncio.run(scenario())
    assert server.record.starts["bad"] == 2  # replayed once, not forever
    assert [(i, a) for i, a, _ in collector.failed] == [("bad", CHUNK * 2)]
    assert "could not transcribe" in collector.failed[0][2]
    assert collector.finals == [("good", f"good:{len(CHUNK)}")]


def test_too_long_utterance_continuations_are_output_in_order_exactly_once():
    # The server cuts every 3 chunks: 10 chunks come back as "long", "long.2", "long.3" and "long.4". The
    # connection also drops once mid-way, so the replay re-creates segments that were already output.
    faults = Faults(max_utterance_bytes=3 * len(CHUNK), drop_after_bytes=2 * len(CHUNK), drops=0)
    with ProtocolServer(echo_length, faults) as server:
        collector = Collector()

        async def scenario() -> None:
            link = collector.link(server.url)
            link.start()
            await wait_until(lambda: link.connected)
            link.open("long")
            for index in range(10):
                link.append("long", CHUNK)
                if index == 7:
                    await wait_until(lambda: len(collector.finals) >= 2)  # segments are output while speaking
                    server.faults.drops = 1
            await wait_until(lambda: server.record.starts["long"] == 2)  # dropped mid-utterance and replayed
            link.close("long")
            send_utterance(link, "after", 1)
            assert await link.wait_idle(10)
            await drain(link, collector)
            await link.aclose()

        asyncio.run(scenario())
    size = 3 * len(CHUNK)
    assert collector.finals == [("long", f"long:{size}"), ("long.2", f"long.2:{size}"),
                                ("long.3", f"long.3:{size}"), ("long.4", f"long.4:{len(CHUNK)}"),
                                ("after", f"after:{len(CHUNK)}")]
    assert server.record.starts["long"] == 2  # the drop forced a full replay
    assert collector.failed == []


def test_http_503_is_retried_with_backoff_until_the_server_has_room():
    with ProtocolServer(echo_length, Faults(busy_handshakes=3)) as server:
        collector = Collector()

        async def scenario() -> None:
            link = collector.link(server.url)
            link.start()
            send_utterance(link, "wait", 1)
            assert await link.wait_idle(15)
            await link.aclose()

        asyncio.run(scenario())
    assert collector.finals == [("wait", f"wait:{len(CHUNK)}")]
    assert server.record.handshakes == 4 and server.record.connections == 1
    assert any("HTTP 503" in status.detail and not status.error for status in collector.statuses)


def test_http_401_stops_retrying_until_the_token_is_fixed():
    with ProtocolServer(echo_length, Faults(refuse_token="right")) as server:
        collector = Collector()

        async def scenario() -> None:
            link = collector.link(server.url, token="wrong")
            link.start()
            send_utterance(link, "kept", 1)
            await wait_until(lambda: link.status.error)
            # Not retried in a loop (Backoff gives None for a refused token: test_link_core.py): the next
            # handshake is the one with the new token.
            assert "--token" in link.status.detail and "401" in link.status.detail
            link.configure(LinkSettings(url=server.url, token="right"))
            assert await link.wait_idle(10)  # the audio was kept while the user fixed the token
            await link.aclose()

        asyncio.run(scenario())
    assert collector.finals == [("kept", f"kept:{len(CHUNK)}")]
    assert server.record.handshakes == 2


def test_long_audio_chunks_are_split_into_frames_the_server_accepts():
    big = bytes(range(256)) * 400  # 100 KiB at once, like a long push-to-talk pre-roll
    with ProtocolServer(echo_length) as server:
        collector = Collector()

        async def scenario() -> None:
            link = collector.link(server.url)
            link.start()
            link.open("big")
            link.append("big", big)
            link.close("big")
            assert await link.wait_idle(10)
            await link.aclose()

        asyncio.run(scenario())
    assert collector.finals == [("big", f"big:{len(big)}")]
    assert server.record.audio["big"] == [big]
    assert server.record.largest_frame == link_module.MAX_FRAME_BYTES


def test_a_bug_in_handling_a_reply_does_not_stop_the_link_for_good(monkeypatch, caplog):
    """An unexpected exception is logged with its traceback, the link reconnects, and nothing is lost."""
    real_receive = LinkCore.receive_text
    raised = []

    def receive_once_badly(self, raw):
        if not raised:
            raised.append(raw)
            raise KeyError("bug in reply handling")
        return real_receive(self, raw)

    monkeypatch.setattr(LinkCore, "receive_text", receive_once_badly)
    with ProtocolServer(echo_length) as server:
        collector = Collector()

        async def scenario() -> None:
            link = collector.link(server.url)
            link.start()
            send_utterance(link, "a", 3)
            send_utterance(link, "b", 1)
            assert await link.wait_idle(20)
            await link.aclose()

        with caplog.at_level("ERROR", logger="tray_client.link.driver"):
            asyncio.run(scenario())
    assert raised, "the injected bug fired"
    assert sorted(collector.finals) == [("a", f"a:{3 * len(CHUNK)}"), ("b", f"b:{len(CHUNK)}")]
    assert any("link failed unexpectedly" in record.getMessage() and record.exc_info for record in caplog.records)
    assert any("internal error (KeyError)" in status.detail for status in collector.statuses)


def test_a_final_whose_delivery_raises_is_delivered_again_not_dropped_as_a_duplicate(caplog):
    """on_final failing (the pipeline could not take the words) must not mark the final delivered."""
    with ProtocolServer(echo_length) as server:
        finals: list[tuple[str, str]] = []
        refused: list[str] = []

        def on_final(utterance_id: str, text: str, language: str) -> None:
            if not refused:
                refused.append(utterance_id)
                raise RuntimeError("the output queue is gone (injected)")
            finals.append((utterance_id, text))

        async def scenario() -> None:
            link = Link(LinkSettings(url=server.url), on_final=on_final, on_failed=lambda *a: None,
                        on_status=lambda status: None)
            link.start()
            send_utterance(link, "a", 2)
            send_utterance(link, "b", 1)
            assert await link.wait_idle(10)
            await link.aclose()

        with caplog.at_level("ERROR"):
            asyncio.run(scenario())
    assert refused == ["a"]
    assert finals == [("a", f"a:{2 * len(CHUNK)}"), ("b", f"b:{len(CHUNK)}")]  # kept, once, in order
    assert any("RuntimeError" in (record.exc_text or "") or record.exc_info for record in caplog.records)


def test_a_server_that_never_sends_ready_gets_the_audio_at_once():
    """An original-protocol server answers nothing to hello: streaming must not wait for a `ready`."""
    import json
    import time

    from websockets.asyncio.server import serve

    first_audio_after: list[float] = []

    async def original_server(websocket) -> None:
        opened = time.monotonic()
        async for message in websocket:
            if isinstance(message, bytes):
                if not first_audio_after:
                    first_audio_after.append(time.monotonic() - opened)
            elif json.loads(message).get("event") == "stop":
                await websocket.send(json.dumps({"type": "final", "text": "words"}))

    async def scenario() -> list[tuple[str, str]]:
        port = free_port()
        collector = Collector()
        async with serve(original_server, "127.0.0.1", port):
            link = collector.link(f"ws://127.0.0.1:{port}")
            link.start()
            send_utterance(link, "u", 1)
            assert await link.wait_idle(10)
            await link.aclose()
        return collector.finals

    assert asyncio.run(scenario()) == [("u", "words")]
    assert first_audio_after and first_audio_after[0] < 1.0  # the old client waited 5 s for a `ready`


def test_a_dead_deadline_ticker_is_reported_and_restarted_so_missing_finals_are_still_replayed(monkeypatch):
    """The old deadline watcher was never supervised: once it died, timeouts and replays stopped for good."""
    monkeypatch.setattr(_supervise, "RESTART_AFTER_S", 0.05)
    monkeypatch.setattr(_supervise, "HEALTHY_AFTER_S", 0.3)
    real_tick = LinkCore.tick
    raised = []

    def tick_once_badly(self, now):
        if not raised:
            raised.append(now)
            raise RuntimeError("bug in the deadline check (injected)")
        return real_tick(self, now)

    monkeypatch.setattr(LinkCore, "tick", tick_once_badly)
    with ProtocolServer(echo_length, Faults(withhold_finals=1)) as server:
        collector = Collector()

        async def scenario() -> None:
            # The first final is withheld, so this deadline passes once on purpose; the replay's final must beat
            # it. At 0.5 s a loaded machine missed it: a second replay, max_replays used up, the final given up.
            link = collector.link(server.url, final_timeout_s=3.0)
            link.start()
            send_utterance(link, "late", 2)
            assert await link.wait_idle(30)
            await wait_until(lambda: len(collector.faults) == 2, 30)
            await link.aclose()

        asyncio.run(scenario())
    assert collector.finals == [("late", f"late:{2 * len(CHUNK)}")]
    assert server.record.starts["late"] == 2  # the restarted ticker found the missing final and replayed it
    assert collector.faults == [("link-deadlines", "RuntimeError"), ("link-deadlines", None)]


def test_audio_kept_while_the_server_is_down_is_capped_in_memory_and_waits_on_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(spool_module, "MAX_HELD_BYTES", 4 * len(CHUNK))
    spool = tmp_path / "spool"
    port = free_port()
    notices: list[tuple[str, str, str]] = []
    with ProtocolServer(echo_length, port=port) as server:
        collector = Collector()

        async def scenario() -> None:
            await asyncio.to_thread(server.down)
            link = Link(LinkSettings(url=server.url, spool_dir=str(spool)),
                        on_final=lambda i, t, lang: collector.finals.append((i, t)),
                        on_failed=lambda i, a, why: collector.failed.append((i, a, why)),
                        on_status=collector.statuses.append, on_notice=lambda *n: notices.append(n))
            link.start()
            for index in range(6):  # 6 utterances of 3 chunks while the server is down
                link.open(f"u{index}")
                for chunk in range(3):
                    link.append(f"u{index}", bytes([index, chunk]) * (len(CHUNK) // 2))
                link.close(f"u{index}")
            assert sorted(path.name for path in spool.iterdir())[:2] == ["u0.pcm", "u1.pcm"]  # the oldest wait there
            await asyncio.to_thread(server.up)
            assert await link.wait_idle(15)
            await link.aclose()

        asyncio.run(scenario())
    assert collector.finals == [(f"u{i}", f"u{i}:{3 * len(CHUNK)}") for i in range(6)]
    for index in range(6):  # every byte came back from disk, in order
        assert server.record.audio[f"u{index}"][-1] == b"".join(
            bytes([index, chunk]) * (len(CHUNK) // 2) for chunk in range(3))
    assert [(level, code) for level, _, code in notices] == [("warning", "spilled")] and str(spool) in notices[0][1]
    assert list(spool.iterdir()) == []  # deleted once transcribed
