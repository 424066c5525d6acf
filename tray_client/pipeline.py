"""The headless heart of the client: audio source -> Silero VAD -> segmenter -> link -> output, on one asyncio thread.

`Pipeline` is the runner: it owns the thread, the loop and the executors, wires the parts together and is the
only way in from other threads. The parts, each used on the pipeline thread only:
- `capture.pump.Capture`: source choice, microphone retry, VAD scheduling, segmenter -> link;
- `link.driver.Link` around the pure `link.core.LinkCore`: the WebSocket session, replay, ordered finals;
- `delivery.Delivery`: finals -> the text stage (sanitized there, once) -> sink, saving the audio of failed ones;
- `leftovers.Leftovers`: audio kept across runs (earlier runs' leftovers recovered, unsent audio kept at shutdown);
- `output_jobs.OutputJobs`: undo and type again from any thread onto the output thread, behind the finals;
- `state.derive_state`: the tray state, a pure function of the parts' facts.

Thread map (each thread has one owner and one way in):
- pipeline thread (owned here): an asyncio loop that owns capture, link, delivery, the state and the listeners.
  Way in: `send`, `update_settings`, `shutdown`, all through `loop.call_soon_threadsafe` / run_coroutine_threadsafe.
- Silero (stateful, not thread-safe) is loaded on its own thread from the moment the tray icon shows
  (capture/vad_preload.py; else on the loop's default executor) and then used by the pipeline thread alone: a block of 4 frames costs well
  under a millisecond, and a hand-off to a VAD thread and back cost more CPU than the model itself (two thread
  wake-ups per block; BENCHMARKS.md, issue 22).
- output worker (one-thread executor): owns the text sink (xdotool, clipboard, stdout), so a slow typer never
  blocks the audio. Way in: run_in_executor, one final at a time, in order.
- PyAudio's callback thread (inside MicSource): hands bytes over with call_soon_threadsafe, nothing else.
Listeners run on the pipeline thread and must not block (the tray posts to its own thread).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import itertools
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from tray_client import config as config_module
from tray_client._hub import Hub
from tray_client._memory import return_freed_memory
from tray_client.capture.audio_source import AudioSource
from tray_client.capture.pump import Capture
from tray_client.capture.vad import SileroVad, VadLoadError
from tray_client.capture.vad_preload import VadPreload
from tray_client.config import ClientConfig
from tray_client.delivery import Delivery
from tray_client.desktop.context_reader import ContextReader
from tray_client.events import ClientState, Command, NoticeCode, PipelineEvent, StateChanged
from tray_client.keep import KeptAudio, kept
from tray_client.leftovers import JOURNAL_CLOSE_TIMEOUT_S, Leftovers, keep_leftover_audio, spool_root
from tray_client.link.driver import Link, LinkSettings, LinkStatus
from tray_client.link.journal import AudioJournal
from tray_client.link.spool_folders import SpoolFolder
from tray_client.output_jobs import OutputJobs
from tray_client.port import SettingValue, ShutdownReport, VoiceUndo
from tray_client.sinks import TextSink
from tray_client.state import Facts, derive_state
from tray_client.text.dispatch import FollowFocus, InstructionTaker
from tray_client.text.profiles import base_profile
from tray_client.text.writer import Written

__all__ = ["Pipeline", "ShutdownReport", "keep_leftover_audio", "link_settings", "spool_root"]

T = TypeVar("T")

log = logging.getLogger(__name__)

SINK_CLOSE_TIMEOUT_S = 1.5  # the typer waits for its last keys to settle (x11_keymap.SETTLE_S) before unbinding
SHUTDOWN_SLACK_S = 2.0 + JOURNAL_CLOSE_TIMEOUT_S  # beyond the grace and the sink's close, for the pipeline thread to finish its work
VAD_IN_USE = "the pipeline has its VAD: audio is scored from now on"
"""Logged when listening can begin (the model may have loaded earlier, on the preload thread): bench_tray.py
times start -> VAD ready to it."""
SETTINGS = ("mode", "output", "language", "input_device", "server", "token", "context", "chinese_script",
            "voice_commands", "replacements", "glossary", "commands", "apps", "keep_audio_days")
# The text ones (glossary and [apps] profiles too) apply from the next utterance: its profile is read then.


def link_settings(config: ClientConfig, spool_dir: str = "") -> LinkSettings:
    return LinkSettings(url=config.server, token=config.token, language=config.language,
                        context=base_profile(config).context, final_timeout_s=config.final_timeout_s,
                        spool_dir=spool_dir)


class Pipeline:
    """Owns the background asyncio thread that turns speech into typed text. Safe to drive from any thread."""

    def __init__(self, config: ClientConfig, *, source: AudioSource | None = None,
                 sink: TextSink | None = None, vad: VadPreload | None = None) -> None:
        """`vad`: the Silero VAD already loading since the tray icon showed (used if its runtime is the config's;
        else the pipeline loads the VAD itself once it starts)."""
        self._config = config
        self._preload = vad
        self._hub = Hub()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._state = ClientState.OFF
        self._shown: tuple[ClientState, str] | None = None  # None: no state shown yet (the first one always is)
        self._done = threading.Event()
        self.done_error: str | None = None  # set when the run ended because of a failure (input, VAD, crash)
        self._faults: dict[str, str] = {}  # background tasks that died and were restarted, until they recover
        self._stopping = False  # shutdown began: commands are ignored
        self._stopped = False  # shutdown ended: the last state shown is OFF
        self._stop_event = asyncio.Event()
        # No thread starts here: executors start their worker on the first job.
        self._output_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="output")
        session, counter = uuid.uuid4().hex[:8], itertools.count(1)
        self._spool = SpoolFolder(spool_root())
        # Every utterance's audio on disk until it is delivered, then kept keep_audio_days (read at each keep).
        kept_audio = KeptAudio(kept().audio, lambda: self._config.keep_audio_days)
        self._journal = AudioJournal(self._spool.path, keep=kept_audio.keep)
        self._link_settings = settings = functools.partial(link_settings, spool_dir=str(self._spool.path))
        self._delivery = Delivery(config, hub=self._hub, pool=self._output_pool, sink=sink,
                                  on_change=self._refresh, on_command=self._on_command)
        self._leftovers = Leftovers(hub=self._hub, journal=self._journal, spool=self._spool,
                                    config=lambda: self._config, on_change=self._refresh,
                                    save=self._delivery.on_failed,
                                    ready=lambda: self._link.connected and not self._stopping)
        self._link = Link(settings(config), on_final=self._delivery.on_final,
                          on_failed=self._leftovers.link_gave_up, on_status=self._on_link_status,
                          on_partial=self._delivery.on_partial, on_fault=self._on_fault,
                          on_notice=lambda level, message, code: self._hub.notice(level, message, code=code),
                          journal=self._journal)
        # Utterances go to the link through the text stage's focus watch: it notes the app each one is for.
        self._follow = focus = FollowFocus(self._link, self._delivery.text, lambda: self._config, settings,
                                           context_reader=None if sink is not None else ContextReader)
        self._jobs = OutputJobs(lambda: self._loop, self._delivery, lambda: self._stopping)
        self._capture = Capture(config, source=source, hub=self._hub, sink=focus,
                                new_id=lambda: f"{session}-{next(counter)}", on_change=self._refresh,
                                on_fail=self._fail)

    # ----- public API, any thread -----
    @property
    def state(self) -> ClientState:
        """What the tray icon should show now."""
        return self._state

    @property
    def last_final(self) -> str:
        """The last text output (sanitized), for the tray's "copy last" item."""
        return self._delivery.last_final

    @property
    def config(self) -> ClientConfig:
        """The settings in effect, including changes made with `update_settings` (save them with save_config)."""
        return self._config

    def subscribe(self, listener: Callable[[PipelineEvent], None]) -> None:
        """Call `listener` for every event, on the pipeline thread; it must return quickly."""
        self._hub.subscribe(listener)

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

    def update_settings(self, **changes: SettingValue) -> None:
        """Change mode, output, language, input_device, server, token or context from any thread.

        Raises ConfigError here, in the caller's thread, for an unknown key or a bad value."""
        unknown = sorted(set(changes) - set(SETTINGS))
        if unknown:
            raise config_module.ConfigError(f"cannot change {', '.join(unknown)} at run time; "
                                            f"changeable: {', '.join(SETTINGS)}")
        config_module.replace(self._config, **changes)  # validate now
        self._call(self._apply_settings, changes)

    def run_output(self, job: Callable[[TextSink], T]) -> concurrent.futures.Future[T]:
        """Run `job(sink)` on the output thread, queued behind the finals still being typed (output_jobs.py)."""
        return self._jobs.run(job)

    def retype(self, text: str) -> concurrent.futures.Future[Written]:
        """Type `text` again into the window in front (Recent -> Type again, Paste last), on the output thread
        after the finals, spaced like the next dictation; the future's result is the text writer's Written."""
        return self._jobs.retype(text)

    def undo_last(self) -> concurrent.futures.Future[str]:
        """Undo the last final on the output thread, after the finals still being typed: "" or why not."""
        return self._jobs.undo_last()

    def use_undo(self, undo: VoiceUndo) -> None:
        """Make the voice command "scratch that" call `undo(sink)` on the output thread (it returns "" or why it
        did nothing) instead of the text stage's own Backspace undo. Call before `start`."""
        self._jobs.use_undo(undo)

    def use_instructions(self, taker: InstructionTaker) -> None:
        """Let `taker` (the voice edit) claim utterances whose final is an instruction, not dictation: it gets the
        final on the output thread instead of the text stage. Call before `start`."""
        self._delivery.text.use_instructions(taker)

    def flush_audio(self, timeout: float) -> bool:
        """Wait until every held utterance's audio is written and fsynced (the session may end); any thread."""
        return self._journal.flush(timeout)

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
            report = future.result(timeout=grace_seconds + SINK_CLOSE_TIMEOUT_S + SHUTDOWN_SLACK_S)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError, RuntimeError):
            log.error("the pipeline did not stop within %.1f s", grace_seconds + SINK_CLOSE_TIMEOUT_S + SHUTDOWN_SLACK_S)
            report = ShutdownReport(0, clean=False)
        thread.join(timeout=1.0)
        if thread.is_alive():
            report = ShutdownReport(report.dropped, report.dropped_ids, clean=False)
        if self._preload is not None:
            self._preload.settle()  # a Quit in the first second: the process must not exit inside the VAD's set-up
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
            message = f"the pipeline stopped ({type(error).__name__}: {error}); restart the app (see the log)"
            self.done_error = f"pipeline failed: {error}"
            self._state = ClientState.ERROR
            self._hub.emit(StateChanged(ClientState.ERROR, message))
            self._hub.notice("error", message, code=NoticeCode.FAULT)
            self._done.set()
        finally:
            _close_loop(self._loop)

    async def _main(self) -> None:
        self._link.start()
        self._delivery.open_sink()
        self._leftovers.start()
        try:
            vad = await self._vad()
        except VadLoadError as error:
            # Stay up in ERROR with the fix on screen (a tray that vanished would hide it); headless exits 3.
            self._hub.notice("error", str(error))
            self._faults["vad"] = str(error)
            self._refresh()
            self._fail(str(error))
            await self._stop_event.wait()
            return
        self._capture.vad_loaded(vad)
        log.info("%s (%s)", VAD_IN_USE, vad.kind)
        # Start-up is over once the model is in: what it freed goes back to the OS, not kept by malloc for good
        asyncio.get_running_loop().run_in_executor(None, return_freed_memory)
        self._refresh()
        await self._stop_event.wait()

    async def _vad(self) -> SileroVad:
        """The loaded VAD: the preload's when there is one for this runtime, else loaded now on a worker; a
        failure is raised here either way, as `SileroVad.load` raised it."""
        preload = self._preload
        if preload is not None and preload.kind == self._config.vad:
            return await asyncio.wrap_future(preload.future)
        return await asyncio.get_running_loop().run_in_executor(None, SileroVad.load, self._config.vad)

    def _fail(self, message: str) -> None:
        if self.done_error is None:
            self.done_error = message
        self._done.set()

    def _refresh(self) -> None:
        """Show the state the facts give now, and see whether a finite run is done."""
        link, capture, delivery = self._link, self._capture, self._delivery
        status = link.status
        shown = derive_state(Facts(
            capture_error=capture.error, fault=next(iter(self._faults.values()), ""),
            link_error=status.detail if status.error else "", link_connected=link.connected,
            link_detail=status.detail, speaking=capture.speaking,
            transcribing=bool(link.awaiting_final or delivery.pending), listening=capture.listening))
        if shown != self._shown and not self._stopped:
            self._shown = shown
            self._state = shown[0]
            self._hub.emit(StateChanged(*shown))
        # A headless run over a file also waits for the kept audio of earlier runs it is transcribing.
        if capture.input_ended and link.unfinished == 0 and delivery.pending == 0 and not self._leftovers.running:
            self._done.set()

    def _on_command(self, command: Command) -> None:
        if self._stopping:
            return
        if command is Command.RECONNECT:
            self._link.reconnect()
        else:
            self._capture.command(command)
        self._refresh()

    def _apply_settings(self, changes: dict[str, Any]) -> None:
        old = self._config
        self._config = config_module.replace(old, **changes)
        self._delivery.configure(self._config)
        if self._link_settings(self._config) != self._link_settings(old):
            self._link.configure(self._link_settings(self._config))
        self._capture.configure(self._config)
        self._refresh()

    def _on_link_status(self, status: LinkStatus) -> None:
        if status.error:
            self._hub.notice("error", status.detail, code=NoticeCode.AUTH_REFUSED)
        self._leftovers.server_up()
        self._refresh()

    def _on_fault(self, task: str, error: BaseException | None) -> None:
        """A supervised background task died (and is being restarted), or runs again after that."""
        if error is not None:
            self._faults[task] = f"internal error in {task} ({type(error).__name__}: {error}); restarted it"
            self._hub.notice("error", f"{self._faults[task]}; see the log", code=NoticeCode.FAULT)
        elif self._faults.pop(task, None) is not None:
            self._hub.notice("info", f"{task} is running again")
        self._refresh()

    async def _shutdown(self, grace: float) -> ShutdownReport:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        self._stopping = True
        await self._capture.stop(deadline - loop.time())
        await self._link.wait_idle(max(0.0, deadline - loop.time()))
        while self._delivery.pending and loop.time() < deadline:
            await asyncio.sleep(0.02)
        unsent = await self._link.aclose()
        saved = await loop.run_in_executor(None, self._leftovers.keep_unsent, unsent)
        await self._delivery.stop(SINK_CLOSE_TIMEOUT_S)
        self._follow.shutdown()
        dropped = [u.utterance_id for u in unsent]
        if dropped:
            log.warning("shutdown dropped %d utterance(s) still waiting for a final: %s; their audio is saved: %s",
                        len(dropped), dropped, saved or "none")
        self._stopped = True
        self._state = ClientState.OFF
        self._hub.emit(StateChanged(ClientState.OFF, "shut down"))
        self._stop_event.set()
        self._done.set()
        return ShutdownReport(len(dropped), tuple(dropped), saved=tuple(saved))


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Let every task finish its cleanup (a microphone closes its stream in a worker thread) before the loop
    goes, as asyncio.run does; a task destroyed while pending would leak its device."""
    leftover = asyncio.all_tasks(loop)
    for task in leftover:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
