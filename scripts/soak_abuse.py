"""Hostile clients, full runs (issue 18): every attack of the suite against one real server, at a larger scale.

    python scripts/soak_abuse.py             # scale 3: three times the suite's counts and durations
    python scripts/soak_abuse.py --scale 1   # what tests/reliability/test_hostile_clients.py runs

The server is the stand-in server (scripted backend: decoding is instant) in its own process, on loopback, with
the settings in dictation_devtools/reliability/hostile.py. While each attack runs, a victim session dictates
one-second utterances on its own connection and times every stop-to-final. Prints a Markdown table (memory of the
server process before, at peak and after; the victim's finals and its worst latency) and one JSON line of
figures. Exits 1 if an attack was not held, the victim failed, or a final took 1 s or more.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from dictation_devtools.reliability.hostile import ATTACKS, AttackReport, abuse_server, run_attack

REPO_ROOT = Path(__file__).resolve().parents[1]

MAX_FINAL_S = 1.0


def main(argv: list[str] | None = None) -> int:
    """Run every attack (or those named) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=3, help="multiplies each attack's counts and durations")
    parser.add_argument("attacks", nargs="*", choices=[[], *sorted(ATTACKS)], default=[],
                        help="run only these (default: all)")
    options = parser.parse_args(argv)
    names = options.attacks or sorted(ATTACKS)
    reports: list[AttackReport] = []
    with tempfile.TemporaryDirectory() as folder, abuse_server(Path(folder)) as server:
        for name in names:
            report = run_attack(server, name, ATTACKS[name], options.scale)
            print(report.describe(), file=sys.stderr, flush=True)
            reports.append(report)
        tracebacks = server.log_text().count("Traceback")
    print("| attack | held | seconds | RSS before / peak / after (MB) | victim finals | worst final |")
    print("|---|---|---|---|---|---|")
    for report in reports:
        held = "yes" if report.problem is None and not report.victim_failures else f"NO: {report.problem}"
        print(f"| {report.name} | {held} | {report.seconds:.1f} | {report.rss_before_mb:.0f} / "
              f"{report.rss_peak_mb:.0f} / {report.rss_after_mb:.0f} | {len(report.latencies)} | "
              f"{report.worst_latency * 1000:.0f} ms |")
    ok = all(r.problem is None and not r.victim_failures and r.latencies and r.worst_latency < MAX_FINAL_S
             for r in reports) and tracebacks == 0
    print(json.dumps({"scale": options.scale, "attacks": len(reports),
                      "held": sum(r.problem is None for r in reports),
                      "victim_finals": sum(len(r.latencies) for r in reports),
                      "worst_final_s": round(max(r.worst_latency for r in reports), 3),
                      "max_peak_growth_mb": round(max(r.rss_peak_mb - r.rss_before_mb for r in reports), 1),
                      "rss_first_mb": round(reports[0].rss_before_mb, 1),
                      "rss_last_mb": round(reports[-1].rss_after_mb, 1),
                      "tracebacks": tracebacks, "all_ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
