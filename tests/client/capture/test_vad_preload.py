"""The VAD loaded from the process's start (capture/vad_preload.py) is the one the pipeline scores with, and a load
that fails there is shown exactly as the pipeline's own load failure was: ERROR state, a notice with the fix."""

from __future__ import annotations

import pytest

from dictation_devtools.polling import wait_for
from tests.client.capture.test_vad_runtime import windows_dll_error
from tests.client.protocol_server import free_port
from tray_client.capture import vad as vad_module
from tray_client.capture.vad_preload import VadPreload
from tray_client.config import ClientConfig
from tray_client.events import ClientState, Notice, StateChanged
from tray_client.pipeline import Pipeline


def offline_config(**changes: object) -> ClientConfig:
    return ClientConfig(server=f"ws://127.0.0.1:{free_port()}", input_device="no mic needed", **changes)


def run_until(pipeline: Pipeline, condition, timeout: float = 30.0) -> bool:
    pipeline.start()
    try:
        return wait_for(condition, timeout)
    finally:
        report = pipeline.shutdown(grace_seconds=0.2)
        assert report.clean


def test_the_pipeline_scores_with_the_preloaded_vad_and_loads_none_itself(monkeypatch):
    preload = VadPreload.start("onnx")
    loaded = preload.future.result(timeout=60)
    assert isinstance(loaded, vad_module.SileroVad) and loaded.kind == "onnx"

    def second_load(cls: type, kind: str = "onnx") -> vad_module.SileroVad:
        raise AssertionError("the pipeline loaded the VAD again instead of taking the preloaded one")

    monkeypatch.setattr(vad_module.SileroVad, "load", classmethod(second_load))
    pipeline = Pipeline(offline_config(), vad=preload)
    assert run_until(pipeline, lambda: pipeline._capture._vad is not None)
    assert pipeline._capture._vad is loaded
    assert pipeline.done_error is None


def test_a_preload_of_another_runtime_is_not_used(monkeypatch):
    preload = VadPreload("torch")  # never started: its future never resolves
    pipeline = Pipeline(offline_config(vad="onnx"), vad=preload)
    assert run_until(pipeline, lambda: pipeline._capture._vad is not None)
    assert pipeline._capture._vad.kind == "onnx"


@pytest.mark.parametrize("failure", ["dll", "model"])
def test_a_preload_that_fails_shows_the_fix_and_the_app_stays_up(monkeypatch, failure):
    def fail() -> None:
        if failure == "dll":
            raise windows_dll_error("onnx")
        raise vad_module.VadLoadError("silero-vad is not installed: pip install silero-vad")

    monkeypatch.setattr(vad_module, "_load_onnx", fail)
    preload = VadPreload.start("onnx")
    with pytest.raises(vad_module.VadLoadError):
        preload.future.result(timeout=60)
    fix = "Visual C++" if failure == "dll" else "pip install silero-vad"
    events: list[object] = []
    pipeline = Pipeline(offline_config(), vad=preload)
    pipeline.subscribe(events.append)
    assert run_until(pipeline, lambda: any(isinstance(e, StateChanged) and e.state is ClientState.ERROR
                                           and fix in e.detail for e in events))
    assert any(isinstance(e, Notice) and e.level == "error" and fix in e.message for e in events)
    assert pipeline.done_error is not None and fix in pipeline.done_error


def test_the_tray_app_starts_the_vad_as_the_icon_shows_and_hands_it_to_the_pipeline(monkeypatch):
    """The VAD loads beside the imports that follow the icon, and the pipeline gets that load, not its own."""
    from tests.client.ui.tray.test_icon_first import run_tray_building

    handed: list[VadPreload | None] = []

    class Recording:
        def __init__(self, config: ClientConfig, *, vad: VadPreload | None = None) -> None:
            handed.append(vad)
            raise RuntimeError("the test ends the start here")

    reported: list[str] = []
    run_tray_building(monkeypatch, Recording, reported)
    assert reported == ["RuntimeError: the test ends the start here"]
    assert len(handed) == 1 and isinstance(handed[0], VadPreload) and handed[0].kind == "onnx"
    assert isinstance(handed[0].future.result(timeout=60), vad_module.SileroVad)
