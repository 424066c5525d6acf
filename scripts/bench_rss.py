"""What the tray app's resident memory is made of (bench_client.py --rss-parts).

tracemalloc sees only Python's own allocations; onnxruntime, numpy, Tk and the libraries' code pages are native. So
a fresh interpreter per tree (on Xvfb, for pystray and Tk) does what the tray app does, one step at a time in the
app's order, and VmRSS is read after each step: the delta is what that step costs. Median over `repeats` children.

Then onnxruntime's session options, each in a fresh interpreter: the Silero session's resident cost after
malloc_trim (as the app trims once the VAD is in), the CPU per frame over 2000 frames of speech-like input, and the
largest difference of the speech probabilities from the default options' (the model's outputs must not move).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
REPO_ROOT = SCRIPTS.parent

STEPS: list[tuple[str, str]] = [
    ("interpreter (site, encodings)", "pass"),
    ("tray app modules before the icon (config, logging, menu, intents, filelock)",
     "import tray_client.__main__, tray_client.logs, tray_client.ui.tray.app"),
    ("pystray (xorg), Xlib, PIL and the icon image",
     "from tray_client.ui.tray import linux\nlinux.select_backend()\nimport pystray\n"
     "from tray_client.ui.tray.icons import load_state_icon\nfrom tray_client.events import ClientState\n"
     "load_state_icon(ClientState.OFF)"),
    ("pynput keyboard (hotkeys)", "import pynput.keyboard"),
    ("numpy", "import numpy"),
    ("import onnxruntime", "import onnxruntime"),
    ("Silero session (onnxruntime) + 200 frames",
     "import numpy as np\nfrom tray_client.capture.vad import SileroVad\nvad = SileroVad.load('onnx')\n"
     "for i in range(200): vad.probability((np.sin(np.arange(512) * 0.1 * (i % 5)) * 3000).astype(np.int16))"),
    ("pipeline modules (asyncio, websockets, link, text stages, delivery)", "import tray_client.pipeline"),
    ("controller, features (history, sqlite3, undo, diagnostics), voice edit",
     "import tray_client.ui.tray.controller, tray_client.ui.tray.features, tray_client.voice_edit.session"),
    ("tkinter and a Tk() (the overlay's interpreter)",
     "import tkinter\nroot = tkinter.Tk()\nroot.withdraw()\nroot.update()"),
    ("malloc_trim (the app trims once the VAD is in)",
     "from tray_client._memory import return_freed_memory\nreturn_freed_memory()"),
    ("(not in the listening app) the web app's server modules, once opened", "import tray_client.webapp.server"),
]

CHILD = """
import json, sys
def rss():
    with open('/proc/self/status') as status:
        return int(status.read().split('VmRSS:')[1].split()[0]) / 1024
out = []
for code in json.loads(sys.argv[1]):
    exec(code)
    out.append(rss())
print(json.dumps(out))
"""

OPTIONS = {
    "default (as shipped: 1 intra-op and 1 inter-op thread)": "",
    "enable_cpu_mem_arena = False, enable_mem_pattern = False":
        "o.enable_cpu_mem_arena = False\no.enable_mem_pattern = False",
    "graph_optimization_level = ORT_DISABLE_ALL": "o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL",
    "ORT_DISABLE_ALL, no arena, no memory pattern":
        "o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL\n"
        "o.enable_cpu_mem_arena = False\no.enable_mem_pattern = False",
}

OPTION_CHILD = """
import ctypes, json, sys, time
import numpy as np, onnxruntime as ort
def rss():
    with open('/proc/self/status') as status:
        return int(status.read().split('VmRSS:')[1].split()[0]) / 1024
trim = ctypes.CDLL(None).malloc_trim
o = ort.SessionOptions(); o.intra_op_num_threads = 1; o.inter_op_num_threads = 1
exec(sys.argv[1])
t = np.arange(512 * 2000) / 16000.0
# speech-like: a voiced 150 Hz buzz with formant-ish harmonics, switched on and off every 0.5 s, over a noise floor
audio = (0.3 * np.sin(2 * np.pi * 150 * t) * np.sin(2 * np.pi * 700 * t) * ((t % 1.0) < 0.5)
         + 0.003 * np.sin(2 * np.pi * 3100 * t * 1.37)).astype(np.float32)
del t
state = np.zeros((2, 1, 128), np.float32); context = np.zeros((1, 64), np.float32); sr = np.array(16000, np.int64)
trim(0)
before = rss()
session = ort.InferenceSession(sys.argv[2], sess_options=o, providers=['CPUExecutionProvider'])
trim(0)
after = rss()
probabilities = []
cpu = time.process_time()
for i in range(2000):
    window = np.concatenate([context, audio[i * 512:(i + 1) * 512].reshape(1, -1)], axis=1)
    output, state = session.run(None, {'input': window, 'state': state, 'sr': sr})
    context = window[:, -64:]
    probabilities.append(float(output.reshape(-1)[0]))
cpu = (time.process_time() - cpu) / 2000 * 1000
trim(0)
print(json.dumps({'session_mb': after - before, 'after_frames_mb': rss() - before, 'cpu_ms': cpu,
                  'p': probabilities}))
"""


def rss_parts(roots: dict[str, str], repeats: int) -> int:
    """Print the per-step RSS table for each tree, then the session options table; one JSON line at the end."""
    from bench_common import machine_line, print_table

    from dictation_devtools.desktop import start_display

    print(f"# bench_client --rss-parts: {machine_line()}; load average {os.getloadavg()}")
    display = start_display()
    results: dict[str, list[list[float]]] = {}
    try:
        for name, path in roots.items():
            env = {**os.environ, **display.env(), "PYSTRAY_BACKEND": "xorg",
                   "PYTHONPATH": f"{Path(path).resolve()}{os.pathsep}{REPO_ROOT}"}
            runs = []
            for _ in range(repeats):
                done = subprocess.run([sys.executable, "-c", CHILD, json.dumps([code for _, code in STEPS])],
                                      env=env, cwd="/", capture_output=True, text=True, timeout=300)
                if done.returncode != 0:
                    raise RuntimeError(f"{name}: {done.stderr[-2000:]}")
                runs.append(json.loads(done.stdout.splitlines()[-1]))
            results[name] = runs
    finally:
        display.close()
    names = list(roots)
    rows = []
    for index, (label, _) in enumerate(STEPS):
        row = [label]
        for name in names:
            deltas = [run[index] - (run[index - 1] if index else 0.0) for run in results[name]]
            row.append(f"{statistics.median(deltas):+.1f}")
        rows.append(row)
    listening = len(STEPS) - 1  # the web app's server is not loaded by the listening app
    rows.append(["total, as the listening app loads it (MB)"]
                + [f"{statistics.median(run[listening - 1] for run in results[name]):.1f}" for name in names])
    print(f"\nVmRSS after each step, in the tray app's order (MB, median of {repeats} fresh interpreters)")
    print_table(["step", *names], rows)
    options = session_options()
    print(json.dumps({"bench": "client_rss_parts", "machine": machine_line(), "steps": [label for label, _ in STEPS],
                      "runs": results, "session_options": options}))
    return 0


def session_options() -> dict[str, dict[str, float]]:
    """Each OPTIONS entry in a fresh interpreter: resident cost, CPU per frame, largest change of the outputs."""
    from bench_common import print_table

    model = str(REPO_ROOT / "tray_client" / "capture" / "data" / "silero_vad.onnx")
    found: dict[str, dict[str, float]] = {}
    reference: list[float] = []
    rows = []
    for label, code in OPTIONS.items():
        runs = []
        for _ in range(3):
            done = subprocess.run([sys.executable, "-c", OPTION_CHILD, code, model], capture_output=True, text=True,
                                  timeout=300)
            if done.returncode != 0:
                raise RuntimeError(f"{label}: {done.stderr[-2000:]}")
            runs.append(json.loads(done.stdout.splitlines()[-1]))
        probabilities = runs[0]["p"]
        reference = reference or probabilities
        drift = max(abs(a - b) for a, b in zip(probabilities, reference, strict=True))
        found[label] = {key: statistics.median(run[key] for run in runs)
                        for key in ("session_mb", "after_frames_mb", "cpu_ms")} | {"max_abs_diff": drift}
        rows.append([label, f"{found[label]['session_mb']:.1f}", f"{found[label]['after_frames_mb']:.1f}",
                     f"{found[label]['cpu_ms']:.3f}", f"{drift:.1e}"])
    print("\nSilero on onnxruntime by session options (fresh interpreter each, median of 3; after malloc_trim)")
    print_table(["options", "session MB", "after 2000 frames MB", "CPU ms/frame", "max |p - p_default|"], rows)
    return found
