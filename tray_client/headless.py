"""The headless run (`--no-tray`): the pipeline without a tray, for WAV files, scripts, servers and tests.

Contract: with `--input-wav` it processes the file, outputs every final, and returns 0 once the file has ended
and every utterance has its final. When the server stays unreachable for `unreachable_exit_s` it returns 3 with
a message saying what to fix; also when an utterance got no transcript (the server failed it twice). With the
microphone it runs until Ctrl+C.
"""

from __future__ import annotations

import logging
import sys

from tray_client.config import ClientConfig
from tray_client.events import Command, Notice, PipelineEvent
from tray_client.history.recorder import start_recorder
from tray_client.pipeline import Pipeline

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 3
EXIT_INTERRUPTED = 130
POLL_S = 0.2  # wake-ups while waiting, so Ctrl+C is handled promptly on every platform


def run_headless(config: ClientConfig) -> int:
    """Run the pipeline without a tray until the input ends (WAV) or Ctrl+C (microphone); return the exit code."""
    if config.output == "stdout" and hasattr(sys.stdout, "reconfigure"):
        # The contract is one UTF-8 line per final: a pipe on Windows (cp1252) or a C locale cannot hold CJK.
        sys.stdout.reconfigure(encoding="utf-8")
    pipeline = Pipeline(config)

    def on_event(event: PipelineEvent) -> None:
        if isinstance(event, Notice) and event.level == "error":
            log.error("%s", event.message)

    pipeline.subscribe(on_event)
    history = start_recorder(config, pipeline)  # headless runs are dictation too: keep their text
    pipeline.start()
    if config.mode == "vad" and not config.input_wav:
        pipeline.send(Command.LISTEN_ON)
    try:
        while not pipeline.wait_done(POLL_S):
            pass
    except KeyboardInterrupt:
        report = pipeline.shutdown(grace_seconds=2.0)
        history.close()
        log.info("interrupted; %d utterance(s) dropped", report.dropped)
        return EXIT_INTERRUPTED
    report = pipeline.shutdown(grace_seconds=0.5)
    history.close()
    if pipeline.done_error:
        log.error("%s", pipeline.done_error)
        return EXIT_FAILED
    if report.dropped or pipeline.untranscribed:
        log.error("%d utterance(s) never got a transcript", report.dropped + pipeline.untranscribed)
        return EXIT_FAILED
    return EXIT_OK
