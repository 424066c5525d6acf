"""The whole pipeline on real Silero with the speech fixtures, against a protocol server on a real socket."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from dictation_devtools.fake_pyaudio import FakeDevice, FakeHardware
from dictation_devtools.polling import wait_for
from dictation_devtools.scripted_server import ScriptedServer
from tests.client.protocol_server import Faults, ProtocolServer, free_port, phrase_transcriber
from tray_client import _supervise
from tray_client import pipeline as pipeline_module
from tray_client.capture import backlog as backlog_module
from tray_client.capture import mic_source as mic_source_module
from tray_client.capture import pump as pump_module
from tray_client.capture.segmenter import FRAME_SAMPLES
from tray_client.capture.vad import SileroVad
from tray_client.config import ClientConfig, ConfigError
from tray_client.events import ClientState, Command, FinalText, Notice, SpeechSegment, StateChanged
from tray_client.headless import outcome
from tray_client.link.core import LinkCore
from tray_client.pipeline import Pipeline


class Events:
    """Collects pipeline events (the listener runs on the pipeline thread)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.items: list = []
        self.threads: set[str] = set()
        self._changed = threading.Condition()
        pipeline.subscribe(self._on_event)

    def _on_event(self, event) -> None:
        with self._changed:
            self.items.append(event)
            self.threads.add(threading.current_thread().name)
            self._changed.notify_all()

    def of(self, kind) -> list:
        with self._changed:
            return [e for e in self.items if isinstance(e, kind)]

    def wait(self, predicate, timeout: float = 60.0) -> bool:  # a condition: generous, returns at once when met
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout)

    def states(self) -> list[ClientState]:
        return [e.state for e in self.of(StateChanged)]


def wav_config(sample, url: str, **overrides) -> ClientConfig:
    return ClientConfig(server=url, input_wav=str(sample.path), fast=True, no_tray=True, **overrides)


@pytest.mark.parametrize("language", ["english", "mandarin"])
def test_wav_through_pipeline_outputs_one_final_per_phrase_in_order(speech, recording_sink, language,
                                                                    monkeypatch):
    sample = getattr(speech, language)
    resets: list[str] = []
    real_reset = SileroVad.reset

    def counted_reset(self) -> None:  # the real reset, counted, on whatever thread runs it
        resets.append(threading.current_thread().name)
        real_reset(self)

    monkeypatch.setattr(SileroVad, "reset", counted_reset)
    with ScriptedServer.for_sample(sample) as server:
        pipeline = Pipeline(wav_config(sample, server.url), sink=recording_sink)
        events = Events(pipeline)
        pipeline.start()
        assert pipeline.wait_done(30), "the file should end and every utterance get its final"
        report = pipeline.shutdown()
    texts = [phrase.text for phrase in sample.phrases]
    separator = " " if language == "english" else ""
    assert recording_sink.emitted == [texts[0], *(separator + text for text in texts[1:])]
    assert [e.text for e in events.of(FinalText)] == texts
    assert pipeline.last_final == texts[-1]
    assert report.dropped == 0 and report.clean
    # Silero's state is cleared after every utterance, on the pipeline thread, which scores every frame: no hand-off
    # to a VAD thread and back (two wake-ups per block cost more CPU than the model; BENCHMARKS.md, issue 22)
    assert resets == ["pipeline"] * len(texts)
    segments = events.of(SpeechSegment)
    assert [round(s.preroll_s, 2) for s in segments] == [0.48] * len(texts)
    for phrase, segment in zip(sample.phrases, segments, strict=True):
        assert abs(segment.onset_s - phrase.start_s) <= 0.15 and abs(segment.speech_end_s - phrase.end_s) <= 0.15
    states = events.states()
    assert ClientState.SPEECH in states and ClientState.TRANSCRIBING in states
    assert events.threads == {"pipeline"} and recording_sink.threads == {"output_0"}


def test_drop_mid_utterance_then_back_outputs_each_utterance_exactly_once(speech, recording_sink):
    sample = speech.english
    faults = Faults(drop_after_bytes=40_000, drops=2)
    with ProtocolServer(phrase_transcriber(sample.samples, sample.phrases), faults) as server:
        pipeline = Pipeline(wav_config(sample, server.url), sink=recording_sink)
        events = Events(pipeline)
        pipeline.start()
        assert pipeline.wait_done(30)
        pipeline.shutdown()
    assert recording_sink.text == " ".join(phrase.text for phrase in sample.phrases)
    assert server.record.connections >= 2 and max(server.record.starts.values()) >= 2
    assert ClientState.DISCONNECTED in events.states()


class FeedSource:
    """A microphone stand-in fed from the test thread, through call_soon_threadsafe like the real one."""

    finite = False
    description = "test feed"

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queue: asyncio.Queue | None = None
        self.opened = threading.Event()
        self.pushed = 0
        self.consumed = 0
        self.progress = threading.Condition()

    async def frames(self):
        self.loop = asyncio.get_running_loop()
        self.queue = asyncio.Queue()
        self.opened.set()
        while True:
            yield await self.queue.get()
            with self.progress:  # the pipeline asks for the next frame: the previous one is fully processed
                self.consumed += 1
                self.progress.notify_all()

    def push(self, samples: np.ndarray, timeout: float = 20.0) -> None:
        """Feed frames and return once the pipeline has processed all of them (so commands land in order)."""
        assert self.loop is not None and self.queue is not None
        for start in range(0, len(samples) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
            self.loop.call_soon_threadsafe(self.queue.put_nowait, samples[start : start + FRAME_SAMPLES].copy())
            self.pushed += 1
        with self.progress:
            assert self.progress.wait_for(lambda: self.consumed >= self.pushed, timeout)


def test_push_to_talk_sends_preroll_and_everything_until_key_up(speech, recording_sink):
    sample = speech.english
    phrase = sample.phrases[1]
    rate = 16_000
    key_down = int(phrase.start_s * rate) // FRAME_SAMPLES * FRAME_SAMPLES
    key_up = int((phrase.end_s + 0.2) * rate) // FRAME_SAMPLES * FRAME_SAMPLES
    source = FeedSource()
    with ProtocolServer(phrase_transcriber(sample.samples, sample.phrases)) as server:
        pipeline = Pipeline(ClientConfig(server=server.url, mode="ptt"), source=source, sink=recording_sink)
        events = Events(pipeline)
        pipeline.start()
        assert source.opened.wait(20)
        assert events.wait(lambda e: ClientState.LISTENING in e.states())
        source.push(sample.samples[:key_down])  # speech before key-down is not sent (only its pre-roll)
        pipeline.send(Command.PTT_DOWN)
        source.push(sample.samples[key_down:key_up])
        pipeline.send(Command.PTT_UP)
        source.push(sample.samples[key_up:])
        assert recording_sink.wait_for(1) == [phrase.text]
        pipeline.shutdown()  # the output worker has ended: nothing more can be typed after this
    (sent,) = [attempts[-1] for attempts in server.record.audio.values()]
    preroll = 15 * FRAME_SAMPLES
    assert np.array_equal(np.frombuffer(sent, dtype=np.int16), sample.samples[key_down - preroll : key_up])
    assert recording_sink.emitted == [phrase.text]
    assert ClientState.SPEECH in events.states()


def test_push_to_talk_with_listening_on_types_only_what_was_said_while_the_key_was_held(speech, recording_sink):
    """Listening on in push-to-talk mode arms the key; it never lets the VAD open an utterance (it did: speech
    with no key held was typed, logged as "started (vad)")."""
    sample = speech.english
    rate = 16_000
    key_down = int(sample.phrases[1].start_s * rate) // FRAME_SAMPLES * FRAME_SAMPLES
    key_up = int((sample.phrases[1].end_s + 0.2) * rate) // FRAME_SAMPLES * FRAME_SAMPLES
    source = FeedSource()
    with ProtocolServer(phrase_transcriber(sample.samples, sample.phrases)) as server:
        pipeline = Pipeline(ClientConfig(server=server.url, mode="ptt"), source=source, sink=recording_sink)
        events = Events(pipeline)
        pipeline.start()
        assert source.opened.wait(20)
        pipeline.send(Command.LISTEN_ON)
        assert events.wait(lambda e: ClientState.LISTENING in e.states())
        source.push(sample.samples[:key_down])  # phrase 1, no key held
        pipeline.send(Command.PTT_DOWN)
        source.push(sample.samples[key_down:key_up])
        pipeline.send(Command.PTT_UP)
        source.push(sample.samples[key_up:])  # phrase 3 and on, no key held
        source.push(np.zeros(rate, dtype=np.int16))
        assert recording_sink.wait_for(1) == [sample.phrases[1].text]
        pipeline.send(Command.LISTEN_OFF)  # disarmed: the key records nothing, and the mic closes
        pipeline.send(Command.PTT_DOWN)
        assert events.wait(lambda e: e.states()[-1] is ClientState.OFF)
        pipeline.send(Command.PTT_UP)
        pipeline.shutdown()
    assert len(server.record.audio) == 1
    assert recording_sink.emitted == [sample.phrases[1].text]


def test_toggle_records_from_press_to_press(speech, recording_sink):
    sample = speech.mandarin
    phrase = sample.phrases[0]
    with ScriptedServer.for_sample(sample) as server:
        pipeline, source = started_in_toggle_mode(server.url, recording_sink)
        pipeline.send(Command.TOGGLE_RECORD)
        source.push(sample.samples[: int((phrase.end_s + 0.3) * 16_000)])
        pipeline.send(Command.TOGGLE_RECORD)
        assert recording_sink.wait_for(1) == [phrase.text]
        pipeline.shutdown()


def started_in_toggle_mode(url: str, sink) -> tuple[Pipeline, FeedSource]:
    """A running pipeline in toggle mode with no pre-roll, fed by the test; its microphone is open."""
    source = FeedSource()
    pipeline = Pipeline(ClientConfig(server=url, mode="toggle", preroll_ms=0), source=source, sink=sink)
    pipeline.start()
    assert source.opened.wait(20)
    return pipeline, source


def test_text_settings_changed_while_running_shape_the_next_final(speech, recording_sink):
    """The settings window applies replacements and the Chinese script at once, without a restart."""
    sample = speech.mandarin
    phrase = sample.phrases[1]
    assert phrase.text == "今天天气很好"
    start, end = (int(seconds * 16_000) for seconds in (phrase.start_s - 0.2, phrase.end_s + 0.3))
    with ScriptedServer.for_sample(sample) as server:
        pipeline, source = started_in_toggle_mode(server.url, recording_sink)
        source.push(sample.samples[:start])
        pipeline.update_settings(replacements={"今天": "OpenAI"}, chinese_script="traditional")
        pipeline.send(Command.TOGGLE_RECORD)
        source.push(sample.samples[start:end])
        pipeline.send(Command.TOGGLE_RECORD)
        (typed,) = recording_sink.wait_for(1)
        pipeline.shutdown()
    assert typed == "OpenAI天氣很好"  # converted to Traditional (气 -> 氣), then the replacement


def test_microphone_that_vanishes_is_an_error_state_retried_until_it_is_back(fake_mics, recording_sink,
                                                                             monkeypatch):
    monkeypatch.setattr(pump_module, "MIC_RETRY_S", 0.2)
    monkeypatch.setattr(mic_source_module, "STALL_TIMEOUT_S", 0.3)
    headset = fake_mics.devices[1]
    opens: list[str] = []
    real_blocks = mic_source_module.MicSource.blocks

    def counted_blocks(self):  # the real microphone, its opens counted
        opens.append(self.description)
        return real_blocks(self)

    monkeypatch.setattr(mic_source_module.MicSource, "blocks", counted_blocks)
    with ProtocolServer(lambda i, a: "ok") as server:
        pipeline = Pipeline(ClientConfig(server=server.url, input_device="USB Headset", start_listening=True),
                            sink=recording_sink)
        events = Events(pipeline)
        pipeline.start()
        assert events.wait(lambda e: e.states()[-1:] == [ClientState.LISTENING])
        # The mic opens only once the VAD has loaded (slow when torch is not yet imported): unplug it after.
        assert wait_for(lambda: headset.opened_at, 20)  # not an event: poll
        headset.plugged = False
        assert events.wait(lambda e: e.states()[-1:] == [ClientState.ERROR])
        tries = len(opens)
        assert wait_for(lambda: len(opens) >= tries + 3, 20)  # several retries while it is gone ...
        assert pipeline.state is ClientState.ERROR  # ... and it stays an error
        headset.plugged = True
        assert events.wait(lambda e: any("working again" in n.message for n in e.of(Notice)))
        assert events.wait(lambda e: e.states()[-1:] == [ClientState.LISTENING])
        pipeline.shutdown()
    errors = [e.detail for e in events.of(StateChanged) if e.state is ClientState.ERROR]
    assert "stopped delivering audio" in errors[0]
    assert sum(n.level == "error" for n in events.of(Notice)) == 1  # told once, not on every retry
    assert len(headset.opened_at) == 2  # reopened once it was back, at its native rate
    assert set(headset.opened_at) == {48_000}


def test_missing_real_microphone_reports_error_with_a_fix(recording_sink):
    pipeline = Pipeline(ClientConfig(server=f"ws://127.0.0.1:{free_port()}", input_device="No Such Mic 9000",
                                     start_listening=True), sink=recording_sink)
    events = Events(pipeline)
    pipeline.start()
    assert events.wait(lambda e: any(s.state is ClientState.ERROR and "No Such Mic 9000" in s.detail
                                     for s in e.of(StateChanged)), 20)
    assert pipeline.state is ClientState.ERROR
    started = time.monotonic()
    pipeline.shutdown(grace_seconds=0.5)
    assert time.monotonic() - started < 2.0


def test_shutdown_waits_for_grace_then_reports_dropped_and_never_types_twice(speech, recording_sink):
    sample = speech.english
    with ProtocolServer(phrase_transcriber(sample.samples, sample.phrases),
                        Faults(withhold_finals=100)) as server:
        pipeline = Pipeline(wav_config(sample, server.url, final_timeout_s=30), sink=recording_sink)
        events = Events(pipeline)
        pipeline.start()
        assert events.wait(lambda e: len(e.of(SpeechSegment)) == 3)
        started = time.monotonic()
        report = pipeline.shutdown(grace_seconds=0.5)
        elapsed = time.monotonic() - started
    assert report.dropped == 3 and report.clean
    assert 0.4 <= elapsed < 1.5
    assert recording_sink.emitted == []
    assert pipeline.state is ClientState.OFF
    # The words are not lost: each dropped utterance's audio is a WAV under the log folder's untranscribed/.
    saved = [Path(path) for path in report.saved]
    assert sorted(path.stem for path in saved) == sorted(report.dropped_ids)
    assert all(path.parent.name == "untranscribed" for path in saved)
    spans = {e.utterance_id: e.end_s - e.onset_s + e.preroll_s for e in events.of(SpeechSegment)}
    for path in saved:  # the utterance's audio as sent: all but the trailing silence the speculative final drops
        assert spans[path.stem] - 0.3 <= wave_frames(path) / 16_000 <= spans[path.stem] + 0.01


def wave_frames(path: Path) -> int:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16_000)
        return wav.getnframes()


def test_audio_left_on_disk_by_a_run_that_died_is_saved_and_the_user_told(speech, recording_sink):
    root = pipeline_module.spool_root()
    (root / "4242-deadbeef").mkdir(parents=True)
    (root / "4242-deadbeef" / "old-7.pcm").write_bytes(b"\x01\x02" * 8000)  # its lock died with its process
    sample = speech.english
    with ProtocolServer(phrase_transcriber(sample.samples, sample.phrases)) as server:
        pipeline = Pipeline(wav_config(sample, server.url), sink=recording_sink)
        events = Events(pipeline)
        pipeline.start()
        assert events.wait(lambda e: any(n.code == "recovered" for n in e.of(Notice)))
        pipeline.shutdown(grace_seconds=0.5)
    (notice,) = [n for n in events.of(Notice) if n.code == "recovered"]
    kept = Path(notice.extra["path"]) / "old-7.wav"
    assert "1 utterance(s)" in notice.message and str(kept.parent) in notice.message
    assert wave_frames(kept) == 8000 and not (root / "4242-deadbeef").exists()


def test_settings_change_reconnects_with_the_new_language(recording_sink):
    source = FeedSource()
    with ProtocolServer(lambda i, a: "ok") as server:
        pipeline = Pipeline(ClientConfig(server=server.url), source=source, sink=recording_sink)
        pipeline.start()
        assert wait_for(lambda: server.record.hellos, 20)
        pipeline.update_settings(language="Chinese", mode="toggle")
        assert wait_for(lambda: len(server.record.hellos) >= 2, 20)
        with pytest.raises(ConfigError, match="mode='loud'"):
            pipeline.update_settings(mode="loud")
        with pytest.raises(ConfigError, match="cannot change vad"):
            pipeline.update_settings(vad="onnx")
        pipeline.shutdown()
    assert [h["language"] for h in server.record.hellos] == [None, "Chinese"]
    assert pipeline.config.mode == "toggle"


def test_final_events_keep_utterance_order_when_typing_is_slow_and_a_final_is_empty(speech):
    class SlowSink:
        """A typer that takes its time (xdotool at a long delay)."""

        spaced = True

        def __init__(self) -> None:
            self.emitted: list[str] = []

        def emit(self, text: str) -> None:
            time.sleep(0.5)
            self.emitted.append(text)

    texts = iter(["slow words", "", "more words"])
    sink = SlowSink()
    sample = speech.english
    with ProtocolServer(lambda i, a: next(texts)) as server:
        pipeline = Pipeline(wav_config(sample, server.url), sink=sink)
        events = Events(pipeline)
        pipeline.start()
        assert pipeline.wait_done(30)
        pipeline.shutdown()
    assert [e.text for e in events.of(FinalText)] == ["slow words", "", "more words"]
    assert [e.utterance_id for e in events.of(FinalText)] == [s.utterance_id for s in events.of(SpeechSegment)]
    assert sink.emitted == ["slow words", " more words"]
    assert pipeline.last_final == "more words"


class BrokenSource:
    """A microphone stand-in whose first open fails with something other than AudioSourceError (a driver bug),
    then works (paced like a microphone)."""

    finite = False
    description = "test microphone"

    def __init__(self) -> None:
        self.opens = 0

    async def frames(self):
        self.opens += 1
        if self.opens == 1:
            raise RuntimeError("unanticipated host error (injected)")
        while True:
            await asyncio.sleep(FRAME_SAMPLES / 16_000)
            yield np.zeros(FRAME_SAMPLES, dtype=np.int16)


def test_an_unexpected_error_from_the_audio_source_is_shown_and_the_source_retried(recording_sink, monkeypatch):
    monkeypatch.setattr(pump_module, "MIC_RETRY_S", 0.2)
    source = BrokenSource()
    with ProtocolServer(lambda i, a: "ok") as server:
        pipeline = Pipeline(ClientConfig(server=server.url, start_listening=True), source=source,
                            sink=recording_sink)
        events = Events(pipeline)
        pipeline.start()
        assert events.wait(lambda e: any(s.state is ClientState.ERROR for s in e.of(StateChanged)))
        assert events.wait(lambda e: source.opens >= 2 and e.states()[-1:] == [ClientState.LISTENING])
        pipeline.shutdown()
    (error,) = [s.detail for s in events.of(StateChanged) if s.state is ClientState.ERROR]
    assert "unanticipated host error" in error and "RuntimeError" in error
    assert any(n.level == "error" and "unanticipated host error" in n.message for n in events.of(Notice))
    assert any("working again" in n.message for n in events.of(Notice))


class SlowClosingSink:
    """A typer that takes its time per final and must be closed (X11: it gives back the keycodes it borrowed)."""

    spaced = True

    def __init__(self) -> None:
        self.emitted: list[str] = []
        self.typing = threading.Event()
        self.closed_on: str | None = None

    def emit(self, text: str) -> None:
        self.typing.set()
        time.sleep(0.5)  # a long final, typed key by key
        self.emitted.append(text)

    def close(self) -> None:
        self.closed_on = threading.current_thread().name


def test_quit_while_typing_closes_the_sink_after_the_last_keys_and_types_nothing_more(speech):
    sample = speech.english
    sink = SlowClosingSink()
    with ScriptedServer.for_sample(sample) as server:
        pipeline = Pipeline(wav_config(sample, server.url), sink=sink)
        events = Events(pipeline)
        pipeline.start()
        assert sink.typing.wait(120)  # the VAD loads first (torch's first import, slow under load)
        assert events.wait(lambda e: len(e.of(SpeechSegment)) == len(sample.phrases))
        report = pipeline.shutdown(grace_seconds=0.0)
    assert sink.closed_on == "output_0"  # closed on the thread that typed, after the keys it was typing
    assert not [t.name for t in threading.enumerate() if t.name.startswith("output")]  # nothing types after Quit
    not_typed = [n for n in events.of(Notice) if n.code == "not_output"]
    assert all(n.extra["text"] in n.message for n in not_typed)  # the words are in the log, not lost
    assert len(sink.emitted) + len(not_typed) + report.dropped == len(sample.phrases)
    assert report.clean


def test_a_shutdown_that_times_out_says_so_and_counts_nothing_it_does_not_know(recording_sink, monkeypatch):
    monkeypatch.setattr(pipeline_module, "SHUTDOWN_SLACK_S", 0.2)
    release = threading.Event()

    def stuck_listener(event) -> None:  # a listener that blocks the pipeline thread at the end (a bug elsewhere)
        if isinstance(event, StateChanged) and event.detail == "shut down":
            release.wait(20)

    with ProtocolServer(lambda i, a: "ok") as server:
        pipeline = Pipeline(ClientConfig(server=server.url), source=FeedSource(), sink=recording_sink)
        pipeline.subscribe(stuck_listener)
        pipeline.start()
        try:
            report = pipeline.shutdown(grace_seconds=0.0)
        finally:
            release.set()
    assert not report.clean and report.dropped == 0 and report.dropped_ids == ()  # was dropped=-1
    assert outcome(report, 0) == ("the client did not shut down in time; utterances still waiting for a final "
                                  "may be lost")


class CountingMic(FakeDevice):
    """A microphone whose samples count up, so any audio lost on the way shows as a jump."""

    def read(self, position: int, count: int, rate: int) -> bytes | None:
        if not self.plugged:
            return None
        return ((position + np.arange(count)) % 20_000).astype("<i2").tobytes()


def test_a_lagging_loop_never_drops_audio_inside_an_utterance_and_the_user_is_told(recording_sink, monkeypatch):
    hardware = FakeHardware(CountingMic("Counting Microphone"))
    monkeypatch.setitem(sys.modules, "pyaudio", hardware.module())
    monkeypatch.setattr(backlog_module, "LAG_NOTICE_FRAMES", 4)
    stalled = threading.Event()

    def stall_once_speech_starts(event) -> None:  # the loop lags (a slow VAD, a busy CPU) for ~20 frames
        if isinstance(event, StateChanged) and event.state is ClientState.SPEECH and not stalled.is_set():
            stalled.set()
            time.sleep(0.6)

    with ProtocolServer(lambda i, a: "ok") as server:
        pipeline = Pipeline(ClientConfig(server=server.url, mode="ptt", preroll_ms=0), sink=recording_sink)
        events = Events(pipeline)
        pipeline.subscribe(stall_once_speech_starts)
        pipeline.start()
        assert events.wait(lambda e: ClientState.LISTENING in e.states())
        pipeline.send(Command.PTT_DOWN)
        assert events.wait(lambda e: any("keeping up" in n.message for n in e.of(Notice)))
        assert events.wait(lambda e: any("caught up" in n.message for n in e.of(Notice)))
        pipeline.send(Command.PTT_UP)
        assert recording_sink.wait_for(1) == ["ok"]
        pipeline.shutdown()
    (sent,) = [attempts[-1] for attempts in server.record.audio.values()]
    samples = np.frombuffer(sent, dtype=np.int16).astype(np.int32)
    assert len(samples) > 0.5 * 16_000  # the stalled 0.6 s are in it ...
    steps = np.diff(samples) % 20_000
    assert set(steps.tolist()) == {1}  # ... and not a sample is missing


def test_a_background_task_that_dies_shows_in_the_state_and_a_notice_until_it_runs_again(recording_sink,
                                                                                         monkeypatch):
    monkeypatch.setattr(_supervise, "RESTART_AFTER_S", 0.05)
    monkeypatch.setattr(_supervise, "HEALTHY_AFTER_S", 0.3)
    real_tick = LinkCore.tick
    raised: list[float] = []

    def tick_once_badly(self, now):
        if not raised:
            raised.append(now)
            raise RuntimeError("bug in the deadline check (injected)")
        return real_tick(self, now)

    monkeypatch.setattr(LinkCore, "tick", tick_once_badly)
    with ProtocolServer(lambda i, a: "ok") as server:
        pipeline = Pipeline(ClientConfig(server=server.url), source=FeedSource(), sink=recording_sink)
        events = Events(pipeline)
        pipeline.start()
        # The deadline check runs only while an utterance is unfinished (idle, nothing can be late): open one.
        pipeline.send(Command.PTT_DOWN)
        assert events.wait(lambda e: any("link-deadlines is running again" in n.message for n in e.of(Notice)))
        assert events.wait(lambda e: e.states()[-1] is not ClientState.ERROR)
        pipeline.shutdown()
    (shown,) = [s.detail for s in events.of(StateChanged) if s.state is ClientState.ERROR]
    assert "internal error in link-deadlines (RuntimeError: bug in the deadline check" in shown
    assert [n.code for n in events.of(Notice) if n.level == "error"] == ["fault"]


def test_a_pipeline_that_dies_says_so_in_the_state_and_a_notice(recording_sink, monkeypatch):
    def broken(self, vad) -> None:
        raise RuntimeError("a bug on the pipeline thread (injected)")

    monkeypatch.setattr(pump_module.Capture, "vad_loaded", broken)
    with ProtocolServer(lambda i, a: "ok") as server:
        pipeline = Pipeline(ClientConfig(server=server.url), source=FeedSource(), sink=recording_sink)
        events = Events(pipeline)
        pipeline.start()
        assert pipeline.wait_done(30)
        assert pipeline.state is ClientState.ERROR and "injected" in (pipeline.done_error or "")
        pipeline.shutdown()
    (shown,) = [s.detail for s in events.of(StateChanged) if s.state is ClientState.ERROR]
    assert "the pipeline stopped (RuntimeError: a bug on the pipeline thread" in shown
    assert [n.code for n in events.of(Notice) if n.level == "error"] == ["fault"]
