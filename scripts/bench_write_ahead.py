"""What writing every utterance's audio ahead to disk costs (tray_client/link/journal.py), per hour of dictation.

    PYTHONPATH=. python scripts/bench_write_ahead.py [--seconds 120] [--dir PATH]

It runs the same loop twice, in memory only and with the write-ahead journal, and plays the link's part at the real pace: utterances of `--utterance-s` of speech, frames of 512 samples (32 ms,
what the capture hands the link) appended through `HeldAudio` with a journal, a pause between utterances, and
each utterance forgotten (its file deleted) as its final would be delivered half a second after its end. Then
it reports, scaled to one hour of speech: the CPU time of the whole process (the caller's appends and the writer
thread), the bytes the kernel wrote to the disk for it (/proc/self/io write_bytes: what reached the device, not
the page cache), the write calls and fsyncs made, and the longest `append` call (what the audio loop waits).

Run it on the disk the client logs to (the default: a folder under the system temp dir; give --dir for another).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from tray_client.link.journal import AudioJournal
from tray_client.link.spool import HeldAudio

FRAME_BYTES = 1024  # 512 samples of int16 at 16 kHz: 32 ms
FRAME_S = 0.032
LINK_FRAME_BYTES = 32_000  # the link's frames (link/core.MAX_FRAME_BYTES)


def disk_written() -> int | None:
    """Bytes this process caused to be written to storage (Linux), or None."""
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(seconds: float, utterance_s: float, pause_s: float, folder: Path, *, write_ahead: bool
        ) -> dict[str, float]:
    journal = AudioJournal(folder)
    held = HeldAudio(LINK_FRAME_BYTES, folder, journal=journal if write_ahead else None)
    frame = bytes(range(256)) * (FRAME_BYTES // 256)
    cpu0, disk0 = cpu_s(), disk_written()
    started = time.monotonic()
    speech = 0.0
    longest_append = 0.0
    index = 0
    due: list[tuple[float, str]] = []  # (when the final would be delivered, utterance id)
    while speech < seconds:
        index += 1
        utterance = f"bench-{index}"
        frames = int(min(utterance_s, seconds - speech) / FRAME_S)
        if frames == 0:
            break
        begin = time.monotonic()
        for number in range(frames):
            time.sleep(max(0.0, begin + (number + 1) * FRAME_S - time.monotonic()))  # the microphone's pace
            before = time.perf_counter()
            held.add(utterance, frame)
            longest_append = max(longest_append, time.perf_counter() - before)
            while due and due[0][0] <= time.monotonic():
                held.forget(due.pop(0)[1])
        speech += frames * FRAME_S
        due.append((time.monotonic() + 0.5, utterance))
        pause_end = time.monotonic() + pause_s
        while time.monotonic() < pause_end:
            time.sleep(0.05)
            while due and due[0][0] <= time.monotonic():
                held.forget(due.pop(0)[1])
    for _, utterance in due:
        held.forget(utterance)
    journal.close(10)
    wall = time.monotonic() - started
    cpu, disk1 = cpu_s() - cpu0, disk_written()
    scale = 3600.0 / speech
    return {"speech_s": speech, "wall_s": wall, "cpu_s_per_hour": cpu * scale,
            "cpu_percent_of_one_core": 100.0 * cpu / wall,
            "disk_mb_per_hour": (disk1 - disk0) * scale / 1e6 if disk0 is not None and disk1 is not None else -1,
            "writes_per_hour": journal.writes * scale, "fsyncs_per_hour": journal.syncs * scale,
            "longest_append_ms": longest_append * 1000, "files_left": len(list(folder.glob("*.pcm")))}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="seconds of speech to play (real time)")
    parser.add_argument("--utterance-s", type=float, default=6.0, help="speech per utterance")
    parser.add_argument("--pause-s", type=float, default=1.5, help="silence between utterances")
    parser.add_argument("--dir", type=Path, help="where the spool folder goes (default: the temp dir)")
    args = parser.parse_args(argv)
    root = args.dir or Path(tempfile.gettempdir())
    results = {}
    for write_ahead in (False, True):  # the same loop in memory only: its CPU is the pacing, not the disk
        with tempfile.TemporaryDirectory(prefix="bench-write-ahead-", dir=root) as folder:
            results[write_ahead] = run(args.seconds, args.utterance_s, args.pause_s, Path(folder) / "spool",
                                       write_ahead=write_ahead)
    sys.stdout.write(f"{'':28} {'memory only':>12} {'write-ahead':>12}\n")
    for key in results[True]:
        sys.stdout.write(f"{key:28} {results[False][key]:12.3f} {results[True][key]:12.3f}\n")
    extra = results[True]["cpu_s_per_hour"] - results[False]["cpu_s_per_hour"]
    sys.stdout.write(f"write-ahead CPU per hour of speech: {extra:.2f} s ({100 * extra / 3600:.3f} % of one core)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
