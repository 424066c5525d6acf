"""Recent -> Type again (and Paste last) type a text as the next dictation would: with its separator, after
the finals still being typed, on the output thread. Before, it typed the bare text: "one.Two." """

from __future__ import annotations

from dictation_devtools.polling import wait_for
from dictation_devtools.scripted_server import ScriptedServer
from tests.client.test_pipeline import wav_config
from tray_client.pipeline import Pipeline
from tray_client.ui.tray import intents
from tray_client.ui.tray.features import Features


def test_type_again_is_spaced_like_the_next_dictation(speech, recording_sink, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the history the features open stays here
    sample = speech.english
    with ScriptedServer.for_sample(sample) as server:
        config = wav_config(sample, server.url, history_days=0)
        pipeline = Pipeline(config, sink=recording_sink)
        pipeline.start()
        assert pipeline.wait_done(30)
        typed = len(recording_sink.emitted)
        posted: list[object] = []
        features = Features(config, pipeline, posted.append, lambda _message: None, lambda **_changes: None,
                            lambda _path: None)
        features.handlers()[intents.TypeText](intents.TypeText("Again."))
        assert wait_for(lambda: len(recording_sink.emitted) > typed, 10)
        pipeline.shutdown()
    assert recording_sink.emitted[-1] == " Again."
