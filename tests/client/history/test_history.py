"""The transcript history: rows as typed (CJK included), latency from end of speech, retention, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from dictation_devtools.polling import wait_for
from dictation_devtools.scripted_server import ScriptedServer
from tests.client.test_cli import run_cli
from tray_client.events import FinalText, SpeechSegment
from tray_client.history.recorder import HistoryRecorder, HistorySnapshot
from tray_client.history.store import DAY_S, HistoryEntry, HistoryStore, history_path
from tray_client.history.tracker import UtteranceTracker


def entry(text: str, at: float, raw: str = "", latency: float | None = 0.5) -> HistoryEntry:
    return HistoryEntry(time=at, text=text, raw=raw or text, language="Chinese", audio_s=1.5, latency_s=latency,
                        silence_s=0.4, server_s=0.08, typing_s=0.02, target_app="gedit", output="type",
                        utterance_id="u-1")


def test_store_returns_rows_newest_first_and_searches_typed_and_raw_text(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite3")
    store.add(entry("你好世界", 1000.0))
    store.add(entry("Hello World", 1001.0, raw="hello\x07 world"))
    store.add(entry("第三句话", 1002.0))
    assert [e.text for e in store.recent(10)] == ["第三句话", "Hello World", "你好世界"]
    assert [e.text for e in store.recent(2)] == ["第三句话", "Hello World"]
    assert [e.text for e in store.recent(10, "世界")] == ["你好世界"]
    assert [e.text for e in store.recent(10, "HELLO")] == ["Hello World"]
    assert store.recent(1, "\x07")[0].raw == "hello\x07 world"  # the raw text is kept exactly
    store.close()


def test_rows_survive_the_writer_going_away_without_close(tmp_path):
    path = tmp_path / "h.sqlite3"
    code = ("import sys; from tray_client.history.store import HistoryStore, HistoryEntry\n"
            "s = HistoryStore(__import__('pathlib').Path(sys.argv[1]))\n"
            "s.add(HistoryEntry(1.0, '留下', '留下', 'Chinese', 1.0, None, None, None, None, '', 'type'))\n"
            "import os; os._exit(9)\n")  # no close, no atexit: like a crash right after the write
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    assert result.returncode == 9, result.stderr
    store = HistoryStore(path)
    assert [e.text for e in store.recent()] == ["留下"]
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_prune_keeps_the_last_days_and_zero_keeps_nothing(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite3")
    now = 100 * DAY_S
    for age_days in (40, 29, 1):
        store.add(entry(f"{age_days} days old", now - age_days * DAY_S))
    assert store.prune(30, now) == 1
    assert [e.text for e in store.recent()] == ["1 days old", "29 days old"]
    assert store.prune(0, now) == 2
    assert store.recent() == []


def test_latency_runs_from_the_end_of_speech_to_typed_and_splits_into_its_parts():
    tracker = UtteranceTracker()
    # Speech ended at 2.0 s of input; the segmenter closed at 2.4 s (400 ms of silence) at monotonic 50.0.
    tracker.segment(SpeechSegment("s-1", onset_s=1.0, speech_end_s=2.0, preroll_s=0.48, reason="silence",
                                  end_s=2.4), at=50.0)
    final = FinalText("s-1", "你好", "Chinese", raw="你好", typed=" 你好", typing_s=0.03)
    row = tracker.final(final, at=50.25, wall=1234.0, output="type")
    assert row.latency_s == 0.65  # 50.25 - (50.0 - 0.4)
    assert (row.silence_s, row.typing_s) == (0.4, 0.03)
    assert abs(row.server_s - 0.22) < 1e-9
    assert row.audio_s == 1.88  # 1.4 s of utterance + 0.48 s of pre-roll
    assert (row.text, row.output, row.time) == ("你好", "type", 1234.0)
    # The continuation of a cut utterance belongs to the same speech.
    assert tracker.final(FinalText("s-1.2", "续"), at=50.5, wall=1235.0, output="type").latency_s == 0.9
    # A file fed faster than real time has no felt latency.
    fast = UtteranceTracker(real_time=False)
    fast.segment(SpeechSegment("f-1", 0.0, 1.0, 0.0, "silence", 1.4), at=1.0)
    assert fast.final(FinalText("f-1", "x"), at=1.1, wall=1.0, output="stdout").latency_s is None


def test_recorder_writes_on_its_own_thread_and_reports_recent_entries(tmp_path):
    snapshots: list[tuple[str, HistorySnapshot]] = []
    recorder = HistoryRecorder(tmp_path / "h.sqlite3", days=30, output=lambda: "clipboard",
                               on_snapshot=lambda s: snapshots.append((threading.current_thread().name, s)))
    recorder.start()
    recorder.on_event(SpeechSegment("a-1", 0.0, 1.0, 0.48, "silence", 1.4))
    # The app is the one the writer typed into (FinalText.app, from the focus the utterance was pinned to).
    recorder.on_event(FinalText("a-1", "第一句", "Chinese", raw="第一句", typed="第一句", app="Notepad.exe"))
    recorder.on_event(FinalText("a-2", "", ""))  # nothing was typed: nothing to keep
    recorder.on_event(FinalText("a-3", "second one", "English", typed=" second one", app="Notepad.exe"))
    assert wait_for(lambda: len(snapshots) >= 2, 60)
    recorder.close()
    thread, last = snapshots[-1]
    assert thread == "history"
    assert [e.text for e in last.recent] == ["second one", "第一句"]
    assert {e.target_app for e in last.recent} == {"Notepad.exe"}
    assert {e.output for e in last.recent} == {"clipboard"}
    assert last.today_p50_s is not None and last.recent[1].latency_s is not None


def test_recorder_with_zero_days_keeps_nothing(tmp_path):
    path = tmp_path / "h.sqlite3"
    store = HistoryStore(path)
    store.add(entry("old words", time.time() - 60))
    store.close()
    recorder = HistoryRecorder(path, days=0, output=lambda: "type")
    recorder.start()
    recorder.on_event(FinalText("z-1", "secret", ""))
    recorder.close()
    assert HistoryStore(path).recent() == []


def history_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tray_client", "history", *args], capture_output=True,
                          timeout=60, text=True, encoding="utf-8")


def test_headless_run_records_history_and_the_cli_prints_and_exports_it(speech, tmp_path):
    sample = speech.mandarin
    with ScriptedServer.for_sample(sample) as server:
        result = run_cli("--server", server.url, "--input-wav", str(sample.path), "--output", "stdout", "--fast")
    assert result.returncode == 0, result.stderr[-3000:]
    typed = result.stdout.splitlines()
    assert typed == [phrase.text for phrase in sample.phrases]
    assert history_path().exists()

    listed = history_cli("--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [row["text"] for row in rows] == typed[::-1]  # newest first
    assert {row["output"] for row in rows} == {"stdout"}
    assert all(row["audio_s"] > 0.3 for row in rows)

    lines = history_cli("--limit", "1").stdout.splitlines()
    assert len(lines) == 1 and lines[0].endswith(typed[-1])
    found = history_cli("--search", typed[0], "--json")
    assert [row["text"] for row in json.loads(found.stdout)] == [typed[0]]

    csv_file, json_file = tmp_path / "out.csv", tmp_path / "out.json"
    assert history_cli("export", "--format", "csv", str(csv_file)).returncode == 0
    assert history_cli("export", "--format", "json", str(json_file)).returncode == 0
    import csv

    with csv_file.open(encoding="utf-8-sig", newline="") as handle:
        assert [row["text"] for row in csv.DictReader(handle)] == typed[::-1]
    assert [row["text"] for row in json.loads(json_file.read_text(encoding="utf-8"))] == typed[::-1]


def test_export_csv_and_json_without_format_flag_with_iso_local_times_and_no_match_said(tmp_path, capsys):
    """`history export csv` failed (--format was required), the CSV time was a raw Unix number, and a search
    with no match printed nothing."""
    import csv
    import datetime

    from tray_client.history.cli import main

    db = tmp_path / "h.sqlite3"
    store = HistoryStore(db)
    store.add(entry("你好世界", 1_765_000_000.0))
    store.add(entry("Hello, world.", 1_765_000_100.0))
    store.close()
    expected_time = datetime.datetime.fromtimestamp(1_765_000_100.0).astimezone().isoformat(timespec="seconds")

    assert main(["--db", str(db), "export", "csv", str(tmp_path / "a.csv")]) == 0
    with (tmp_path / "a.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["text"] for row in rows] == ["Hello, world.", "你好世界"]
    assert rows[0]["time"] == expected_time and "T" in expected_time
    assert datetime.datetime.fromisoformat(rows[0]["time"]).timestamp() == 1_765_000_100.0

    assert main(["--db", str(db), "export", "json", str(tmp_path / "a.json")]) == 0
    assert [row["text"] for row in json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))] == \
        ["Hello, world.", "你好世界"]
    assert main(["--db", str(db), "export", str(tmp_path / "b.json")]) == 0  # the suffix says the format
    assert main(["--db", str(db), "export", "--format", "csv", str(tmp_path / "c.csv")]) == 0  # the old spelling
    capsys.readouterr()

    assert main(["--db", str(db), "export", "csv"]) == 0  # no file: the standard output
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("time,text,") and expected_time in out

    assert main(["--db", str(db), "--search", "nothing like this"]) == 0
    assert capsys.readouterr().out == f"no match for 'nothing like this' in the history ({db})\n"
    assert main(["--db", str(tmp_path / "empty.sqlite3")]) == 0
    assert capsys.readouterr().out.startswith("the history is empty (")

    with pytest.raises(SystemExit) as bad:
        main(["--db", str(db), "export"])
    assert bad.value.code == 2
    assert "history export csv [FILE]" in capsys.readouterr().err
