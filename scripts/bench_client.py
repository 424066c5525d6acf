#!/usr/bin/env python3
"""Client footprint: CPU and memory of the real headless client listening to silence, then to speech.

What it runs: `python -m tray_client --no-tray --input-wav FILE --output stdout --vad torch|onnx` as a subprocess,
paced in real time like a microphone (no --fast), against the real asr_server with the scripted backend in its own
process (so the server's work is not counted). The WAV is N seconds of silence followed by espeak-ng speech. Two
kinds of silence: digital zero, and -50 dBFS noise (a real mic is never zero; noise is the honest case).

What it reports, per VAD runtime and kind of silence:
- CPU, % of one core (user + system, all threads), over the silence and over the speech, from psutil samples.
  The silence window skips the first seconds after the VAD loaded (model warm-up is a one-off).
- RSS: the largest sampled RSS in each phase, and the peak over the whole run (VmHWM, kernel-tracked).
- VAD ms per 512-sample frame (p50, p99): the real `tray_client.capture.vad.SileroVad` timed in this process.
- The same pipeline in process with the model taken out: what the per-frame plumbing costs on its own.
- Full mode also measures what the memory is made of: a bare interpreter, the client modules, `import torch`,
  each Silero runtime loaded through tray_client.capture.vad, and Silero's ONNX file run with onnxruntime + numpy only.

Targets (reported, never enforced): silence <= 3 % of one core; RSS <= 250 MB with torch, <= 120 MB with ONNX.

- The live preview overlay (tray only): CPU and RSS it adds, hidden at idle and while speaking (2 partials/s),
  in a fresh interpreter on Xvfb; and the history's write time per row (INSERT + commit, WAL).

- `--tray`: the tray app as a user runs it (tray, overlay, hotkeys; a fake sound card playing a -50 dBFS noise
  floor), listening and not, with start -> tray icon, start -> VAD ready, CPU time per wall second (whole process
  and per thread), RSS; for each `--client-root NAME=PATH` interleaved in one run (see scripts/bench_tray.py), and
  the installed size of the client's dependencies.
- `--rss-parts`: what the tray app's resident memory is made of, one step at a time in a fresh interpreter per
  tree, and the Silero session's cost and outputs by onnxruntime session options (scripts/bench_rss.py).

Usage: python scripts/bench_client.py [--quick] [--silence-s 60] [--vads torch,onnx] [--variants noise,zero]
       python scripts/bench_client.py --only-ui [--quick]   # just the overlay and history figures
       python scripts/bench_client.py --tray --client-root before=/tmp/prev --client-root after=. [--repeats 3]
       python scripts/bench_client.py --rss-parts --client-root before=/tmp/prev --client-root after=. [--repeats 3]
Ends with one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import psutil
from bench_common import (
    PHRASES,
    REPO_ROOT,
    Fixture,
    build_fixture,
    client_env,
    empty_config,
    machine_line,
    percentile,
    print_table,
    read_lines,
    scratch_dir,
    stand_in_server,
)

FRAME_SAMPLES = 512
FRAMES_PER_SECOND = 16_000 / FRAME_SAMPLES
SILENCE_TARGET_PCT = 3.0
RSS_TARGET_MB = {"torch": 250.0, "onnx": 120.0}
NOISE_DBFS = -50.0
WARMUP_SKIP_S = 3.0  # after the VAD loads: JIT profiling runs and first connections are one-offs, not idle cost
SAMPLE_INTERVAL_S = 0.1
MB = 1024 * 1024


@dataclass
class Phase:
    """CPU and memory over one stretch of a run."""

    seconds: float
    cpu_pct: float  # of one core
    rss_max_mb: float


@dataclass
class ClientRun:
    """One client subprocess from start to exit."""

    vad: str
    silence: str
    exit_code: int
    texts_ok: bool
    load_s: float  # from process start to "Silero VAD loaded"
    silence_phase: Phase
    speech_phase: Phase
    peak_rss_mb: float  # VmHWM: the kernel's high-water mark for the whole run
    threads: int
    outputs: list[str] = field(default_factory=list)


def _hwm_mb(pid: int) -> float:
    """Peak resident set (VmHWM) of a live process, in MB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        match = re.search(r"VmHWM:\s+(\d+) kB", status.read())
    return int(match.group(1)) / 1024 if match else float("nan")


def _phase(samples: list[tuple[float, float, float]], start: float, end: float) -> Phase:
    """CPU % of one core between two wall times (CPU seconds interpolated between samples) and the largest RSS."""
    times = np.array([s[0] for s in samples])
    cpu = np.array([s[1] for s in samples])
    start, end = max(start, times[0]), min(end, times[-1])
    if end <= start:
        return Phase(0.0, float("nan"), float("nan"))
    used = float(np.interp(end, times, cpu) - np.interp(start, times, cpu))
    inside = [s[2] for s in samples if start <= s[0] <= end]
    return Phase(end - start, 100.0 * used / (end - start), max(inside) / MB if inside else float("nan"))


def run_client(fixture: Fixture, url: str, vad: str, silence: str, silence_s: float, workdir: Path) -> ClientRun:
    """Run the headless client on the fixture in real time; sample its CPU and memory until it exits."""
    command = [sys.executable, "-m", "tray_client", "--no-tray", "--server", url, "--input-wav", str(fixture.path),
               "--output", "stdout", "--vad", vad, "--config-file", str(empty_config(workdir))]
    started = time.time()
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=client_env(workdir))
    out: list[tuple[float, str]] = []
    err: list[tuple[float, str]] = []
    readers = [read_lines(process.stdout, out), read_lines(process.stderr, err)]  # type: ignore[arg-type]
    watched = psutil.Process(process.pid)
    samples: list[tuple[float, float, float]] = []
    peak_mb, threads = float("nan"), 0
    deadline = started + fixture.duration_s + 90
    while process.poll() is None and time.time() < deadline:
        try:
            now = time.time()
            times = watched.cpu_times()
            rss = watched.memory_info().rss
            hwm = _hwm_mb(process.pid)  # NaN once the child is a zombie: keep the last real reading
            peak_mb = hwm if peak_mb != peak_mb else max(peak_mb, hwm) if hwm == hwm else peak_mb
            threads = max(threads, watched.num_threads())
        except (psutil.NoSuchProcess, FileNotFoundError, ProcessLookupError):
            break
        samples.append((now, times.user + times.system, float(rss)))
        time.sleep(SAMPLE_INTERVAL_S)
    if process.poll() is None:
        process.kill()
    code = process.wait()
    for reader in readers:
        reader.join(5)
    loaded = next((t for t, line in err if "Silero VAD loaded" in line), None)
    if loaded is None or not samples:
        tail = "\n".join(line for _, line in err[-20:])
        raise RuntimeError(f"client ({vad}) did not start its VAD (exit {code}); its log ends:\n{tail}")
    # The pump starts as soon as the VAD is loaded, so audio time 0 is (within a few ms) the "loaded" line.
    silence_phase = _phase(samples, loaded + WARMUP_SKIP_S, loaded + silence_s - 0.2)
    speech_phase = _phase(samples, loaded + silence_s, loaded + fixture.duration_s)
    outputs = [line for _, line in out]
    return ClientRun(vad=vad, silence=silence, exit_code=code, texts_ok=outputs == [p.text for p in fixture.phrases],
                     load_s=loaded - started, silence_phase=silence_phase, speech_phase=speech_phase,
                     peak_rss_mb=peak_mb, threads=threads, outputs=outputs)


def time_vad(kind: str, fixture: Fixture, frames: int) -> dict[str, float]:
    """Milliseconds per 512-sample frame of the real SileroVad, on silence frames and on speech frames."""
    from tray_client.capture.vad import SileroVad

    vad = SileroVad.load(kind)
    first_speech = fixture.phrases[0].start
    silent = [fixture.samples[i:i + FRAME_SAMPLES] for i in range(0, first_speech - FRAME_SAMPLES, FRAME_SAMPLES)]
    speech = [fixture.samples[i:i + FRAME_SAMPLES] for p in fixture.phrases
              for i in range(p.start, p.end - FRAME_SAMPLES, FRAME_SAMPLES)]
    for frame in silent[:50]:  # warm-up: the torch JIT profiles and optimises on its first calls
        vad.probability(frame)
    timings = []
    pool = (silent * (frames // max(1, len(silent)) + 1))[: frames // 2] + (speech * frames)[: frames // 2]
    for frame in pool:
        begin = time.perf_counter()
        vad.probability(frame)
        timings.append((time.perf_counter() - begin) * 1000)
    mean = float(np.mean(timings))
    return {"frames": len(timings), "p50_ms": percentile(timings, 50), "p99_ms": percentile(timings, 99),
            "mean_ms": mean, "core_pct_at_31fps": mean * FRAMES_PER_SECOND / 10}


def plumbing_cpu(fixture: Fixture, url: str, silence_s: float, workdir: Path) -> dict[str, float]:
    """CPU of the real pipeline on silence with the model taken out (the VAD answers 0.0 at once).

    Everything else is real: WavSource pacing, the block hand-off to the pipeline thread, segmenter,
    link. Run in this process with `SileroVad.probability` replaced, so the difference from the client subprocess
    is what the model itself costs; the rest is per-frame plumbing."""
    from tray_client.capture.vad import SileroVad
    from tray_client.config import ClientConfig
    from tray_client.pipeline import Pipeline
    from tray_client.sinks import StdoutSink

    real = SileroVad.probability
    SileroVad.probability = lambda self, frame: 0.0  # type: ignore[method-assign,assignment,misc]
    try:
        config = ClientConfig(server=url, input_wav=str(fixture.path), output="stdout", no_tray=True)
        with (workdir / "plumbing.txt").open("w", encoding="utf-8") as stream:
            pipeline = Pipeline(config, sink=StdoutSink(stream))
            pipeline.start()
            time.sleep(WARMUP_SKIP_S + 1.0)  # the VAD loads (torch import) and the warm-up is skipped, as above
            wall, cpu = time.monotonic(), time.process_time()
            time.sleep(max(1.0, silence_s - WARMUP_SKIP_S - 2.0))
            wall, cpu = time.monotonic() - wall, time.process_time() - cpu
            pipeline.shutdown(grace_seconds=0.5)
    finally:
        SileroVad.probability = real  # type: ignore[method-assign]
    return {"seconds": wall, "cpu_pct": 100.0 * cpu / wall}


BASELINES = {
    "python, nothing imported": "pass",
    "client modules (no VAD)": "import numpy, websockets, tray_client.pipeline, tray_client.headless",
    "import torch": "import torch",
    "import onnxruntime": "import onnxruntime, numpy",
    "SileroVad.load('torch') + 1 frame": (
        "import numpy as np\nfrom tray_client.capture.vad import SileroVad\n"
        "v = SileroVad.load('torch')\nv.probability(np.zeros(512, np.int16))"),
    "SileroVad.load('onnx') + 1 frame": (
        "import numpy as np\nfrom tray_client.capture.vad import SileroVad\n"
        "v = SileroVad.load('onnx')\nv.probability(np.zeros(512, np.int16))"),
    "silero_vad.onnx on onnxruntime+numpy only (no torch)": (
        "import importlib.util, os\nimport numpy as np, onnxruntime as ort\n"
        "folder = importlib.util.find_spec('silero_vad').submodule_search_locations[0]\n"
        "o = ort.SessionOptions(); o.intra_op_num_threads = 1; o.inter_op_num_threads = 1\n"
        "s = ort.InferenceSession(os.path.join(folder, 'data', 'silero_vad.onnx'), o,"
        " providers=['CPUExecutionProvider'])\n"
        "s.run(None, {'input': np.zeros((1, 576), np.float32), 'state': np.zeros((2, 1, 128), np.float32),"
        " 'sr': np.array(16000, np.int64)})\n"
        "import sys; assert 'torch' not in sys.modules"),
}


def measure_baselines() -> dict[str, float]:
    """Peak RSS (MB) of a fresh interpreter doing only one thing: what the client's memory is made of."""
    results = {}
    for name, code in BASELINES.items():
        script = code + "\nprint(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
        done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            results[name] = float("nan")
            print(f"baseline {name!r} failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            continue
        results[name] = int(done.stdout.split()[-1]) / 1024
    return results


OVERLAY_CHILD = """
import json, sys, threading, time
from tray_client.events import ClientState, FinalText, PartialText, StateChanged

def rss_mb():
    with open('/proc/self/status') as status:
        return int(status.read().split('VmRSS:')[1].split()[0]) / 1024

def cpu_pct(seconds, work=None):
    wall, cpu = time.monotonic(), time.process_time()
    while time.monotonic() - wall < seconds:
        if work: work(time.monotonic() - wall)
        time.sleep(0.05)
    return 100.0 * (time.process_time() - cpu) / (time.monotonic() - wall)

seconds = float(sys.argv[1])
before = rss_mb()
idle_without = cpu_pct(2.0)
from tray_client.ui.overlay.window import Overlay
overlay = Overlay(); overlay.start()
overlay.post(StateChanged(ClientState.LISTENING)); time.sleep(1.5)
idle = cpu_pct(seconds)
idle_rss = rss_mb()
words = 'this is what a user says while the overlay shows the partial text of it'.split()
state = {'n': 0, 'next': 0.0}
def speak(t):
    # 2 partials per second, a final every 4 s (with the state changes a real utterance makes)
    if t < state['next']:
        return
    state['next'] = t + 0.5
    n = state['n'] = state['n'] + 1
    if n % 8 == 1:
        overlay.post(StateChanged(ClientState.SPEECH))
    if n % 8 == 0:
        overlay.post(StateChanged(ClientState.TRANSCRIBING))
        overlay.post(FinalText('u', ' '.join(words), 'English'))
        overlay.post(StateChanged(ClientState.LISTENING)); overlay.latency(0.6)
    else:
        overlay.post(PartialText('u', ' '.join(words[: 2 * (n % 8)])))
speaking = cpu_pct(seconds, speak)
speaking_rss = rss_mb()
started = time.monotonic(); overlay.close(); closed = time.monotonic() - started
alive = [t.name for t in threading.enumerate() if t.name == 'overlay']
print(json.dumps({'rss_before_mb': before, 'rss_idle_mb': idle_rss, 'rss_speaking_mb': speaking_rss,
                  'cpu_idle_without_pct': idle_without, 'cpu_idle_pct': idle, 'cpu_speaking_pct': speaking,
                  'close_s': closed, 'thread_left': bool(alive), 'failed': overlay.failed}))
"""


def overlay_cost(seconds: float) -> dict[str, float]:
    """What the live preview overlay adds to the tray process: CPU and RSS, hidden at idle and while speaking
    (2 partials/s, a final every 4 s), measured in a fresh interpreter on an Xvfb display."""
    from dictation_devtools.desktop import start_display

    display = start_display()
    try:
        done = subprocess.run([sys.executable, "-c", OVERLAY_CHILD, str(seconds)], cwd=REPO_ROOT, env=display.env(),
                              capture_output=True, text=True, timeout=seconds * 3 + 60)
    finally:
        display.close()
    if done.returncode != 0:
        raise RuntimeError(f"overlay bench failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def history_write_ms(count: int, workdir: Path) -> dict[str, float]:
    """Milliseconds per history row: HistoryStore.add (INSERT + commit, WAL) and the snapshot the tray gets."""
    from tray_client.history.recorder import HistoryRecorder
    from tray_client.history.store import HistoryEntry, HistoryStore

    store = HistoryStore(workdir / "history.sqlite3")
    adds, snapshots = [], []
    recorder = HistoryRecorder(workdir / "unused.sqlite3", days=30, output=lambda: "type")
    for index in range(count):
        entry = HistoryEntry(time.time(), f"utterance {index} 你好世界 " * 3, "raw", "English", 2.5, 0.6, 0.4, 0.15,
                             0.05, "notepad.exe", "type", f"u-{index}")
        begin = time.perf_counter()
        store.add(entry)
        adds.append((time.perf_counter() - begin) * 1000)
        begin = time.perf_counter()
        recorder._snapshot(store, 0.0)
        snapshots.append((time.perf_counter() - begin) * 1000)
    store.close()
    return {"rows": count, "add_p50_ms": percentile(adds, 50), "add_p99_ms": percentile(adds, 99),
            "snapshot_p50_ms": percentile(snapshots, 50), "snapshot_p99_ms": percentile(snapshots, 99)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 s of silence, one variant, no baselines (<60 s)")
    parser.add_argument("--silence-s", type=float, help="seconds of silence before the speech (default 60)")
    parser.add_argument("--vads", default="torch,onnx", help="VAD runtimes to run (default torch,onnx)")
    parser.add_argument("--variants", help="noise (-50 dBFS), zero (digital silence); default both, quick: noise")
    parser.add_argument("--only-ui", action="store_true",
                        help="only the overlay and history figures (needs Xvfb), not the client runs")
    parser.add_argument("--tray", action="store_true", help="the tray app on Xvfb: start time, CPU, RSS per tree")
    parser.add_argument("--client-root", action="append", default=[], metavar="NAME=PATH",
                        help="a client tree to run (--tray; repeatable; default: this one as 'this'); "
                             "NAME=PATH;key=value adds settings to its config (listening runs only)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per tree and listening state (--tray)")
    parser.add_argument("--window-s", type=float, default=30.0, help="CPU window per run in seconds (--tray)")
    parser.add_argument("--profile", help="folder for py-spy profiles of the first run of each kind (--tray)")
    parser.add_argument("--rss-parts", action="store_true",
                        help="what the tray app's RSS is made of, step by step per tree (--client-root), and the "
                             "Silero session's cost by onnxruntime session options (needs Xvfb)")
    args = parser.parse_args(argv)
    if args.rss_parts:
        from bench_rss import rss_parts

        roots = dict(item.split("=", 1) for item in args.client_root) or {"this": str(REPO_ROOT)}
        return rss_parts(roots, args.repeats)
    if args.tray:
        from bench_tray import tray_figures

        roots = dict(item.split("=", 1) for item in args.client_root) or {"this": str(REPO_ROOT)}
        return tray_figures(roots, repeats=args.repeats, seconds=args.window_s, profile_dir=args.profile)
    if args.only_ui:
        return ui_figures(10.0 if args.quick else 30.0, 100 if args.quick else 1000)
    silence_s = args.silence_s or (10.0 if args.quick else 60.0)
    variants = (args.variants or ("noise" if args.quick else "noise,zero")).split(",")
    vads = args.vads.split(",")
    texts = PHRASES[:2] if args.quick else PHRASES[:4]
    print(f"# bench_client: {machine_line()}")
    print(f"# {silence_s:g} s of silence, then {len(texts)} espeak-ng phrases; real-time WAV source; "
          f"VADs {', '.join(vads)}; silence {', '.join(variants)}")
    runs: list[ClientRun] = []
    vad_timing: dict[str, dict[str, float]] = {}
    with scratch_dir("bench_client-") as scratch:
        workdir = Path(scratch)
        fixtures = {}
        for variant in variants:
            dbfs = NOISE_DBFS if variant == "noise" else None
            fixtures[variant] = build_fixture(workdir / variant, texts, lead_s=silence_s, gap_s=1.2, tail_s=1.5,
                                              noise_dbfs=dbfs, name=variant)
        for variant, fixture in fixtures.items():
            with stand_in_server(fixture, workdir / variant) as server:
                for vad in vads:
                    run = run_client(fixture, server.url, vad, variant, silence_s, workdir / variant)
                    runs.append(run)
                    print(f"# {vad}/{variant}: exit {run.exit_code}, texts {'ok' if run.texts_ok else 'WRONG'}, "
                          f"silence {run.silence_phase.cpu_pct:.2f} % core, peak RSS {run.peak_rss_mb:.0f} MB",
                          flush=True)
        timing_fixture = fixtures.get("noise") or next(iter(fixtures.values()))
        with stand_in_server(timing_fixture, workdir / "plumbing") as server:
            plumbing = plumbing_cpu(timing_fixture, server.url, silence_s, workdir / "plumbing")
        for vad in vads:
            vad_timing[vad] = time_vad(vad, timing_fixture, 400 if args.quick else 3000)
    baselines = {} if args.quick else measure_baselines()
    ui_figures(10.0 if args.quick else 30.0, 100 if args.quick else 1000)

    print("\nClient subprocess, real-time WAV source (CPU in % of one core; RSS in MB)")
    rows = []
    for run in runs:
        target = RSS_TARGET_MB[run.vad]
        rows.append([run.vad, run.silence, f"{run.silence_phase.cpu_pct:.2f}", f"{run.speech_phase.cpu_pct:.2f}",
                     f"{run.silence_phase.rss_max_mb:.0f}", f"{run.speech_phase.rss_max_mb:.0f}",
                     f"{run.peak_rss_mb:.0f}", f"{run.load_s:.1f}",
                     "yes" if run.silence_phase.cpu_pct <= SILENCE_TARGET_PCT else "NO",
                     f"{'yes' if run.peak_rss_mb <= target else 'NO'} (<= {target:.0f})",
                     "ok" if run.texts_ok and run.exit_code == 0 else f"exit {run.exit_code}, {run.outputs}"])
    print_table(["vad", "silence", "CPU silence %", "CPU speech %", "RSS silence", "RSS speech", "peak RSS",
                 "start s", "silence <= 3 %", "RSS target", "finals"], rows)
    print("\nSileroVad.probability, ms per 512-sample frame (32 ms of audio), in process, 1 torch thread")
    print_table(["vad", "frames", "p50 ms", "p99 ms", "mean ms", "% core at 31.25 frames/s"],
                [[k, v["frames"], f"{v['p50_ms']:.3f}", f"{v['p99_ms']:.3f}", f"{v['mean_ms']:.3f}",
                  f"{v['core_pct_at_31fps']:.2f}"] for k, v in vad_timing.items()])
    print(f"\nThe same pipeline on silence with the model taken out (VAD answers 0.0 at once), in process: "
          f"{plumbing['cpu_pct']:.2f} % of a core over {plumbing['seconds']:.0f} s (per-frame plumbing)")
    if baselines:
        print("\nWhat the memory is made of: peak RSS of a fresh interpreter doing only this")
        print_table(["what", "peak RSS MB"], [[k, f"{v:.0f}"] for k, v in baselines.items()])
    figures = {
        "bench": "client", "quick": args.quick, "machine": machine_line(), "silence_s": silence_s,
        "runs": [{key: value for key, value in asdict(run).items() if key != "outputs"} for run in runs],
        "vad_ms_per_frame": vad_timing, "plumbing_silence": plumbing, "baseline_peak_rss_mb": baselines,
        "targets": {"silence_cpu_pct": SILENCE_TARGET_PCT, "rss_mb": RSS_TARGET_MB},
    }
    print(json.dumps(figures, allow_nan=True))
    return 0



def ui_figures(seconds: float, rows: int) -> int:
    """Print the overlay's added CPU and RSS and the history's write time, with a JSON line."""
    overlay = overlay_cost(seconds)
    print(f"\nLive preview overlay, in a fresh interpreter on Xvfb ({seconds:g} s per phase; CPU % of one core)")
    print_table(["phase", "CPU %", "RSS MB", "RSS added MB"], [
        ["no overlay", f"{overlay['cpu_idle_without_pct']:.2f}", f"{overlay['rss_before_mb']:.0f}", "0"],
        ["overlay idle (hidden)", f"{overlay['cpu_idle_pct']:.2f}", f"{overlay['rss_idle_mb']:.0f}",
         f"{overlay['rss_idle_mb'] - overlay['rss_before_mb']:.1f}"],
        ["overlay while speaking", f"{overlay['cpu_speaking_pct']:.2f}", f"{overlay['rss_speaking_mb']:.0f}",
         f"{overlay['rss_speaking_mb'] - overlay['rss_before_mb']:.1f}"],
    ])
    print(f"overlay close: {overlay['close_s'] * 1000:.0f} ms, thread left running: {overlay['thread_left']}")
    with scratch_dir("bench_history-") as scratch:
        history = history_write_ms(rows, Path(scratch))
    print(f"\nHistory, {history['rows']} rows into one SQLite file (WAL, synchronous=NORMAL): add p50 "
          f"{history['add_p50_ms']:.2f} / p99 {history['add_p99_ms']:.2f} ms; the tray's snapshot after each "
          f"p50 {history['snapshot_p50_ms']:.2f} / p99 {history['snapshot_p99_ms']:.2f} ms (history thread)")
    print(json.dumps({"bench": "client_ui", "machine": machine_line(), "overlay": overlay, "history": history}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
