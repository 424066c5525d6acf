"""Spool folders per client process: a live client's audio is never taken, a dead client's audio is kept as WAV."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

from tray_client.keep import save_audio
from tray_client.link.spool_folders import SpoolFolder, recover_leftovers

AUDIO = b"\x10\x00\x20\x00" * 4000  # 8000 samples

CLIENT = """
import sys
from pathlib import Path
from tray_client.link.spool_folders import SpoolFolder

folder = SpoolFolder(Path(sys.argv[1]))
folder.path.mkdir()
(folder.path / "u-1.pcm").write_bytes(bytes.fromhex(sys.argv[2]))
print(folder.path.name, flush=True)
sys.stdin.read()  # runs until the test kills it
"""


def start_client(root: Path) -> tuple[subprocess.Popen[str], Path]:
    """Another client process that spooled one utterance and still runs."""
    process = subprocess.Popen([sys.executable, "-c", CLIENT, str(root), AUDIO.hex()], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, root / process.stdout.readline().strip()


def frames(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        return wav.readframes(wav.getnframes())


def test_a_live_clients_audio_is_left_alone_and_kept_as_wav_once_it_was_killed(tmp_path):
    root = tmp_path / "spool"
    process, folder = start_client(root)
    try:
        assert recover_leftovers(root, save_audio) == []
        assert (folder / "u-1.pcm").read_bytes() == AUDIO, "a live client's spool file was taken"
    finally:
        process.kill()  # like a crash or a power cut: no clean-up runs; the OS drops the lock
        process.wait(timeout=10)
    (wav,) = recover_leftovers(root, save_audio)
    assert wav.name == "u-1.wav" and wav.parent.name == "untranscribed" and frames(wav) == AUDIO
    assert not folder.exists() and not list(root.glob("*.lock"))
    assert recover_leftovers(root, save_audio) == [], "kept once, not twice"


def test_this_processs_own_folder_is_not_taken_and_is_removed_on_release(tmp_path):
    root = tmp_path / "spool"
    mine = SpoolFolder(root)
    mine.path.mkdir()
    (mine.path / "u-2.pcm").write_bytes(AUDIO)
    assert recover_leftovers(root, save_audio) == []
    (mine.path / "u-2.pcm").unlink()  # the link forgets each utterance's file once it is done
    mine.release()
    assert list(root.iterdir()) == []


def test_files_from_before_per_process_folders_are_kept_too(tmp_path):
    root = tmp_path / "spool"
    root.mkdir()
    (root / "old-3.pcm").write_bytes(AUDIO)
    (wav,) = recover_leftovers(root, save_audio)
    assert wav.name == "old-3.wav" and frames(wav) == AUDIO and not (root / "old-3.pcm").exists()


def test_a_spool_file_that_cannot_be_saved_stays_where_it_is(tmp_path):
    root = tmp_path / "spool"
    (root / "gone-1").mkdir(parents=True)
    (root / "gone-1" / "u-4.pcm").write_bytes(AUDIO)
    assert recover_leftovers(root, lambda utterance_id, audio: None) == []
    assert (root / "gone-1" / "u-4.pcm").read_bytes() == AUDIO, "the only copy of the words was deleted"


def test_a_crashed_client_that_never_spooled_leaves_no_lock_file_behind(tmp_path):
    root = tmp_path / "spool"
    root.mkdir()
    (root / "777-0badf00d.lock").touch()  # its process is gone, so nothing holds it
    assert recover_leftovers(root, save_audio) == []
    assert list(root.iterdir()) == []
