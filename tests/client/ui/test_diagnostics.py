"""The Diagnostics report: the real server's /healthz (model, backend) and how long it took, the latencies with
their parts, and a clear line when the server cannot be reached."""

from __future__ import annotations

from dictation_devtools.servers import free_port, running_server
from dictation_devtools.stand_in_backends import ScriptedBackend
from tray_client.config import ClientConfig
from tray_client.history.store import HistoryEntry
from tray_client.ui.tray.diagnostics import gather, health_url, write_report


def row(text: str, at: float, latency: float | None) -> HistoryEntry:
    return HistoryEntry(time=at, text=text, raw=text, language="English", audio_s=2.0, latency_s=latency,
                        silence_s=0.4 if latency else None, server_s=0.15 if latency else None,
                        typing_s=0.05 if latency else None, target_app="gedit", output="type")


def test_report_names_the_server_model_and_lists_the_latencies_with_their_parts(tmp_path):
    entries = (row("newest words", 1000.0, 0.6), row("older", 990.0, 0.9), row("from a file", 980.0, None))
    with running_server(backend_factory=lambda config: ScriptedBackend([])) as server:
        config = ClientConfig(server=server.url)
        path = write_report(tmp_path, gather(config, entries, ("overlay: the overlay cannot open a window",)))
    text = path.read_text(encoding="utf-8")
    assert "/healthz in " in text and "model=scripted, backend=scripted" in text and "status=ok" in text
    assert "   600  (400 + 150 + 50)" in text and "   900  (400 + 150 + 50)" in text
    assert "(not real time)" in text
    assert "p50 750 ms, worst 900 ms" in text
    assert "python: " in text and "websockets: " in text
    assert "overlay: the overlay cannot open a window" in text


def test_report_says_when_the_server_cannot_be_reached(tmp_path):
    config = ClientConfig(server=f"ws://127.0.0.1:{free_port()}")
    text = write_report(tmp_path, gather(config, ())).read_text(encoding="utf-8")
    assert "/healthz failed after" in text and "ConnectError" in text
    assert "Last 0 finals" in text


def test_health_url_follows_the_websocket_url():
    assert health_url("ws://10.0.0.2:8765") == "http://10.0.0.2:8765/healthz"
    assert health_url("wss://asr.example.com/ws") == "https://asr.example.com/healthz"
