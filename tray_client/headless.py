"""The headless run (`--no-tray`): the pipeline without a tray, for WAV files, scripts, servers and tests.

Contract: with `--input-wav` it processes the file, outputs every final, and returns 0 once the file has ended
and every utterance has its final. When the server stays unreachable for `unreachable_exit_s` it returns 3 with
a message saying what to fix; also when the server refuses the token, when the output cannot work, and when an
utterance got no transcript (the server failed it twice). With the microphone it runs until Ctrl+C.

The exit policy (`ExitPolicy`) is pure: it reads the pipeline's public events, so a tray app, which keeps
retrying all day, never carries headless rules.
"""

from __future__ import annotations

import logging
import queue
import signal
import sys
import threading
import time
from pathlib import Path

from tray_client.config import ClientConfig
from tray_client.events import ClientState, Command, Notice, NoticeCode, PipelineEvent, StateChanged
from tray_client.history.recorder import start_recorder
from tray_client.keep import HOW_TO_TRANSCRIBE
from tray_client.pipeline import Pipeline, ShutdownReport

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 3
EXIT_INTERRUPTED = 130
POLL_S = 0.2  # wake-ups while waiting, so Ctrl+C is handled promptly on every platform
# Nobody can fix these while a headless run waits; "server_unstable" comes after a bounded number of sessions in a
# row that the server ended without a transcript (link/backoff.py UNSTABLE_AFTER), where a tray keeps retrying.
FATAL_NOTICES = (NoticeCode.AUTH_REFUSED, NoticeCode.OUTPUT_UNAVAILABLE, NoticeCode.SERVER_UNSTABLE)


class ExitPolicy:
    """When a headless run must give up, and why; fed the pipeline's events and the time."""

    def __init__(self, config: ClientConfig, now: float) -> None:
        self._config = config
        self._down_since: float | None = now  # the link starts down
        self._down_detail = "not connected yet"
        self._reason: str | None = None
        self.untranscribed = 0  # utterances the server never transcribed (the user was told)

    def on_event(self, event: PipelineEvent, now: float) -> None:
        if isinstance(event, Notice):  # already logged by the pipeline
            if event.code in FATAL_NOTICES and self._reason is None:
                self._reason = event.message
            elif event.code is NoticeCode.UNTRANSCRIBED:
                self.untranscribed += 1
        elif isinstance(event, StateChanged):
            if event.state is ClientState.DISCONNECTED:
                self._down_since = now if self._down_since is None else self._down_since
                self._down_detail = event.detail
            elif event.state is not ClientState.ERROR:  # every other state means the link is connected
                self._down_since = None

    def reason_to_stop(self, now: float) -> str | None:
        """Why the run must end now, or None."""
        if self._reason is not None:
            return self._reason
        if self._down_since is not None and now - self._down_since > self._config.unreachable_exit_s:
            return (f"the server {self._config.server} was unreachable for {now - self._down_since:.0f} s "
                    f"({self._down_detail}); start it (python -m asr_server) or fix --server")
        return None


def outcome(report: ShutdownReport, untranscribed: int) -> str | None:
    """What went wrong at the end of a run that was not stopped for a reason of its own, or None."""
    if not report.clean:
        return "the client did not shut down in time; utterances still waiting for a final may be lost"
    lost = report.dropped + untranscribed
    if not lost:
        return None
    kept = (f"; the audio of {len(report.saved)} is kept in {Path(report.saved[0]).parent} ({HOW_TO_TRANSCRIBE})"
            if report.saved else "")
    return f"{lost} utterance(s) never got a transcript{kept}"


def _interrupt(number: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(number).name)


def _end_on_hangup() -> None:
    """SIGTERM and SIGHUP (a logout, a closed terminal, `kill`) end the run like Ctrl+C: finals still due are
    waited for and unsent audio is saved, instead of the default of dying on the spot."""
    if threading.current_thread() is not threading.main_thread():
        return
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _interrupt)


def run_headless(config: ClientConfig) -> int:
    """Run the pipeline without a tray until the input ends (WAV) or Ctrl+C (microphone); return the exit code."""
    if config.output == "stdout" and hasattr(sys.stdout, "reconfigure"):
        # The contract is one UTF-8 line per final: a pipe on Windows (cp1252) or a C locale cannot hold CJK.
        sys.stdout.reconfigure(encoding="utf-8")
    pipeline = Pipeline(config)
    inbox: queue.SimpleQueue[PipelineEvent] = queue.SimpleQueue()
    policy = ExitPolicy(config, time.monotonic())
    pipeline.subscribe(inbox.put)
    history = start_recorder(config, pipeline)  # headless runs are dictation too: keep their text
    pipeline.start()
    if config.mode == "vad" and not config.input_wav:
        pipeline.send(Command.LISTEN_ON)
    reason: str | None = None
    _end_on_hangup()
    try:
        while not pipeline.wait_done(POLL_S):
            while not inbox.empty():
                policy.on_event(inbox.get(), time.monotonic())
            reason = policy.reason_to_stop(time.monotonic())
            if reason is not None:
                break
    except KeyboardInterrupt:
        report = pipeline.shutdown(grace_seconds=2.0)
        history.close()
        log.info("interrupted; %d utterance(s) dropped", report.dropped)
        return EXIT_INTERRUPTED
    report = pipeline.shutdown(grace_seconds=0.5)
    history.close()
    while not inbox.empty():  # a short run can end before the policy saw its events
        policy.on_event(inbox.get(), time.monotonic())
    reason = reason or policy.reason_to_stop(time.monotonic()) or pipeline.done_error
    if reason is not None and report.saved:
        reason += (f"; the audio of {len(report.saved)} utterance(s) is kept in {Path(report.saved[0]).parent} "
                   f"({HOW_TO_TRANSCRIBE})")
    reason = reason or outcome(report, policy.untranscribed)
    if reason is not None:
        log.error("%s", reason)
        return EXIT_FAILED
    return EXIT_OK
