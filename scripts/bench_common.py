"""Shared pieces of the client benchmarks (bench_client.py, bench_latency.py): fixtures, a server, tables.

- `build_fixture`: espeak-ng phrases at known offsets between stretches of silence or low noise, written as a
  16 kHz mono int16 WAV, with the sample where each phrase's speech ends (the reference for latency).
- `stand_in_server`: the real asr_server in its own process with the scripted backend (known words, optional
  modelled decode cost), so the client's CPU and memory are measured apart from the server's.
- `machine_line`, `percentile`, `print_table`: what every benchmark prints.

Not a test helper: it lives in scripts/ and uses the fixtures of dictation_devtools.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dictation_devtools.servers import free_port, start_server_process, wait_healthy
from dictation_devtools.speech import SAMPLE_RATE, synthesize_phrase, write_wav
from dictation_devtools.stand_in_backends import KnownPhrase, ScriptedBackend

REPO_ROOT = Path(__file__).resolve().parent.parent

# Distinct sentences, so the scripted backend can tell every utterance apart and each final is checkable.
PHRASES = [
    "hello world this is a dictation test",
    "the quick brown fox jumps over the lazy dog",
    "please send the report before noon",
    "the meeting moved to thursday afternoon",
    "remind me to call the dentist tomorrow",
    "our train leaves from platform seven",
    "add milk eggs and bread to the list",
    "the server restarted without any errors",
    "she painted the fence a bright shade of green",
    "we should test the backup before friday",
    "turn left at the second traffic light",
    "the invoice total is four hundred dollars",
    "open the window it is warm in here",
    "his flight lands at half past nine",
    "the library closes early on sundays",
    "write the summary in plain language",
    "my laptop battery lasts about six hours",
    "the recipe needs two cups of flour",
    "keep the receipts for the tax return",
    "the garden looks better after the rain",
    "schedule the review for next monday",
    "the printer on the third floor is jammed",
    "bring a jacket the evening will be cold",
    "the new release fixes the login problem",
    "count the chairs before the guests arrive",
    "the river froze during the long winter",
]


@dataclass(frozen=True)
class PlacedPhrase:
    """A phrase and where its speech lies in the fixture, in samples (end is exclusive: the last sample + 1)."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Fixture:
    """A WAV of phrases at known offsets, and the exact int16 audio each phrase has in it (noise included)."""

    path: Path
    samples: np.ndarray
    phrases: list[PlacedPhrase]

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    def known_phrases(self) -> list[KnownPhrase]:
        """What the scripted backend must recognise: the phrase audio exactly as the client will send it."""
        return [KnownPhrase(p.text, self.samples[p.start:p.end].copy()) for p in self.phrases]


def noise(samples: int, dbfs: float | None, seed: int = 0) -> np.ndarray:
    """Gaussian noise with an RMS of `dbfs` relative to full scale; digital zero when `dbfs` is None.

    A real microphone never delivers digital zero: its self-noise and the room sit around -60..-45 dBFS."""
    if dbfs is None:
        return np.zeros(samples, dtype=np.int16)
    rms = 32768.0 * 10 ** (dbfs / 20)
    values = np.random.default_rng(seed).normal(0.0, rms, samples)
    return values.round().clip(-32768, 32767).astype(np.int16)


def build_fixture(workdir: Path, texts: Sequence[str], *, lead_s: float, gap_s: float, tail_s: float,
                  noise_dbfs: float | None, name: str = "fixture", voice: str = "en-us") -> Fixture:
    """Synthesise `texts` with espeak-ng and lay them out: lead, phrase, gap, phrase, ..., tail.

    The noise (if any) is added over the whole file, speech included, as a mic would hear it."""
    workdir.mkdir(parents=True, exist_ok=True)
    pieces: list[np.ndarray] = []
    placed: list[PlacedPhrase] = []
    cursor = 0

    def pad(seconds: float) -> None:
        nonlocal cursor
        pieces.append(np.zeros(int(seconds * SAMPLE_RATE), dtype=np.int16))
        cursor += len(pieces[-1])

    pad(lead_s)
    for index, text in enumerate(texts):
        audio = synthesize_phrase(text, voice, workdir, f"{name}-{index}")
        placed.append(PlacedPhrase(text, cursor, cursor + len(audio)))
        pieces.append(audio)
        cursor += len(audio)
        pad(gap_s if index < len(texts) - 1 else tail_s)
    clean = np.concatenate(pieces).astype(np.int32)
    mixed = (clean + noise(len(clean), noise_dbfs)).clip(-32768, 32767).astype(np.int16)
    path = write_wav(workdir / f"{name}.wav", mixed)
    return Fixture(path=path, samples=mixed, phrases=placed)


@dataclass
class ServerProcess:
    """A stand-in asr_server process: its URL, its log file (for decode step times) and the process; both None
    for a server that runs elsewhere (a benchmark's --url)."""

    url: str
    log_path: Path | None
    process: subprocess.Popen[bytes] | None


@contextlib.contextmanager
def stand_in_server(fixture: Fixture, workdir: Path, *, cost_scale: float = 0.0,
                    log_level: str = "INFO", engine: bool = False) -> Iterator[ServerProcess]:
    """The real asr_server with the scripted backend in its own process, on a free loopback port.

    `engine`: instead, asr_server --backend vllm in front of the modelled continuous-batching engine (its own
    process, answering with the same known words; GPU costs x `cost_scale`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    phrases_path = workdir / "phrases.npz"
    ScriptedBackend(fixture.known_phrases()).save(phrases_path)
    port = free_port()
    log_path = workdir / f"server-{port}.log"
    processes = []
    if engine:
        from dictation_devtools.tiny_checkpoint import build_checkpoint

        checkpoint = workdir / "tiny-checkpoint"
        if not (checkpoint / "config.json").exists():
            build_checkpoint(checkpoint)
        engine_port = free_port()
        processes.append(start_server_process(
            ["dictation_devtools.engine_serve", str(checkpoint), "--modelled", "--phrases", str(phrases_path),
             "--scheduling-policy", "priority", "--port", str(engine_port), "--cost-scale", str(cost_scale)],
            log_path=workdir / f"engine-{engine_port}.log"))
        args = ["asr_server", "--backend", "vllm", "--model", str(checkpoint),
                "--engine-url", f"http://127.0.0.1:{engine_port}/v1"]
    else:
        args = ["dictation_devtools.stand_in_server", "--phrases", str(phrases_path)]
        if cost_scale:
            args += ["--cost-scale", str(cost_scale)]
        args.append("--")
    args += ["--port", str(port), "--log-level", log_level]
    process = start_server_process(args, log_path=log_path)
    processes.insert(0, process)
    try:
        wait_healthy(port, timeout=90, process=process)
        yield ServerProcess(f"ws://127.0.0.1:{port}", log_path, process)
    finally:
        for each in processes:
            each.terminate()
            try:
                each.wait(timeout=5)
            except subprocess.TimeoutExpired:
                each.kill()
                each.wait()


def client_env(workdir: Path) -> dict[str, str]:
    """Environment for a client subprocess: its config and log files go to `workdir`, not the user's home."""
    return dict(os.environ, PYTHONUNBUFFERED="1", XDG_CONFIG_HOME=str(workdir / "config"),
                XDG_STATE_HOME=str(workdir / "state"), XDG_CACHE_HOME=str(workdir / "cache"))


def empty_config(workdir: Path) -> Path:
    """An empty client TOML, so a user's own config.toml cannot change what is measured."""
    path = workdir / "client.toml"
    path.write_text("", encoding="utf-8")
    return path


def log_time(line: str) -> float | None:
    """Epoch seconds of a log line that starts with logging's asctime ("2026-11-24 19:23:50,121")."""
    try:
        stamp = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    except ValueError:
        return None
    return stamp.timestamp()


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between samples; NaN for no values."""
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def cpu_model() -> str:
    """The CPU model line of /proc/cpuinfo (or the platform's guess elsewhere)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    """Date, CPU and core count, as recorded with every run in BENCHMARKS.md."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{now}; {platform.system()} {platform.release()}; {cpu_model()}, {os.cpu_count()} cores; "
            f"Python {platform.python_version()}")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A Markdown table (readable in a terminal, pasteable into BENCHMARKS.md)."""
    cells = [[str(h) for h in headers], *[[_cell(value) for value in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.1f}"  # NaN check without math
    return str(value)


def scratch_dir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A temporary folder for fixtures, logs and configs of one benchmark run."""
    return tempfile.TemporaryDirectory(prefix=prefix)


def read_lines(stream: Iterable[bytes], sink: list[tuple[float, str]]) -> threading.Thread:
    """Timestamp (time.time()) every line a child writes, on a thread, so its pipe never fills and blocks it."""
    def run() -> None:
        for raw in stream:
            sink.append((time.time(), raw.decode("utf-8", "replace").rstrip("\n")))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
