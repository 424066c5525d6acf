#!/usr/bin/env python3
"""Speech fidelity: how much of the speech in a recording the real client sends to the server, and where it loses.

What it runs: the real headless client (`python -m tray_client --no-tray --input-wav F`, its defaults, real
Silero VAD), `--fast` and in real time, against dictation_devtools.recording_server on loopback, which records
exactly the PCM of each utterance. The oracle is Silero run offline over the whole recording in one pass (no
resets), its speech regions padded by 100 ms: a sample inside them that no utterance carried is lost. Each lost
run is an onset (it ends where an utterance starts), a tail (it starts where one ends) or neither.

Recordings (built in a temporary folder; nothing is downloaded):
- human-en: human English read speech shipped in packages on the registry, vendored in
  dictation_devtools/fidelity_corpus/ (SOURCES.md there): LibriVox and CMU test recordings from the pocketsphinx
  source package (several speakers) and the AMI meeting excerpt that pyannote.audio ships (two speakers).
- espeak-en / espeak-zh: espeak-ng phrases in several voices; the Mandarin ones begin with aspirated and
  fricative onsets (七, 吃, 是, 他). No human Mandarin recording was found in a registry package.
Each comes clean (dithered by +-2 LSB so that every slice is unique), with white noise at -45 dBFS, and
"rejoined": cut at the oracle's pauses and joined again with pauses of 350-550 ms around the default min silence
(400 ms), where the speculative end matters most.

Reported per recording and setting: speech lost (% of padded oracle speech; ms at onsets / tails / neither),
the pre-roll sent before each onset (ms, p10 and min, and how many < 100 ms), onsets cut inside speech, words
split between back-to-back utterances, duplicated samples, finals typed twice or missing; and whether real time
cut exactly as --fast did. `--client-root` runs another checkout of the client (the "before" of a change), and
after a ";" takes client options for it (the same tree with a setting on and off).

    PYTHONPATH=. python scripts/bench_fidelity.py      # --fast on everything, real time on a subset
    PYTHONPATH=. python scripts/bench_fidelity.py --client-root before=/tmp/main --client-root after=.
    PYTHONPATH=. python scripts/bench_fidelity.py --client-root "gate=.;--vad-energy-gate" \
        --client-root "no-gate=.;--no-vad-energy-gate"
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from dictation_devtools.fidelity import (
    FRAME_SAMPLES,
    SAMPLE_RATE,
    Fidelity,
    Region,
    locate,
    measure,
    oracle_regions,
)
from dictation_devtools.recording_server import RecordingServer
from dictation_devtools.speech import read_wav, synthesize_phrase, write_wav

ROOT = Path(__file__).resolve().parent.parent

CORPUS = ROOT / "dictation_devtools" / "fidelity_corpus"
ENGLISH = [("hello world this is a dictation test", "en-us"),
           ("please send the report before noon", "en-us+f3"),
           ("the quick brown fox jumps over the lazy dog", "en-gb"),
           ("call me at seven thirty", "en-us+m3"),
           ("she sells sea shells by the sea shore", "en-us+f2"),
           ("thank you for waiting", "en-gb+f4")]
MANDARIN = [("七点钟我们开会", "cmn"), ("吃饭了吗", "cmn+f3"), ("是这样的没问题", "cmn+m3"),
            ("他明天早上来", "cmn+f2"), ("请把窗户打开", "cmn"), ("春天来了", "cmn+f4"),
            ("下午三点见", "cmn+m2"), ("这个问题很简单", "cmn+f3")]
GAP_S = 0.9
PAUSES_MS = (350, 550)  # rejoined pauses, around the default min silence (400 ms)
NOISE_DBFS = -45.0


@dataclass
class Recording:
    name: str
    path: Path
    samples: np.ndarray
    core: list[Region]


def dither(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noisy = samples.astype(np.int32) + rng.integers(-2, 3, len(samples))
    return np.clip(noisy, -32768, 32767).astype(np.int16)


def with_noise(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = rng.normal(0.0, 32768 * 10 ** (NOISE_DBFS / 20), len(samples))
    return np.clip(samples + noise, -32768, 32767).astype(np.int16)


def join(pieces: list[np.ndarray], gaps_s: list[float]) -> np.ndarray:
    parts = [np.zeros(int(0.5 * SAMPLE_RATE), dtype=np.int16)]
    for piece, gap in zip(pieces, gaps_s, strict=True):
        parts += [piece, np.zeros(int(gap * SAMPLE_RATE), dtype=np.int16)]
    return np.concatenate(parts)


def oracle(samples: np.ndarray) -> list[Region]:
    from tray_client.capture.vad import SileroVad

    vad = SileroVad.load("onnx")
    frames = len(samples) // FRAME_SAMPLES
    probabilities = [vad.probability(samples[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES]) for i in range(frames)]
    return oracle_regions(probabilities)


def rejoined(samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Cut at every oracle pause of 200 ms or more and rejoin with pauses of PAUSES_MS (60 ms kept each side)."""
    margin = int(0.06 * SAMPLE_RATE)
    groups: list[list[int]] = []
    for region in oracle(samples):
        if groups and region.start - groups[-1][1] < int(0.2 * SAMPLE_RATE):
            groups[-1][1] = region.end
        else:
            groups.append([region.start, region.end])
    pieces = [samples[max(0, start - margin):end + margin] for start, end in groups]
    gaps = [(rng.uniform(*PAUSES_MS) / 1000) - 2 * margin / SAMPLE_RATE for _ in pieces]
    return join(pieces, gaps)


def sources(workdir: Path) -> dict[str, np.ndarray]:
    """The undithered joined sources: human English, espeak-ng English, espeak-ng Mandarin."""
    human = []
    for flac in sorted(CORPUS.glob("*.flac")):
        wav = workdir / f"{flac.stem}.wav"
        subprocess.run(["sox", str(flac), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(wav)], check=True)
        human.append(read_wav(wav))
    synth = {}
    for name, phrases in (("espeak-en", ENGLISH), ("espeak-zh", MANDARIN)):
        pieces = [synthesize_phrase(text, voice, workdir, f"{name}-{i}") for i, (text, voice) in enumerate(phrases)]
        synth[name] = join(pieces, [GAP_S] * len(pieces))
    return {"human-en": join(human, [GAP_S] * len(human)), **synth}


def build(workdir: Path, only: set[str] | None) -> list[Recording]:
    rng = np.random.default_rng(26)
    recordings = []
    for name, samples in sources(workdir).items():
        clean = dither(samples, rng)
        for variant, audio in (("clean", clean), ("noise", with_noise(samples, rng)),
                               ("rejoined", dither(rejoined(clean, rng), rng))):
            label = f"{name}/{variant}"
            if only and label not in only and name not in only:
                continue
            path = write_wav(workdir / f"{name}-{variant}.wav", audio)
            recordings.append(Recording(label, path, audio, oracle(audio)))
    return recordings


@dataclass
class Run:
    recording: str
    client: str
    speculative_ms: int
    fast: bool
    cuts: list[tuple[int, int]]
    fidelity: Fidelity
    typed_twice: int
    finals_missing: int
    wall_s: float
    silence_events: int = 0  # speculative decodes the server was asked for
    error: str = ""


def run_client(recording: Recording, client: tuple[Path, list[str]], label: str, speculative_ms: int,
               fast: bool) -> Run:
    client_root, options = client
    started = time.monotonic()
    with RecordingServer() as server:
        env = {**os.environ, "PYTHONPATH": str(client_root), "PYTHONIOENCODING": "utf-8"}
        args = [sys.executable, "-m", "tray_client", "--no-tray", "--server", server.url, "--input-wav",
                str(recording.path), "--output", "stdout", "--speculative-silence-ms", str(speculative_ms), *options]
        result = subprocess.run([*args, *(["--fast"] if fast else [])], cwd=client_root, env=env,
                                capture_output=True, timeout=max(600.0, 3 * len(recording.samples) / SAMPLE_RATE))
        utterances = server.stopped()
    lines = result.stdout.decode("utf-8").split()
    expected = {f"w{n}" for n in range(1, len(utterances) + 1)}
    error = "" if result.returncode == 0 else result.stderr.decode("utf-8", "replace")[-500:]
    try:
        sent = locate(recording.samples, [bytes(item.pcm) for item in utterances])
    except ValueError as problem:
        error, sent = f"{error} {problem}".strip(), []
    return Run(recording.name, label, speculative_ms, fast, [(r.start, r.end) for r in sent],
               measure(recording.core, sent, len(recording.samples)), len(lines) - len(set(lines)),
               len(expected - set(lines)), round(time.monotonic() - started, 1),
               sum(item.silences for item in utterances), error)


def row(run: Run) -> str:
    f = run.fidelity
    pre = sorted(f.preroll_ms)
    p10 = pre[len(pre) // 10] if pre else float("nan")
    ms = 1000 / SAMPLE_RATE
    return (f"| {run.recording} | {run.client} | {run.speculative_ms} | {'fast' if run.fast else 'real time'} "
            f"| {f.utterances} | {f.lost_percent:.2f} % | {f.lost_onset * ms:.0f} / {f.lost_tail * ms:.0f} / "
            f"{f.lost_other * ms:.0f} | {p10:.0f} / {(pre[0] if pre else float('nan')):.0f} | "
            f"{sum(1 for p in pre if p < 100)} | {f.gapless_onsets} | {f.onsets_cut} | {f.words_split} | "
            f"{f.duplicated} | {run.typed_twice} / {run.finals_missing} | {run.silence_events} |")


HEADER = ("| recording | client | spec. ms | pacing | utts | speech lost | lost ms onset / tail / neither "
          "| pre-roll ms p10 / min | pre-roll < 100 ms | gapless onsets | onsets cut | words split | dup. samples "
          "| typed twice / missing | silence events |\n" + "|---" * 15 + "|")


def totals(runs: list[Run], group: str) -> str:
    lines = []
    for client in sorted({r.client for r in runs}):
        for spec in sorted({r.speculative_ms for r in runs}, reverse=True):
            chosen = [r for r in runs if r.client == client and r.speculative_ms == spec and r.fast
                      and r.recording.startswith(group)]
            if not chosen:
                continue
            speech = sum(r.fidelity.speech_samples for r in chosen)
            lost = sum(r.fidelity.lost for r in chosen)
            onset = sum(r.fidelity.lost_onset for r in chosen) * 1000 / SAMPLE_RATE
            tail = sum(r.fidelity.lost_tail for r in chosen) * 1000 / SAMPLE_RATE
            lines.append(f"| {group} | {client} | {spec} | {100 * lost / speech:.2f} % of "
                         f"{speech / SAMPLE_RATE:.0f} s | {onset:.0f} | {tail:.0f} |")
    return "\n".join(lines)


def compare_clients(runs: list[Run]) -> list[str]:
    """Whether each client cut each recording where the first client did (same utterances, sample for sample)."""
    labels = list(dict.fromkeys(r.client for r in runs))
    lines = []
    for run in runs:
        if run.client == labels[0]:
            continue
        first = next((r for r in runs if r.client == labels[0] and (r.recording, r.speculative_ms, r.fast) ==
                      (run.recording, run.speculative_ms, run.fast)), None)
        if first is not None:
            lines.append(f"{run.recording} spec {run.speculative_ms} {'fast' if run.fast else 'real time'}: "
                         f"{run.client} {'==' if run.cuts == first.cuts else '!='} {labels[0]} "
                         f"({len(run.cuts)} / {len(first.cuts)} cuts)")
    return sorted(lines)


def client_spec(spec: str) -> tuple[Path, list[str]]:
    """PATH or PATH;OPTIONS (client command-line options, e.g. --no-vad-energy-gate)."""
    path, _, options = spec.partition(";")
    return Path(path).resolve(), shlex.split(options)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client-root", action="append", default=[], metavar="LABEL=PATH",
                        help="a checkout whose client to run (repeatable), LABEL=PATH;OPTIONS to give it client "
                             "options; default: this one as 'this'")
    parser.add_argument("--only", action="append", help="recordings to run, e.g. human-en or espeak-zh/rejoined")
    parser.add_argument("--realtime", action="append", default=None,
                        help="recordings also run in real time (default: human-en/rejoined, espeak-zh/rejoined; none: no real-time runs)")
    parser.add_argument("--speculative-ms", type=int, nargs="+", default=[150, 0])
    parser.add_argument("--jobs", type=int, default=2, help="client runs at once (--fast); real time runs all at once")
    parser.add_argument("--json", type=Path, help="write every run here")
    args = parser.parse_args()
    clients = {label: client_spec(spec) for label, spec in (item.split("=", 1) for item in args.client_root)}
    clients = clients or {"this": (ROOT, [])}
    realtime = set(args.realtime or ["human-en/rejoined", "espeak-zh/rejoined"])
    with tempfile.TemporaryDirectory(prefix="fidelity-") as tmp:
        recordings = build(Path(tmp), set(args.only) if args.only else None)
        for recording in recordings:
            seconds = len(recording.samples) / SAMPLE_RATE
            speech = sum(r.length for r in recording.core) / SAMPLE_RATE
            print(f"{recording.name}: {seconds:.1f} s, {len(recording.core)} oracle regions, {speech:.1f} s speech",
                  file=sys.stderr)
        jobs = [(rec, client, label, spec, True) for rec in recordings for label, client in clients.items()
                for spec in args.speculative_ms]
        slow = [(rec, client, label, spec, False) for rec in recordings if rec.name in realtime
                for label, client in clients.items() for spec in args.speculative_ms]
        with concurrent.futures.ThreadPoolExecutor(max(1, len(slow))) as realtime_pool, \
                concurrent.futures.ThreadPoolExecutor(args.jobs) as fast_pool:
            slow_futures = [realtime_pool.submit(run_client, *job) for job in slow]
            runs = [future.result() for future in [fast_pool.submit(run_client, *job) for job in jobs]]
            runs += [future.result() for future in slow_futures]
    print(HEADER)
    for run in sorted(runs, key=lambda r: (r.recording, r.client, -r.speculative_ms, not r.fast)):
        print(row(run))
    print("\n| recordings | client | spec. ms | speech lost (--fast) | onset ms | tail ms |\n|---|---|---|---|---|---|")
    for group in ("human-en", "espeak-en", "espeak-zh"):
        if text := totals(runs, group):
            print(text)
    same = []
    for run in runs:
        if not run.fast:
            twin = next(r for r in runs if r.fast and (r.recording, r.client, r.speculative_ms) ==
                        (run.recording, run.client, run.speculative_ms))
            same.append(f"{run.recording} {run.client} spec {run.speculative_ms}: real time "
                        f"{'==' if run.cuts == twin.cuts else '!='} --fast ({len(run.cuts)} cuts)")
    print("\n" + "\n".join(same))
    print("\n" + "\n".join(compare_clients(runs)))
    errors = [f"{r.recording} {r.client} {r.speculative_ms} fast={r.fast}: {r.error}" for r in runs if r.error]
    if errors:
        print("\nERRORS:\n" + "\n".join(errors))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=1, default=float))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
