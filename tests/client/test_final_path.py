"""The walk of a final to the typed text: sanitized once, and the app it went to is the one focus answer the
utterance was pinned to, carried in the FinalText to the history (which never asks the OS again)."""

from __future__ import annotations

from dictation_devtools.polling import wait_for
from tests.client.text.test_text_writer import KeyboardRecorder
from tray_client.config import ClientConfig
from tray_client.desktop.focus import Focus
from tray_client.events import FinalText
from tray_client.history.recorder import HistoryRecorder, HistorySnapshot
from tray_client.text import stage as stage_module
from tray_client.text.dispatch import TextDispatch
from tray_client.text.sanitize import sanitize


def test_a_final_is_sanitized_once_on_its_way_to_the_window(monkeypatch):
    calls: list[str] = []

    def counted(text: str, *args: object, **kwargs: object) -> str:
        calls.append(text)
        return sanitize(text, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stage_module, "sanitize", counted)
    config = ClientConfig()
    mail = Focus("42", ("mailapp",), 7)
    dispatch = TextDispatch(config, fixed_sink=True, foreground=lambda: mail)
    dispatch.started("u1", config)
    sink = KeyboardRecorder()
    written = dispatch.job("u1", "hello\x07 there", "English", sink, config)()
    assert calls == ["hello\x07 there"]
    assert sink.window == written.typed and "\x07" not in written.typed
    assert written.target.app == "mailapp"  # the pinned focus, carried to the FinalText by delivery


def test_the_history_records_the_app_the_final_carries(tmp_path):
    snapshots: list[HistorySnapshot] = []
    recorder = HistoryRecorder(tmp_path / "h.sqlite3", days=30, output=lambda: "type", on_snapshot=snapshots.append)
    recorder.start()
    recorder.on_event(FinalText("u1", "to the mail", "English", typed="to the mail", app="mailapp", window="42"))
    recorder.on_event(FinalText("u2", "to stdout", "English", typed="to stdout"))  # no window: unknown, not asked
    assert wait_for(lambda: snapshots and len(snapshots[-1].recent) == 2, 60)
    recorder.close()
    assert {entry.text: entry.target_app for entry in snapshots[-1].recent} == {"to the mail": "mailapp",
                                                                               "to stdout": ""}
