"""Kept audio (tray_client/keep.py): each utterance's audio stays keep_audio_days after its final (off by default),
taken from the write-ahead journal by a rename, and the glossary and [apps] profiles changed while the app runs
shape the next utterance."""

from __future__ import annotations

import os
import time
import wave
from pathlib import Path

import pytest

from dictation_devtools.scripted_server import ScriptedServer
from tests.client.test_pipeline import FeedSource, wav_config
from tray_client.config import ClientConfig
from tray_client.events import Command
from tray_client.keep import DAY_S, Kept, KeptAudio, kept, wav_bytes
from tray_client.link.journal import AudioJournal
from tray_client.pipeline import Pipeline


def test_nothing_is_kept_with_zero_days_and_a_kept_file_is_found_by_its_utterance(tmp_path: Path) -> None:
    days = [0.0]
    keeper = KeptAudio(tmp_path / "kept", lambda: days[0])
    spooled = tmp_path / "u1.pcm"
    spooled.write_bytes(b"\x01\x00" * 100)
    assert not keeper.keep("u1", spooled) and spooled.exists(), "0 days keeps none (the journal deletes it)"
    days[0] = 3
    assert keeper.keep("u1", spooled) and not spooled.exists()
    assert keeper.find("u1") == tmp_path / "kept" / "u1.pcm"
    assert keeper.find("u1.2") == keeper.find("u1"), "a cut utterance's continuation plays its whole audio"
    assert keeper.find("../u1") is None and keeper.ids() == {"u1"}
    keeper.forget("u1")
    assert keeper.ids() == set()


def test_audio_older_than_the_days_is_pruned_and_zero_days_prunes_all(tmp_path: Path) -> None:
    keeper = KeptAudio(tmp_path, lambda: 2)
    old, new = tmp_path / "old.pcm", tmp_path / "new.pcm"
    for path in (old, new):
        path.write_bytes(b"\0\0")
    now = time.time()
    os.utime(old, (now - 3 * DAY_S, now - 3 * DAY_S))
    assert keeper.prune(2, now) == 1 and not old.exists() and new.exists()
    assert keeper.prune(0, now) == 1 and not new.exists()


def test_a_waiting_recording_is_found_by_its_name_only(tmp_path: Path) -> None:
    folders = Kept(tmp_path)
    folders.untranscribed.mkdir()
    (folders.untranscribed / "abc.wav").write_bytes(wav_bytes(b"\0\0" * 160))
    assert folders.recovered() == [folders.untranscribed / "abc.wav"]
    assert folders.recovered_file("abc.wav").name == "abc.wav"
    for bad in ("../abc.wav", "abc.pcm", "nothing.wav", ".hidden.wav"):
        with pytest.raises(ValueError, match="no waiting recording"):
            folders.recovered_file(bad)


def test_the_journal_offers_a_done_utterances_whole_file_to_the_keeper(tmp_path: Path) -> None:
    offered: list[tuple[str, bytes]] = []

    def keep(utterance_id: str, path: Path) -> bool:
        offered.append((utterance_id, path.read_bytes()))
        path.rename(tmp_path / f"{utterance_id}.kept")
        return True

    journal = AudioJournal(tmp_path / "spool", keep=keep)
    journal.append("u-1", b"\x01\x02" * 512)
    journal.append("u-1", b"\x03\x04" * 512)
    journal.forget("u-1")
    assert journal.flush(10)
    assert offered == [("u-1", b"\x01\x02" * 512 + b"\x03\x04" * 512)]
    assert (tmp_path / "u-1.kept").exists() and not journal.path("u-1").exists()
    assert journal.close(10)


@pytest.mark.parametrize("days", [0, 7])
def test_a_dictated_utterances_audio_is_kept_only_when_asked(speech, recording_sink, days: int) -> None:
    sample = speech.english
    with ScriptedServer.for_sample(sample) as server:
        pipeline = Pipeline(wav_config(sample, server.url, keep_audio_days=days), sink=recording_sink)
        pipeline.start()
        assert pipeline.wait_done(60)
        pipeline.shutdown()
    files = sorted(kept().audio.glob("*.pcm")) if kept().audio.exists() else []
    if not days:
        assert files == [], "off by default: no audio stays after its final"
        return
    assert len(files) == len(sample.phrases)
    longest = max(files, key=lambda path: path.stat().st_size)
    with wave.open(str(sample.path), "rb") as source:
        rate = source.getframerate()
    seconds = longest.stat().st_size / 2 / rate
    assert 1.0 < seconds < 15.0, f"a whole utterance's audio ({seconds:.1f} s)"
    assert oct(kept().audio.stat().st_mode & 0o777) == oct(0o700), "the user's voice: owner-only"


def test_a_glossary_changed_while_running_spells_the_next_utterance(speech, recording_sink) -> None:
    """The web app's Dictionary saves the glossary; the next utterance is heard with it (the server is told)."""
    sample = speech.english
    phrase = sample.phrases[0]
    assert "dictation" in phrase.text.split()
    start, end = (int(seconds * 16_000) for seconds in (phrase.start_s - 0.2, phrase.end_s + 0.3))
    with ScriptedServer.for_sample(sample, heed_glossary=True) as server:
        source = FeedSource()
        pipeline = Pipeline(ClientConfig(server=server.url, mode="toggle", preroll_ms=0), source=source,
                            sink=recording_sink)
        pipeline.start()
        assert source.opened.wait(20)
        source.push(sample.samples[:start])
        pipeline.update_settings(glossary=["DICTATION"])
        pipeline.update_settings(apps={"kitty": {"glossary": ["Kitty"]}}, commands={"full stop": "period"})  # Profiles
        pipeline.send(Command.TOGGLE_RECORD)
        source.push(sample.samples[start:end])
        pipeline.send(Command.TOGGLE_RECORD)
        (typed,) = recording_sink.wait_for(1)
        pipeline.shutdown()
    assert typed == phrase.text.replace("dictation", "DICTATION")
