"""Delivery: finals from the link to the text sink, in utterance order; failed utterances' audio kept on disk.

The sink (xdotool, clipboard, stdout) runs on its own one-thread executor, the output worker, so a slow typer
never blocks the audio; one final at a time, in the order the link delivers them. Everything else here runs on
the pipeline's asyncio thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tray_client._hub import Hub
from tray_client.config import ClientConfig
from tray_client.events import Command, FinalText, NoticeCode, PartialText
from tray_client.keep import HOW_TO_TRANSCRIBE, save_audio
from tray_client.sinks import OutputError, TextOnClipboard, TextSink, make_sink
from tray_client.text.dispatch import TextDispatch
from tray_client.text.sanitize import sanitize
from tray_client.text.writer import Written

log = logging.getLogger(__name__)


class Delivery:
    """Sanitizes finals, spaces them, outputs them on the output worker, and reports what could not be output."""

    def __init__(self, config: ClientConfig, *, hub: Hub, pool: concurrent.futures.ThreadPoolExecutor,
                 sink: TextSink | None, on_change: Callable[[], None],
                 on_command: Callable[[Command], None] | None = None) -> None:
        self._config = config
        self._hub = hub
        self._pool = pool
        self._sink_override = sink
        self._on_change = on_change
        self._sink: TextSink | None = None
        self._on_command = on_command  # a voice command's "stop listening"
        # The text stage (commands, clean-up, script, replacements, per-app profiles) between final and sink.
        self.text = TextDispatch(config, fixed_sink=sink is not None)
        self._quitting = threading.Event()  # read by the output worker: type nothing more
        self.pending = 0  # finals handed to the output worker and not output yet
        self.last_final = ""  # the last text output (sanitized), for the tray's "copy last" item

    def open_sink(self) -> None:
        """Make the sink the settings ask for (on the pipeline thread, before the first final)."""
        if self._sink_override is not None:
            self._sink = self._sink_override
            return
        self.close_sink()
        try:
            self._sink = make_sink(self._config.output, type_delay_ms=self._config.type_delay_ms)
        except OutputError as error:
            self._sink = None
            self._hub.notice("error", f"output {self._config.output!r} unavailable: {error}",
                             code=NoticeCode.OUTPUT_UNAVAILABLE)

    def configure(self, new: ClientConfig) -> None:
        old, self._config = self._config, new
        if new.output != old.output:
            self.open_sink()
            self._pool.submit(self.text.reset)

    def close_sink(self) -> asyncio.Future[None] | None:
        """Let the sink give back what it holds (X11: keycodes bound for typing), on the output thread it owns,
        after the keys it is typing now."""
        close = getattr(self._sink, "close", None)
        self._sink = None
        self._pool.submit(self.text.close)  # per-app sinks and the clean-up client, made again when needed
        if close is None:
            return None
        return asyncio.get_running_loop().run_in_executor(self._pool, close)

    async def stop(self, timeout: float) -> bool:
        """Quit: finals not being typed yet are not typed (their words go to the log and a notice), the sink is
        closed after its last keys, and the output worker ends. False if that took longer than `timeout`
        (a typer that hangs); the close still runs when it is free, never cancelled."""
        self._quitting.set()
        last_job = self.close_sink() or asyncio.get_running_loop().run_in_executor(self._pool, _nothing)
        done, _ = await asyncio.wait({last_job}, timeout=timeout)
        if not done:
            log.error("the output is still typing after %.1f s; it is closed when it finishes", timeout)
            self._pool.shutdown(wait=False)
            return False
        self._pool.shutdown(wait=True)  # the last job ran, so the worker is idle: joining it is immediate
        return True

    def run_output(self, job: Callable[[TextSink], Any], result: concurrent.futures.Future[Any],
                   stopping: bool) -> None:
        """Run `job(sink)` on the output thread, queued behind the finals still being typed (undo, type again)."""
        sink = self._sink
        if sink is None or stopping:
            result.set_exception(OutputError("no working output"))
            return
        self._pool.submit(job, sink).add_done_callback(lambda done: _copy_outcome(done, result))

    # ----- link callbacks (pipeline thread) -----
    def on_partial(self, utterance_id: str, text: str) -> None:
        self._hub.emit(PartialText(utterance_id, self.text.preview(utterance_id, text)))

    def on_final(self, utterance_id: str, raw: str, language: str) -> None:
        sink = self._sink
        if sink is None:
            text = sanitize(raw, self._config.max_final_chars)
            self._hub.notice("error", "a transcript could not be output (no working output); it is in the log",
                             code=NoticeCode.NOT_OUTPUT, text=text)
            log.error("final %s not output: %r", utterance_id, text)
            self._on_change()
            return
        self.pending += 1
        loop = asyncio.get_running_loop()
        # The text stage and the sink run as one job on the output thread, in order; it returns what it wrote.
        job = self.text.job(utterance_id, raw, language, sink, self._config)
        future = loop.run_in_executor(self._pool, self._write, job)
        started = loop.time()
        future.add_done_callback(lambda done: self._output_done(
            done, FinalText(utterance_id, "", language, raw=raw, typing_s=loop.time() - started)))
        self._on_change()

    def _output_done(self, future: asyncio.Future[Written], event: FinalText) -> None:
        self.pending -= 1
        error = None if future.cancelled() else future.exception()
        if error is None and not future.cancelled():
            written = future.result()
            self.last_final = written.text or self.last_final
            for note in written.notes:
                self._hub.notice("warning", note, code=NoticeCode.TEXT)
            if written.on_clipboard:
                self._hub.notice("warning", self.on_clipboard_message(written.on_clipboard), code=NoticeCode.ON_CLIPBOARD,
                                 text=written.text)
            self._hub.emit(dataclasses.replace(event, text=written.text, typed=written.typed,
                                               app=written.target.app, window=written.target.window))
            if written.stop_listening and self._on_command is not None:
                self._on_command(Command.LISTEN_OFF)
            self._on_change()
            return
        text = sanitize(event.raw, self._config.max_final_chars)
        self.last_final = text or self.last_final  # the words stay one "copy last transcript" away
        if isinstance(error, _Quitting):
            self._hub.notice("warning", f"not typed because the app was quitting: {text}", code=NoticeCode.NOT_OUTPUT,
                             text=text)
        elif isinstance(error, TextOnClipboard):  # e.g. an elevated window: the message says to paste it
            self._hub.notice("error", str(error), code=NoticeCode.ON_CLIPBOARD, text=text)
        else:
            self._hub.notice("error", f"could not output a transcript ({error}); copy it from here",
                             code=NoticeCode.NOT_OUTPUT, text=text)
        self._on_change()

    def on_clipboard_message(self, reason: str) -> str:
        """The notice for a final that went to the clipboard instead of a window: what to do now."""
        keys = self._config.hotkey_paste_last.replace("<", "").replace(">", "").title()
        return f"{reason}. Paste it with Ctrl+V, or press {keys} (tray: Paste last) to type it where you are now."

    def _write(self, job: Callable[[], Written]) -> Written:
        """The output worker's job for one final."""
        if self._quitting.is_set():
            raise _Quitting()
        return job()

    def on_failed(self, utterance_id: str, audio: bytes, why: str) -> Path | None:
        """An utterance got no transcript: save its audio as a WAV and tell the user; return the WAV (None: not
        saved)."""
        path = save_audio(utterance_id, audio)
        where = f"; its audio is saved in {path} ({HOW_TO_TRANSCRIBE})" if path else ""
        self._hub.notice("error", f"an utterance got no transcript ({why}){where}", code=NoticeCode.UNTRANSCRIBED,
                         utterance_id=utterance_id, path=str(path or ""))
        self._on_change()
        return path


class _Quitting(Exception):
    """A final reached the output worker after Quit: it is reported, not typed."""


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
