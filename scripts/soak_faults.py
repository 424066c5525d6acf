"""Fault injection, full runs (issue 7): the headless client against the real server while things break.

    python scripts/soak_faults.py --quick   # 5 kills, a 3 s stall, short mic timings (what CI's tests do)
    python scripts/soak_faults.py           # 20 kills, a 10 s stall, the product's mic timings

Scenarios, each compared line by line with a clean run of the same dictation:
- kill: the real asr_server (scripted backend, modelled decode time) is SIGKILLed inside an utterance and
  restarted on the same port, N times in one run (alternately mid-speech and while the final decodes);
- proxy: a TCP proxy stalls all traffic inside an utterance, then cuts every connection inside later ones;
- decode error: the server's decode of one utterance raises; the client must replay it once and output it once;
- mic: the microphone (a fake PyAudio device playing the dictation) is unplugged between utterances and inside
  one; the pipeline must show the error meanwhile, recover, and type nothing twice.
Prints a table and ends with one JSON line of figures: utterances, outputs, duplicates, losses, recoveries,
max recovery time. Exits 1 if any output differs from the clean run's.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dictation_devtools.reliability.dictation import PHRASES, Dictation, build_dictation
from dictation_devtools.reliability.mic import MicRun, mic_run
from dictation_devtools.reliability.runs import RunResult, clean_run, decode_error_run, kill_run, proxy_run
from tray_client.events import ClientState

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    """One scenario's line in the table."""

    name: str
    faults: int
    utterances: int
    outputs: int
    duplicates: int
    losses: int
    recoveries: int
    max_recovery_s: float
    exact: bool
    seconds: float
    note: str = ""


def _row(run: RunResult, clean: list[str], note: str = "") -> Row:
    return Row(run.name, len(run.faults), len(clean), len(run.lines), run.duplicates, run.losses, run.recoveries,
               run.max_recovery_s, run.lines == clean and run.exit_code == 0, run.seconds,
               note or f"exit {run.exit_code}")


def _mic_row(run: MicRun, clean: MicRun) -> Row:
    expected = clean.lines
    extra = sum(max(0, run.lines.count(text) - expected.count(text)) for text in set(run.lines))
    missing = sum(max(0, expected.count(text) - run.lines.count(text)) for text in set(expected))
    recovered = run.recovered_s is not None and run.state_while_gone is ClientState.ERROR
    return Row(f"mic {run.name}", 1, len(expected), len(run.lines), extra, missing, int(recovered),
               run.recovered_s or 0.0, run.lines == expected and recovered, run.seconds,
               f"state while gone: {run.state_while_gone.value if run.state_while_gone else '-'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the CI-sized runs (about 2 minutes)")
    parser.add_argument("--kills", type=int, help="server kills in the kill run (default 20, quick 5)")
    parser.add_argument("--stall-s", type=float, help="proxy stall in seconds (default 10, quick 3)")
    parser.add_argument("--cuts", type=int, default=4, help="proxy cuts after the stall (default 4)")
    parser.add_argument("--workdir", type=Path, help="where logs and WAVs go (default: a temporary folder)")
    args = parser.parse_args(argv)
    kills = args.kills or (5 if args.quick else 20)
    stall_s = args.stall_s or (3.0 if args.quick else 10.0)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="soak-faults-"))
    workdir.mkdir(parents=True, exist_ok=True)
    # The in-process pipeline (mic runs) writes its log and any saved audio under the work folder.
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        os.environ[name] = str(workdir / name.lower())
    # The in-process pipeline's log (mic runs) goes to a file; the table stays readable.
    logging.basicConfig(filename=workdir / "pipeline.log", level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    print(f"work folder: {workdir}", flush=True)

    def log(message: str) -> None:
        print(f"  {message}", flush=True)

    # A kill per utterance at most: kills alternate speech/decoding and wait for the reconnection, so the dictation
    # has a few phrases more than kills.
    count = min(len(PHRASES), max(6, kills + 4))
    dictation: Dictation = build_dictation(workdir / "speech", count)
    proxy_dictation = dictation if count >= args.cuts + 4 else build_dictation(workdir / "speech-proxy",
                                                                               args.cuts + 4)
    short = build_dictation(workdir / "speech-mic", 3)
    rows: list[Row] = []

    print(f"clean run: {count} phrases, {dictation.sample.duration_s:.0f} s of audio", flush=True)
    clean = clean_run(dictation, workdir / "clean")
    if clean.lines != dictation.texts or clean.exit_code:
        print(clean.describe(), file=sys.stderr)
        return 1
    rows.append(_row(clean, clean.lines))
    print(f"kill run: {kills} kills", flush=True)
    rows.append(_row(kill_run(dictation, workdir / "kill", kills, log=log), clean.lines))
    proxy_clean = clean if proxy_dictation is dictation else clean_run(proxy_dictation, workdir / "clean-proxy")
    print(f"proxy run: stall {stall_s:g} s, {args.cuts} cuts", flush=True)
    rows.append(_row(proxy_run(proxy_dictation, workdir / "proxy", stall_s, cuts=args.cuts, log=log),
                     proxy_clean.lines))
    print("decode error run", flush=True)
    decode = decode_error_run(dictation, workdir / "decode", phrase_index=1)
    replays = decode.client_log.count("sending the utterance again")
    rows.append(_row(decode, clean.lines, note=f"client replays: {replays}"))
    if replays != 1:
        rows[-1].exact = False

    timings = {"stall_timeout_s": 0.5, "retry_s": 0.3} if args.quick else {}  # else the product's 2 s / 3 s
    print("mic runs", flush=True)
    mic_clean = mic_run(short, name="clean")
    phrases = short.sample.phrases
    between = mic_run(short, name="unplugged between utterances",
                      unplug_at_s=(phrases[0].end_s + phrases[1].start_s) / 2, outage_s=3.0, **timings)
    inside = mic_run(short, name="unplugged mid-utterance",
                     unplug_at_s=phrases[1].start_s + 0.6 * (phrases[1].end_s - phrases[1].start_s),
                     resume_at_s=phrases[2].start_s - 0.5, outage_s=3.0, **timings)
    for run in (between, inside):
        rows.append(_mic_row(run, mic_clean))

    print()
    header = (f"{'scenario':<34} {'faults':>6} {'utts':>5} {'outs':>5} {'dup':>4} {'lost':>4} {'recov':>5} "
              f"{'max rec s':>9} {'exact':>5} {'run s':>6}  note")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row.name:<34} {row.faults:>6} {row.utterances:>5} {row.outputs:>5} {row.duplicates:>4} "
              f"{row.losses:>4} {row.recoveries:>5} {row.max_recovery_s:>9.2f} {'yes' if row.exact else 'NO':>5} "
              f"{row.seconds:>6.1f}  {row.note}")
    faulty = rows[1:]
    figures = {
        "mode": "quick" if args.quick else "full",
        "kills": kills,
        "stall_s": stall_s,
        "cuts": args.cuts,
        "faults": sum(row.faults for row in faulty),
        "utterances": sum(row.utterances for row in faulty),
        "outputs": sum(row.outputs for row in faulty),
        "duplicates": sum(row.duplicates for row in faulty),
        "losses": sum(row.losses for row in faulty),
        "recoveries": sum(row.recoveries for row in faulty),
        "max_recovery_s": max(row.max_recovery_s for row in faulty),
        "all_exact": all(row.exact for row in faulty),
    }
    print(json.dumps(figures))
    return 0 if figures["all_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
