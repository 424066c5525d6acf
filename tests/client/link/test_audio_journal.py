"""Write-ahead audio (link/journal.py): every utterance's audio is on disk from its first frame until it is done,
so a process killed at any moment leaves every whole frame it had for the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import wave
from pathlib import Path

import pytest

from tray_client.keep import save_audio
from tray_client.link.journal import AudioJournal
from tray_client.link.spool import HeldAudio
from tray_client.link.spool_folders import recover_leftovers

FRAME = 1024  # bytes: 32 ms of 16 kHz int16


def frame(index: int) -> bytes:
    """A frame whose bytes say which frame it is (a lost or reordered frame shows)."""
    return index.to_bytes(4, "little") * (FRAME // 4)


def wav_frames(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        return wav.readframes(wav.getnframes())


def test_each_utterances_audio_is_written_as_it_comes_and_deleted_when_it_is_done(tmp_path):
    journal = AudioJournal(tmp_path / "spool")
    for index in range(5):
        journal.append("u-1", frame(index))
    journal.append("u-2", frame(99))
    assert journal.flush(10)
    assert journal.path("u-1").read_bytes() == b"".join(frame(i) for i in range(5))
    assert journal.written("u-1") == 5 * FRAME and journal.written("u-2") == FRAME
    journal.forget("u-1")
    assert journal.flush(10)
    assert not journal.path("u-1").exists() and journal.path("u-2").read_bytes() == frame(99)
    assert journal.close(10)
    assert journal.path("u-2").exists(), "close keeps the files of utterances still pending"
    assert journal.syncs >= 1


def test_appending_never_waits_for_the_disk(tmp_path, monkeypatch):
    """The audio loop calls append; a disk that hangs (a stuck USB stick) must not stall it."""
    release = threading.Event()
    journal = AudioJournal(tmp_path / "spool")
    real_write = journal._write

    def stuck_write(*args: object) -> None:
        release.wait(30)
        real_write(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(journal, "_write", stuck_write)
    for index in range(200):  # returns at once although the writer is stuck on the first write
        journal.append("u", frame(index))
    assert journal.written("u") == 0
    release.set()
    assert journal.flush(20)
    assert journal.path("u").read_bytes() == b"".join(frame(i) for i in range(200))


@pytest.mark.parametrize("cut", [0, 1, 2, 3, FRAME - 1, FRAME, FRAME + 1, 3 * FRAME - 1])
def test_a_file_cut_anywhere_keeps_every_whole_sample_before_the_cut(tmp_path, cut):
    """What a power cut or a kill in the middle of a write leaves: the file ends anywhere, even mid-sample."""
    audio = b"".join(frame(i) for i in range(3))
    folder = tmp_path / "spool" / "4242-deadbeef"
    folder.mkdir(parents=True)
    (folder / "u-1.pcm").write_bytes(audio[:cut])
    saved = recover_leftovers(tmp_path / "spool", save_audio)
    kept = cut - cut % 2
    if kept == 0:
        assert [wav_frames(path) for path in saved] in ([], [b""])
        return
    (wav,) = saved
    assert wav_frames(wav) == audio[:kept]


WRITER = """
import sys, time
from pathlib import Path
from tray_client.link.journal import AudioJournal

journal = AudioJournal(Path(sys.argv[1]))
index = 0
while True:
    journal.append("u-1", index.to_bytes(4, "little") * 256)
    index += 1
    if index % 8 == 0:
        print(journal.written("u-1"), flush=True)  # what the OS has: must all be there after a kill
        time.sleep(0.001)
"""


@pytest.mark.parametrize("reports", [1, 7, 40])
def test_a_process_killed_while_writing_leaves_every_frame_it_had_written(tmp_path, reports):
    folder = tmp_path / "spool" / "1-abc"
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert process.stdout is not None
    written: list[int] = []
    while len([count for count in written if count]) < reports:  # the writer has written something by then
        written.append(int(process.stdout.readline()))
    process.send_signal(signal.SIGKILL)  # no clean-up of any kind runs, as with taskkill /F or a crash
    process.wait(timeout=30)
    (wav,) = recover_leftovers(tmp_path / "spool", save_audio)
    audio = wav_frames(wav)
    assert len(audio) >= written[-1] > 0, "audio the OS had before the kill is missing"
    whole = len(audio) // FRAME
    assert audio[: whole * FRAME] == b"".join(frame(i) for i in range(whole)), "frames lost or out of order"
    assert audio[whole * FRAME:] == frame(whole)[: len(audio) - whole * FRAME], "the cut frame is not a prefix"


def test_held_audio_drops_only_the_memory_copy_of_frames_already_written_and_reads_them_back(tmp_path):
    journal = AudioJournal(tmp_path / "spool")
    held = HeldAudio(frame_bytes=FRAME, folder=tmp_path / "unused", max_bytes=4 * FRAME, journal=journal)
    for index in range(3):
        held.add("old", frame(index))
    assert journal.flush(10)
    for index in range(3, 6):
        held.add("new", frame(index))  # over the cap: the old utterance's written frames leave memory
    assert held.in_memory <= 4 * FRAME
    assert held.audio("old") == b"".join(frame(i) for i in range(3))
    assert held.frames("new", 1) == [frame(4), frame(5)]
    assert [level for level, _ in held.take_news()] == ["warning"]
    held.forget("old")
    assert journal.flush(10) and not journal.path("old").exists()
    assert not (tmp_path / "unused").exists(), "with a journal, the cap writes nothing itself"
    journal.close(10)


def test_a_disk_that_fails_keeps_the_audio_in_memory_and_says_a_crash_would_lose_it(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the spool folder should be")
    journal = AudioJournal(blocked / "1-abc")
    held = HeldAudio(frame_bytes=FRAME, folder=blocked, max_bytes=2 * FRAME, journal=journal)
    for index in range(4):
        held.add("u", frame(index))
    assert journal.flush(10)
    held.add("u", frame(4))  # picks up the writer's news
    assert held.audio("u") == b"".join(frame(i) for i in range(5)), "audio was dropped"
    (level, message), = held.take_news()
    assert level == "error" and "kept in memory" in message and "crash" in message
    journal.close(10)
