"""The tray app as a user runs it (bench_client.py --tray): start time, CPU on a noise floor, RSS, per thread.

Each run starts `python -m tray_client` (through scripts/tray_on_tape_mic.py, whose only change is a fake sound
card playing -50 dBFS noise) on Xvfb + trayer, with the overlay on (the default) and the real asr_server's scripted
backend on loopback. Several client trees ("before" = a checkout of the previous commit, "after" = this one) run
interleaved in one session, so a loaded machine slows both alike and the ratio holds.

Measured per run:
- start -> tray icon: from Popen to the icon window being mapped, i.e. shown in the tray (xdotool search
  --onlyvisible, polled every 20 ms; pystray creates the window earlier, hidden);
- start -> VAD ready: from Popen to the pipeline's "has its VAD" log line appearing (polled every 20 ms), when
  listening can begin; trees without that line logged "Silero VAD loaded" at that moment (the pipeline loaded the
  model itself), and are timed to it;
- CPU: user + system CPU seconds of the whole process per wall second over a window that begins WARMUP_S after
  the VAD is ready (CPU time is what the app itself used; load on the machine inflates it far less than it
  inflates wall-clock figures); per thread from /proc/PID/task, named by a py-spy dump;
- RSS at the end of the window and the peak (VmHWM).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

SCRIPTS = Path(__file__).resolve().parent
REPO_ROOT = SCRIPTS.parent
WARMUP_S = 5.0
"""From VAD ready to the CPU window. More than the overlay's start-up display (it shows the first state for
ERROR_HOLD_S + FADE_S = 4.4 s from the pipeline's start, redrawing meanwhile): with 4 s, a tree whose VAD is ready
sooner after its pipeline starts had the tail of that display in its window (0.6 % of a core on the overlay)."""
VAD_IN_USE = "the pipeline has its VAD"  # tray_client.pipeline.VAD_IN_USE (trees before it: "Silero VAD loaded")
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class TrayRun:
    root: str
    listening: bool
    icon_s: float
    vad_s: float
    cpu_pct: float  # CPU seconds per wall second x 100, whole process
    window_s: float
    rss_mb: float
    hwm_mb: float
    threads: dict[str, float] = field(default_factory=dict)  # name -> % of a core over the window


def _task_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of `pid`."""
    result = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        result[int(task.name)] = (int(fields[11]) + int(fields[12])) / TICK
    return result


def _thread_names(pid: int) -> dict[int, str]:
    """OS thread id -> Python thread name, from `py-spy dump` (empty when py-spy is not installed)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return {}
    done = subprocess.run([spy, "dump", "--pid", str(pid), "--nonblocking"], capture_output=True, text=True,
                          timeout=60)
    names = {}
    for match in re.finditer(r"Thread (0x[0-9A-Fa-f]+|\d+) \(\w+\): \"([^\"]*)\"", done.stdout):
        ident = match.group(1)
        names[int(ident, 16) if ident.startswith("0x") else int(ident)] = match.group(2)
    return names


def _status_mb(pid: int, key: str) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"{key}:\s+(\d+) kB", text)
    return int(match.group(1)) / 1024 if match else float("nan")


def _icon_up(env: dict[str, str]) -> bool:
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--class", "qwen-dictation"], env=env, capture_output=True,
                           text=True)
    return bool(found.stdout.split())


def run_tray(root: str, path: Path, *, listening: bool, seconds: float, server_url: str, display_env: dict[str, str],
             home: Path, profile: Path | None = None, settings: str = "") -> TrayRun:
    """One tray app from start to quit; see the module docstring for what is measured."""
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    config = home / "config.toml"
    config.write_text(f'server = "{server_url}"\nstart_listening = {"true" if listening else "false"}\n'
                      f"overlay = true\n{settings}", encoding="utf-8")
    env = {**display_env, "XDG_CONFIG_HOME": str(home / "config"), "XDG_STATE_HOME": str(home / "state"),
           "XDG_CACHE_HOME": str(home / "cache"), "XDG_DATA_HOME": str(home / "data"),
           "PYTHONPATH": f"{path}{os.pathsep}{REPO_ROOT}", "PYSTRAY_BACKEND": "xorg",
           # the noise tape covers the run and no more: it is resident in the measured app (2 MB a minute)
           "BENCH_TAPE_S": str(int(seconds + WARMUP_S + 60))}
    env.pop("PYTHONWARNINGS", None)
    log_path = home / "state" / "qwen-dictation" / "log" / "tray_client.log"
    command = [sys.executable, str(SCRIPTS / "tray_on_tape_mic.py"), "--config-file", str(config),
               "--log-level", "INFO"]
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, cwd=home, stdout=subprocess.DEVNULL,
                               stderr=open(home / "stderr.log", "wb"))  # noqa: SIM115 - closed with the process
    icon_s = vad_s = float("nan")
    ready_line = VAD_IN_USE if VAD_IN_USE in (path / "tray_client" / "pipeline.py").read_text() else "Silero VAD loaded"
    try:
        while (icon_s != icon_s or vad_s != vad_s) and time.monotonic() - started < 120:
            if process.poll() is not None:
                raise RuntimeError(f"the tray app ({root}) exited with {process.returncode}: "
                                   f"{(home / 'stderr.log').read_text()[-2000:]}")
            if icon_s != icon_s and _icon_up(env):
                icon_s = time.monotonic() - started
            if vad_s != vad_s and log_path.exists() and ready_line in log_path.read_text(errors="replace"):
                vad_s = time.monotonic() - started
            time.sleep(0.02)
        time.sleep(WARMUP_S)
        spy = None
        if profile is not None:
            spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                                    str(process.pid), "--threads", "--nonblocking", "--rate", "200", "--format",
                                    "raw", "--duration", str(int(seconds)), "--output", str(profile)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        watched = psutil.Process(process.pid)
        tasks_before = _task_cpu(process.pid)
        cpu_before, wall_before = sum(watched.cpu_times()[:2]), time.monotonic()
        time.sleep(seconds)
        cpu_after, wall_after = sum(watched.cpu_times()[:2]), time.monotonic()
        tasks_after = _task_cpu(process.pid)
        rss, hwm = _status_mb(process.pid, "VmRSS"), _status_mb(process.pid, "VmHWM")
        names = _thread_names(process.pid)
        if spy is not None:
            spy.wait(60)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    window = wall_after - wall_before
    threads: dict[str, float] = {}
    for tid, used in tasks_after.items():
        name = names.get(tid, f"native {tid - process.pid:+d}" if tid != process.pid else "MainThread")
        threads[name] = threads.get(name, 0.0) + 100.0 * (used - tasks_before.get(tid, 0.0)) / window
    return TrayRun(root=root, listening=listening, icon_s=icon_s, vad_s=vad_s,
                   cpu_pct=100.0 * (cpu_after - cpu_before) / window, window_s=window, rss_mb=rss, hwm_mb=hwm,
                   threads=dict(sorted(threads.items(), key=lambda item: -item[1])))


def _installed_mb(requirements: list[str]) -> dict[str, float]:
    """Installed size (MB, from each distribution's RECORD) of `requirements` and everything they pull in."""
    from importlib import metadata

    from packaging.requirements import Requirement

    seen: dict[str, float] = {}
    todo = list(requirements)
    while todo:
        requirement = Requirement(todo.pop())
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = requirement.name.lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            seen[name] = float("nan")
            continue
        size = sum(file.size or 0 for file in dist.files or [])
        seen[name] = size / 1024 / 1024
        todo.extend(dist.requires or [])
    return seen


def install_sizes() -> dict[str, dict[str, float]]:
    """What `pip install .[client]` installs (packages of this venv), with and without the torch extra."""
    import tomllib

    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    result = {"client": _installed_mb(extras["client"])}
    if "vad-torch" in extras:
        result["client + vad-torch"] = _installed_mb(extras["client"] + extras["vad-torch"])
    return result


def tray_figures(roots: dict[str, str], *, repeats: int, seconds: float, profile_dir: str | None) -> int:
    """Run every tree `repeats` times listening and not, interleaved; print the table and one JSON line."""
    import dataclasses
    import json
    import statistics
    import tempfile

    from bench_common import PHRASES, build_fixture, machine_line, print_table, stand_in_server

    from dictation_devtools.desktop import start_display

    print(f"# bench_client --tray: {machine_line()}; load average {os.getloadavg()}")
    runs: list[TrayRun] = []
    with tempfile.TemporaryDirectory(prefix="bench_tray-") as scratch:
        work = Path(scratch)
        fixture = build_fixture(work / "fixture", PHRASES[:1], lead_s=1.0, gap_s=1.0, tail_s=1.0, noise_dbfs=-50)
        display = start_display()
        try:
            with stand_in_server(fixture, work / "server") as server:
                for repeat in range(repeats):
                    for listening in (True, False):
                        for name, spec in roots.items():
                            # NAME=PATH;key=value;...: extra settings for that tree's config.toml
                            path, *extra = spec.split(";")
                            if extra and not listening:
                                continue  # settings variants are about listening
                            profile = None
                            if profile_dir and repeat == 0:
                                Path(profile_dir).mkdir(parents=True, exist_ok=True)
                                profile = Path(profile_dir) / f"{name}-{'on' if listening else 'off'}.txt"
                            run = run_tray(name, Path(path).resolve(), listening=listening, seconds=seconds,
                                           server_url=server.url, display_env=display.env(), home=work / "home",
                                           profile=profile, settings="".join(f"{e}\n" for e in extra))
                            runs.append(run)
                            top = ", ".join(f"{k} {v:.2f}" for k, v in list(run.threads.items())[:5])
                            print(f"# {name} listening={listening}: icon {run.icon_s:.2f} s, VAD {run.vad_s:.2f} s, "
                                  f"CPU {run.cpu_pct:.2f} % ({top}), RSS {run.rss_mb:.0f} MB, peak "
                                  f"{run.hwm_mb:.0f} MB; load {os.getloadavg()[0]:.1f}", flush=True)
        finally:
            display.close()
    rows = []
    for name in roots:
        for listening in (True, False):
            mine = [r for r in runs if r.root == name and r.listening == listening]
            if not mine:
                continue
            cpu = [r.cpu_pct for r in mine]
            rows.append([name, "on" if listening else "off", len(mine), f"{statistics.median(cpu):.2f}",
                         f"{min(cpu):.2f}-{max(cpu):.2f}", f"{statistics.median(r.icon_s for r in mine):.2f}",
                         f"{statistics.median(r.vad_s for r in mine):.2f}",
                         f"{statistics.median(r.rss_mb for r in mine):.0f}", f"{max(r.hwm_mb for r in mine):.0f}"])
    print(f"\nTray app with overlay on a -50 dBFS noise floor; CPU = CPU time per wall second over {seconds:g} s "
          "(% of one core); medians")
    print_table(["tree", "listening", "runs", "CPU %", "CPU range", "icon s", "VAD ready s", "RSS MB",
                 "peak RSS MB"], rows)
    print("\nPer thread, % of one core (median over runs)")
    thread_rows = []
    for name in roots:
        for listening in (True, False):
            mine = [r for r in runs if r.root == name and r.listening == listening]
            if not mine:
                continue
            names = {t for r in mine for t in r.threads}
            medians = {t: statistics.median(r.threads.get(t, 0.0) for r in mine) for t in names}
            busy = ", ".join(f"{t} {v:.2f}" for t, v in sorted(medians.items(), key=lambda i: -i[1]) if v >= 0.05)
            thread_rows.append([name, "on" if listening else "off", busy])
    print_table(["tree", "listening", "threads"], thread_rows)
    sizes = install_sizes()
    for label, packages in sizes.items():
        total = sum(v for v in packages.values() if v == v)
        big = ", ".join(f"{k} {v:.0f}" for k, v in sorted(packages.items(), key=lambda i: -i[1])[:6])
        print(f"\nInstalled size of `{label}` (this venv's packages): {total:.0f} MB ({big} ...)")
    print(json.dumps({"bench": "client_tray", "machine": machine_line(), "window_s": seconds,
                      "runs": [dataclasses.asdict(r) for r in runs],
                      "install_mb": {k: sum(v for v in p.values() if v == v) for k, p in sizes.items()}}))
    return 0
