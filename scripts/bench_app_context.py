"""How long reading the focused app's context takes when an utterance starts (the pipeline's wait), on X11.

    PYTHONPATH=. python scripts/bench_app_context.py [--runs 50]

Starts Xvfb, a private session bus, openbox and a GTK text field (system Python with PyGObject) holding 2,000
characters, then times `ContextReader.read` as FollowFocus calls it at an utterance's start: the focus lookup is
not included (it ran before this change too); the AT-SPI walk, the window title and composing the 500-character
budget are. Also times the title-only path (AT-SPI off: a Tk-like app without accessibility). Prints one JSON
line with p50, p90 and max in ms for each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p90_ms": round(ordered[int(len(ordered) * 0.9) - 1] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    from dictation_devtools.desktop import start_display

    display = start_display()
    bus = subprocess.run(["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
                         capture_output=True, text=True, check=True).stdout.split()
    env = {**display.env(), "DBUS_SESSION_BUS_ADDRESS": bus[0]}
    os.environ.update(env)
    processes = [subprocess.Popen(["openbox"], env={**os.environ}, stderr=subprocess.DEVNULL)]
    try:
        time.sleep(1.0)  # openbox takes the screen (benchmark setup only, not synchronisation of a result)
        text = ("Dear Ms Okonkwo, about the Lagos invoice. " * 50)[:2000]
        target = subprocess.Popen(["/usr/bin/python3", str(REPO / "dictation_devtools" / "gtk_target.py"), text],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ})
        processes.append(target)
        assert target.stdout is not None and target.stdout.readline().strip() == "ready"
        from tray_client.desktop.app_context import AppText
        from tray_client.desktop.context_reader import ContextReader, read_app_text
        from tray_client.desktop.focus import current_focus
        from tray_client.desktop.window_title import window_title

        focus = current_focus()
        results = {}
        for name, reader_fn in (("atspi_and_title", read_app_text),
                                ("title_only", lambda f: AppText(f.app, window_title(f.window)))):
            reader = ContextReader(timeout_s=5.0, reader=reader_fn)
            samples, context = [], ""
            for _ in range(args.runs):
                context = reader.read(focus, 500)
                samples.append(reader.last_read_s)
            reader.close()
            results[name] = {**_stats(samples), "chars": len(context), "has_text": "Okonkwo" in context}
        print(json.dumps({"runs": args.runs, "app": focus.app, **results}))
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(10)
        subprocess.run(["kill", bus[1]], check=False)
        display.close()


if __name__ == "__main__":
    main()
