"""`Pipeline.run_output`: undo and "type again" run on the output thread, in order behind the finals, and the
FinalText says exactly what was typed (spacing included) so undo can delete exactly that."""

from __future__ import annotations

import pytest

from dictation_devtools.scripted_server import ScriptedServer
from tests.client.test_pipeline import Events, wav_config
from tray_client.events import FinalText
from tray_client.pipeline import Pipeline
from tray_client.sinks import OutputError


def test_output_jobs_run_on_the_output_thread_after_the_finals_and_finals_carry_what_was_typed(
        speech, recording_sink):
    sample = speech.english
    with ScriptedServer.for_sample(sample) as server:
        pipeline = Pipeline(wav_config(sample, server.url), sink=recording_sink)
        events = Events(pipeline)
        pipeline.start()
        assert pipeline.wait_done(30)
        job = pipeline.run_output(lambda sink: sink.emit("again") or "done")
        assert job.result(10) == "done"
        pipeline.shutdown()
    finals = events.of(FinalText)
    assert [f.typed for f in finals] == recording_sink.emitted[:-1]  # " second phrase" with its space
    assert finals[1].typed == " " + finals[1].text and finals[0].typed == finals[0].text
    assert all(f.raw == f.text and f.typing_s >= 0 for f in finals)
    assert recording_sink.emitted[-1] == "again"
    assert recording_sink.threads == {"output_0"}


def test_an_output_job_after_shutdown_fails_with_a_reason(speech, recording_sink):
    sample = speech.english
    with ScriptedServer.for_sample(sample) as server:
        pipeline = Pipeline(wav_config(sample, server.url), sink=recording_sink)
        pipeline.start()
        assert pipeline.wait_done(30)
        pipeline.shutdown()
    with pytest.raises(OutputError):
        pipeline.run_output(lambda sink: sink.emit("late")).result(5)
    assert "late" not in recording_sink.emitted
