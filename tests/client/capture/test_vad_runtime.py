"""The VAD runtime: ONNX by default, and a missing Visual C++ runtime (Windows) named with its fix while the
app stays up in ERROR. The DLL failure is raised at the import boundary as Windows raises it."""

from __future__ import annotations

import pytest

from dictation_devtools.polling import wait_for
from tests.client.protocol_server import free_port
from tray_client.capture import vad as vad_module
from tray_client.config import ClientConfig
from tray_client.events import ClientState, Notice, StateChanged
from tray_client.pipeline import Pipeline


def test_onnx_is_the_default_runtime_and_torch_stays_available():
    assert ClientConfig().vad == "onnx"
    assert ClientConfig(vad="torch").vad == "torch"


def windows_dll_error(kind: str) -> BaseException:
    if kind == "torch":  # torch/__init__.py: OSError [WinError 126] ... Error loading "...\\c10.dll"
        error = OSError(22, 'Error loading "C:\\venv\\Lib\\site-packages\\torch\\lib\\c10.dll" or one of its '
                            "dependencies.")
        error.winerror = 126  # type: ignore[attr-defined]
        return error
    return ImportError("DLL load failed while importing onnxruntime_pybind11_state: The specified module could "
                       "not be found.")


@pytest.mark.parametrize("kind", ["onnx", "torch"])
def test_a_missing_vc_runtime_names_the_fix(monkeypatch, kind):
    def fail() -> None:
        raise windows_dll_error(kind)

    monkeypatch.setattr(vad_module, f"_load_{kind}", fail)
    with pytest.raises(vad_module.VadLoadError) as caught:
        vad_module.SileroVad.load(kind)
    message = str(caught.value)
    assert "Visual C++ Redistributable" in message and vad_module.VC_REDIST_URL in message


def test_the_pipeline_stays_up_in_error_when_the_vad_cannot_load(monkeypatch):
    def fail() -> None:
        raise windows_dll_error("onnx")

    monkeypatch.setattr(vad_module, "_load_onnx", fail)
    events: list[object] = []
    pipeline = Pipeline(ClientConfig(server=f"ws://127.0.0.1:{free_port()}", input_device="no mic needed"))
    pipeline.subscribe(events.append)
    pipeline.start()
    try:
        assert wait_for(lambda: any(isinstance(e, StateChanged) and e.state is ClientState.ERROR
                                    and "Visual C++" in e.detail for e in events), 20)
        assert any(isinstance(e, Notice) and e.level == "error" and "Visual C++" in e.message for e in events)
        assert pipeline._thread is not None and pipeline._thread.is_alive()  # still answers, e.g. Quit
    finally:
        report = pipeline.shutdown(grace_seconds=0.2)
    assert report.clean
