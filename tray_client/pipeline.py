"""The headless heart of the client: audio source -> Silero VAD -> segmenter -> link -> output, on one asyncio thread.

Thread map (each thread has one owner and one way in):
- pipeline thread (owned here): an asyncio loop that owns the segmenter, the link, the state and the listeners.
  Way in: `send`, `update_settings`, `shutdown`, all through `loop.call_soon_threadsafe` / run_coroutine_threadsafe.
- VAD worker (one-thread executor): owns the Silero model (stateful, not thread-safe). Way in: run_in_executor.
- output worker (one-thread executor): owns the text sink (xdotool, clipboard, stdout), so a slow typer never
  blocks the audio. Way in: run_in_executor, one final at a time, in order.
- PyAudio's callback thread (inside MicSource): hands bytes over with call_soon_threadsafe, nothing else.
Listeners run on the pipeline thread and must not block (the tray posts to its own thread).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import itertools
import logging
import threading
import uuid
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tray_client import config as config_module
from tray_client.capture.audio_source import AudioSource, AudioSourceError, MicSource, WavSource
from tray_client.capture.segmenter import (
    SAMPLE_RATE,
    Segmenter,
    SegmenterSettings,
    SegmentEvent,
    UtteranceAudio,
    UtteranceEnded,
    UtteranceStarted,
)
from tray_client.capture.vad import SileroVad, VadLoadError
from tray_client.config import ClientConfig
from tray_client.events import (
    ClientState,
    Command,
    FinalText,
    Notice,
    PartialText,
    PipelineEvent,
    SpeechSegment,
    StateChanged,
)
from tray_client.link.driver import Link, LinkSettings, LinkStatus
from tray_client.sinks.typing_backends import OutputError, TextSink, make_sink
from tray_client.text.sanitize import sanitize
from tray_client.text.spacing import Spacer

log = logging.getLogger(__name__)

MIC_RETRY_S = 3.0  # how often a missing microphone is looked for again
WATCH_INTERVAL_S = 0.2
SINK_CLOSE_TIMEOUT_S = 1.5  # the typer waits for its last keys to settle (x11_keymap.SETTLE_S) before unbinding
SETTINGS = ("mode", "output", "language", "input_device", "server", "token", "context")


@dataclass(frozen=True)
class ShutdownReport:
    """What shutdown left behind: utterances that never got their final within the grace period."""

    dropped: int
    dropped_ids: tuple[str, ...] = ()
    clean: bool = True  # False when the pipeline thread did not stop in time


class Pipeline:
    """Owns the background asyncio thread that turns speech into typed text. Safe to drive from any thread."""

    def __init__(self, config: ClientConfig, *, source: AudioSource | None = None,
                 sink: TextSink | None = None) -> None:
        self._config = config
        self._source_override = source
        self._sink_override = sink
        self._listeners: list[Callable[[PipelineEvent], None]] = []
        self._listeners_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._state = ClientState.OFF
        self._detail = ""
        self._last_final = ""
        self._done = threading.Event()
        self.done_error: str | None = None  # set when the run ended because of a failure (headless)
        self.vad_resets = 0
        self.untranscribed = 0  # utterances the server never transcribed (the user was told; headless exits 3)
        # Owned by the pipeline thread from start() on:
        self._session = uuid.uuid4().hex[:8]
        self._counter = itertools.count(1)
        self._segmenter = Segmenter(self._segmenter_settings(config), self._new_id)
        # The initial listening state is set here, before any command can be posted: a LISTEN_ON/OFF sent while
        # the VAD model is still loading is then applied after it, never overwritten by it.
        self._segmenter.set_vad_enabled(config.mode == "vad" and (config.start_listening or self._finite_input()))
        self._link: Link | None = None
        self._sink: TextSink | None = None
        self._spacer = Spacer()
        self._vad: SileroVad | None = None
        self._vad_pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._output_pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._outputs_pending = 0
        self._input_ended = False
        self._mic_error = ""
        self._stopping = False
        self._tasks: list[asyncio.Task[Any]] = []
        self._wake_pump: asyncio.Event | None = None
        self._stop_event: asyncio.Event | None = None
        self._onset = 0  # of the open utterance, in samples since the input opened
        self._preroll = 0

    # ----- public API, any thread -----
    @property
    def state(self) -> ClientState:
        """What the tray icon should show now."""
        return self._state

    @property
    def last_final(self) -> str:
        """The last text output (sanitized), for the tray's "copy last" item."""
        return self._last_final

    @property
    def config(self) -> ClientConfig:
        """The settings in effect, including changes made with `update_settings` (save them with save_config)."""
        return self._config

    def subscribe(self, listener: Callable[[PipelineEvent], None]) -> None:
        """Call `listener` for every event, on the pipeline thread; it must return quickly."""
        with self._listeners_lock:
            self._listeners.append(listener)

    def start(self) -> None:
        """Start the pipeline thread and return at once."""
        if self._thread is not None:
            return
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._thread_main, name="pipeline", daemon=True)
        self._thread.start()

    def send(self, command: Command) -> None:
        """Post a command (listen on/off, push-to-talk, toggle, reconnect) from any thread."""
        self._call(self._on_command, command)

    def update_settings(self, **changes: Any) -> None:
        """Change mode, output, language, input_device, server, token or context from any thread.

        Raises ConfigError here, in the caller's thread, for an unknown key or a bad value."""
        unknown = sorted(set(changes) - set(SETTINGS))
        if unknown:
            raise config_module.ConfigError(f"cannot change {', '.join(unknown)} at run time; "
                                            f"changeable: {', '.join(SETTINGS)}")
        config_module.replace(self._config, **changes)  # validate now
        self._call(self._apply_settings, changes)

    def run_output(self, job: Callable[[TextSink], Any]) -> concurrent.futures.Future[Any]:
        """Run `job(sink)` on the output thread, queued behind the finals still being typed (undo, type again).

        The future fails with OutputError when there is no working output."""
        result: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def submit() -> None:
            sink, pool = self._sink, self._output_pool
            if sink is None or pool is None or self._stopping:
                result.set_exception(OutputError("no working output"))
                return
            pool.submit(job, sink).add_done_callback(lambda done: _copy_outcome(done, result))

        try:
            if self._loop is None:
                raise RuntimeError("not started")
            self._loop.call_soon_threadsafe(submit)
        except RuntimeError:  # not started, or shut down: the loop is closed
            result.set_exception(OutputError("the pipeline is not running"))
        return result

    def wait_done(self, timeout: float | None = None) -> bool:
        """Block until the input ended and every utterance was output, or the run failed (see `done_error`)."""
        return self._done.wait(timeout)

    def shutdown(self, grace_seconds: float = 1.0) -> ShutdownReport:
        """Stop everything; wait up to `grace_seconds` for finals still due; report what was dropped."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return ShutdownReport(0)
        future = asyncio.run_coroutine_threadsafe(self._shutdown(grace_seconds), loop)
        try:
            report = future.result(timeout=grace_seconds + SINK_CLOSE_TIMEOUT_S + 2.0)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError, RuntimeError):
            report = ShutdownReport(-1, clean=False)
        thread.join(timeout=1.0)
        if thread.is_alive():
            report = ShutdownReport(report.dropped, report.dropped_ids, clean=False)
        return report

    # ----- pipeline thread -----
    def _call(self, function: Callable[..., Any], *args: Any) -> None:
        if self._loop is None:
            raise RuntimeError("Pipeline.start() first")
        with contextlib.suppress(RuntimeError):  # the loop is closed: the pipeline is shut down
            self._loop.call_soon_threadsafe(function, *args)

    def _thread_main(self) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        except Exception as error:  # the pipeline died: tell the user instead of going quiet
            log.exception("pipeline failed")
            self.done_error = f"pipeline failed: {error}"
            self._done.set()
        finally:
            # Let every task finish its cleanup (a microphone closes its stream in a worker thread) before the
            # loop goes, as asyncio.run does; a task destroyed while pending would leak its device.
            leftover = asyncio.all_tasks(self._loop)
            for task in leftover:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    async def _main(self) -> None:
        self._vad_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="vad")
        self._output_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="output")
        self._wake_pump = asyncio.Event()
        self._stop_event = asyncio.Event()
        self._link = Link(self._link_settings(self._config), on_final=self._on_final, on_failed=self._on_failed,
                          on_status=self._on_link_status, on_partial=self._on_partial)
        self._link.start()
        self._set_sink()
        try:
            self._vad = await asyncio.get_running_loop().run_in_executor(self._vad_pool, SileroVad.load,
                                                                          self._config.vad)
        except VadLoadError as error:
            self._fail(str(error))
            self._notice("error", str(error))
            raise
        self._sync_pump()  # the pump waited for the VAD (see _pump_wanted)
        self._tasks.append(asyncio.get_running_loop().create_task(self._watch()))
        self._update_state()
        await self._stop_event.wait()

    def _new_id(self) -> str:
        return f"{self._session}-{next(self._counter)}"

    @staticmethod
    def _segmenter_settings(config: ClientConfig) -> SegmenterSettings:
        return SegmenterSettings(threshold=config.vad_threshold, min_silence_ms=config.min_silence_ms,
                                 preroll_ms=config.preroll_ms, max_utterance_s=config.max_utterance_s)

    @staticmethod
    def _link_settings(config: ClientConfig) -> LinkSettings:
        return LinkSettings(url=config.server, token=config.token, language=config.language,
                            context=config.context, final_timeout_s=config.final_timeout_s)

    def _emit(self, event: PipelineEvent) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("a pipeline listener failed on %r", event)

    def _notice(self, level: str, message: str, **extra: str) -> None:
        getattr(log, "warning" if level == "warning" else level if level in ("info", "error") else "info")(message)
        self._emit(Notice(level, message, dict(extra)))

    def _fail(self, message: str) -> None:
        if self.done_error is None:
            self.done_error = message
        self._done.set()

    def _set_sink(self) -> None:
        if self._sink_override is not None:
            self._sink = self._sink_override
            return
        self._close_sink()
        try:
            self._sink = make_sink(self._config.output, type_delay_ms=self._config.type_delay_ms)
        except OutputError as error:
            self._sink = None
            self._notice("error", f"output {self._config.output!r} unavailable: {error}")
            if self._config.no_tray:  # headless: nobody would see the words; stop instead of losing them
                self._fail(f"output {self._config.output!r} unavailable: {error}")

    def _close_sink(self) -> asyncio.Future[None] | None:
        """Let the sink give back what it holds (X11: keycodes bound for typing), on the output thread it owns."""
        close = getattr(self._sink, "close", None)
        self._sink = None
        if close is None or self._output_pool is None:
            return None
        return asyncio.get_running_loop().run_in_executor(self._output_pool, close)

    # ----- state -----
    def _update_state(self) -> None:
        link = self._link
        detail = ""
        if self._mic_error:
            state, detail = ClientState.ERROR, self._mic_error
        elif link is not None and link.status.error:
            state, detail = ClientState.ERROR, link.status.detail
        elif link is not None and not link.connected:
            state, detail = ClientState.DISCONNECTED, link.status.detail
        elif self._segmenter.is_open:
            state = ClientState.SPEECH
        elif (link is not None and link.awaiting_final) or self._outputs_pending:
            state = ClientState.TRANSCRIBING
        elif self._pump_task is not None and not self._pump_task.done():
            state = ClientState.LISTENING
        else:
            state = ClientState.OFF
        if (state, detail) != (self._state, self._detail):
            self._state, self._detail = state, detail
            self._emit(StateChanged(state, detail))

    # ----- commands and settings -----
    def _on_command(self, command: Command) -> None:
        if self._stopping:
            return
        events: list[SegmentEvent] = []
        if command is Command.LISTEN_ON:
            events = self._segmenter.set_vad_enabled(True)
        elif command is Command.LISTEN_OFF:
            events = self._segmenter.set_vad_enabled(False)
        elif command is Command.PTT_DOWN:
            events = self._segmenter.start_manual()
        elif command is Command.PTT_UP:
            events = self._segmenter.stop_manual()
        elif command is Command.TOGGLE_RECORD:
            events = self._segmenter.stop_manual() if self._segmenter.manual else self._segmenter.start_manual()
        elif command is Command.RECONNECT and self._link is not None:
            self._link.reconnect()
        self._handle_segments(events)
        self._sync_pump()
        self._update_state()

    def _apply_settings(self, changes: dict[str, Any]) -> None:
        old = self._config
        self._config = config_module.replace(old, **changes)
        new = self._config
        if new.mode != old.mode and new.mode != "vad":
            self._handle_segments(self._segmenter.set_vad_enabled(False))
        if new.output != old.output:
            self._set_sink()
            self._spacer.reset()
        if self._link is not None and self._link_settings(new) != self._link_settings(old):
            self._link.configure(self._link_settings(new))
        if new.input_device != old.input_device and self._source_override is None and not new.input_wav:
            self._restart_pump()
        self._sync_pump()
        self._update_state()

    # ----- audio -----
    def _pump_wanted(self) -> bool:
        if self._stopping or self._vad is None:  # no audio before the VAD is loaded: it would go unscored
            return False
        if self._finite_input():
            return not self._input_ended
        return self._config.mode in ("ptt", "toggle") or self._segmenter.vad_enabled or self._segmenter.is_open

    def _sync_pump(self) -> None:
        running = self._pump_task is not None and not self._pump_task.done()
        wanted = self._pump_wanted()
        if wanted and not running:
            self._pump_task = asyncio.get_running_loop().create_task(self._pump(), name="audio-pump")
            # The pump's own last _update_state runs while it is still alive, so it would leave the state at
            # "listening" after the input ended or listening was turned off: update again once it is done.
            self._pump_task.add_done_callback(lambda _: self._update_state())
        elif running and not wanted:
            assert self._pump_task is not None
            self._pump_task.cancel()

    def _restart_pump(self) -> None:
        if self._pump_task is not None and not self._pump_task.done():
            self._pump_task.cancel()
            self._pump_task.add_done_callback(lambda _: self._sync_pump())
        if self._wake_pump is not None:
            self._wake_pump.set()

    def _finite_input(self) -> bool:
        if self._source_override is not None:
            return bool(getattr(self._source_override, "finite", False))
        return bool(self._config.input_wav)

    def _make_source(self) -> AudioSource:
        if self._source_override is not None:
            return self._source_override
        if self._config.input_wav:
            return WavSource(self._config.input_wav, fast=self._config.fast)
        return MicSource(self._config.input_device)

    async def _pump(self) -> None:
        """Feed frames from the source until it ends, retrying a failing microphone every few seconds."""
        finite = self._finite_input()
        try:
            while True:
                source = self._make_source()
                try:
                    async for frame in source.frames():
                        if self._mic_error:
                            self._mic_error = ""
                            self._notice("info", f"{source.description} is working again")
                            self._update_state()
                        await self._process(frame)
                except AudioSourceError as error:
                    self._handle_segments(self._segmenter.finish("input_error"))
                    if finite:
                        self._notice("error", str(error))
                        self._fail(str(error))
                        return
                    if not self._mic_error:
                        self._notice("error", f"{error}; retrying every {MIC_RETRY_S:g} s")
                    self._mic_error = str(error)
                    self._update_state()
                    assert self._wake_pump is not None
                    self._wake_pump.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake_pump.wait(), MIC_RETRY_S)
                    continue
                if finite:
                    self._handle_segments(self._segmenter.finish("end_of_input"))
                    self._input_ended = True
                    log.info("input ended: %s", source.description)
                    self._check_done()
                    return
        finally:
            if not finite or self._stopping:
                self._handle_segments(self._segmenter.finish("off"))
            if self._mic_error and not finite:
                self._mic_error = ""
            self._update_state()

    async def _process(self, frame: np.ndarray) -> None:
        probability = None
        if self._segmenter.needs_vad and self._vad is not None:
            vad = self._vad
            probability = await asyncio.get_running_loop().run_in_executor(self._vad_pool, vad.probability, frame)
        was_open = self._segmenter.is_open
        self._handle_segments(self._segmenter.feed(frame, probability))
        if was_open != self._segmenter.is_open:
            self._update_state()

    def _handle_segments(self, events: list[SegmentEvent]) -> None:
        link = self._link
        if link is None:
            return
        for event in events:
            if isinstance(event, UtteranceStarted):
                log.info("utterance %s started (%s) at %.2f s", event.utterance_id, event.reason,
                         event.onset_sample / SAMPLE_RATE)
                self._preroll = event.preroll_samples
                self._onset = event.onset_sample
                link.open(event.utterance_id)
            elif isinstance(event, UtteranceAudio):
                link.append(event.utterance_id, event.pcm)
            elif isinstance(event, UtteranceEnded):
                link.close(event.utterance_id)
                self._reset_vad()
                self._emit(SpeechSegment(event.utterance_id, self._onset / SAMPLE_RATE,
                                         event.speech_end_sample / SAMPLE_RATE, self._preroll / SAMPLE_RATE,
                                         event.reason, event.end_sample / SAMPLE_RATE))
                log.info("utterance %s ended (%s) at %.2f s", event.utterance_id, event.reason,
                         event.end_sample / SAMPLE_RATE)
        if events:
            self._update_state()

    def _reset_vad(self) -> None:
        """Clear Silero's state on its own thread, queued behind any frame it is still scoring."""
        if self._vad is not None and self._vad_pool is not None:
            self._vad_pool.submit(self._vad.reset)
            self.vad_resets += 1

    # ----- link callbacks (pipeline thread) -----
    def _on_link_status(self, status: LinkStatus) -> None:
        if status.error:
            self._notice("error", status.detail)
            if self._config.no_tray:  # headless: nobody can fix the token while we wait; exit and say why
                self._fail(status.detail)
        self._update_state()

    def _on_partial(self, utterance_id: str, text: str) -> None:
        self._emit(PartialText(utterance_id, sanitize(text, self._config.max_final_chars)))

    def _on_final(self, utterance_id: str, raw: str, language: str) -> None:
        text = sanitize(raw, self._config.max_final_chars)
        sink = self._sink
        if sink is None:
            self._notice("error", "a transcript could not be output (no working output); it is in the log",
                         text=text)
            log.error("final %s not output: %r", utterance_id, text)
            self._check_done()
            return
        self._outputs_pending += 1
        assert self._output_pool is not None
        loop = asyncio.get_running_loop()
        out = text
        if sink.spaced and not text:
            # Nothing to type, but the event must queue behind finals still being typed, to keep their order.
            future = loop.run_in_executor(self._output_pool, _nothing)
        else:
            out = self._spacer.next(text) if sink.spaced else text
            future = loop.run_in_executor(self._output_pool, sink.emit, out)
        done_event = FinalText(utterance_id, text, language, raw=raw, typed=out)
        started = loop.time()
        future.add_done_callback(lambda done: self._on_output_done(
            done, dataclasses.replace(done_event, typing_s=loop.time() - started)))
        self._update_state()

    def _on_output_done(self, future: asyncio.Future[None], event: FinalText) -> None:
        self._outputs_pending -= 1
        error = None if future.cancelled() else future.exception()
        text = event.text
        if error is None and not future.cancelled():
            self._last_final = text or self._last_final
            self._emit(event)
        else:
            self._notice("error", f"could not output a transcript ({error}); copy it from here", text=text)
        self._update_state()
        self._check_done()

    def _on_failed(self, utterance_id: str, audio: bytes, why: str) -> None:
        self.untranscribed += 1
        path = self._save_audio(utterance_id, audio)
        where = f"; its audio is saved in {path}" if path else ""
        self._notice("error", f"an utterance got no transcript ({why}){where}",
                     utterance_id=utterance_id, path=str(path or ""))
        self._check_done()

    def _save_audio(self, utterance_id: str, audio: bytes) -> Path | None:
        try:
            folder = config_module.log_path().parent / "untranscribed"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{utterance_id}.wav"
            with wave.open(str(path), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(SAMPLE_RATE)
                wav.writeframes(audio)
            return path
        except OSError:
            log.exception("could not save the audio of %s", utterance_id)
            return None

    # ----- completion and shutdown -----
    def _check_done(self) -> None:
        link = self._link
        if self._input_ended and link is not None and link.unfinished == 0 and self._outputs_pending == 0:
            self._done.set()

    async def _watch(self) -> None:
        """Headless only: give up when the server stays unreachable (a tray app keeps retrying forever)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            link = self._link
            if not self._config.no_tray or link is None or link.disconnected_since is None:
                continue
            down_for = loop.time() - link.disconnected_since
            if down_for > self._config.unreachable_exit_s:
                self._fail(f"the server {self._config.server} was unreachable for {down_for:.0f} s "
                           f"({link.status.detail}); start it (python -m asr_server) or fix --server")
                return

    async def _shutdown(self, grace: float) -> ShutdownReport:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._pump_task is not None and not self._pump_task.done():
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(self._pump_task), max(0.05, deadline - loop.time()))
        self._handle_segments(self._segmenter.finish("shutdown"))
        link = self._link
        dropped: list[str] = []
        if link is not None:
            await link.wait_idle(max(0.0, deadline - loop.time()))
            while self._outputs_pending and loop.time() < deadline:
                await asyncio.sleep(0.02)
            dropped = await link.aclose()
        closing = self._close_sink() if self._sink_override is None else None
        if closing is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(closing, SINK_CLOSE_TIMEOUT_S)
        for pool in (self._vad_pool, self._output_pool):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        if dropped:
            log.warning("shutdown dropped %d utterance(s) still waiting for a final: %s", len(dropped), dropped)
        self._state = ClientState.OFF
        self._emit(StateChanged(ClientState.OFF, "shut down"))
        assert self._stop_event is not None
        self._stop_event.set()
        self._done.set()
        return ShutdownReport(len(dropped), tuple(dropped))


def _nothing() -> None:
    """The output job of an empty final: it only keeps the final's place in the output order."""


def _copy_outcome(source: concurrent.futures.Future[Any], target: concurrent.futures.Future[Any]) -> None:
    """Hand the output thread's result or exception to the caller's future."""
    if source.cancelled():
        target.cancel()
    elif source.exception() is not None:
        target.set_exception(source.exception())  # type: ignore[arg-type]
    else:
        target.set_result(source.result())
