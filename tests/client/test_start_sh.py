"""scripts/start.sh, the one Linux command: with an NVIDIA GPU (a fake nvidia-smi) it runs start_server.sh's vLLM
path, sized for that GPU (the engine is the fake behind vLLM's CLI); without one, the transformers backend on the
CPU, saying it will be slow. Either way it waits for the server, runs the client, and stops the server when the
client ends. The client here is the real one, headless on a WAV (`-- --no-tray ...`), so the run ends by itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dictation_devtools.servers import free_port
from tests.conftest import _unavailable
from tests.server.test_launcher import FAKE_NVIDIA_SMI

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("VIRTUAL_ENV", Path(sys.executable).parent.parent))


def run_start(tmp_path: Path, *args: str, gpu: bool, **extra_env: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if gpu:
        (bin_dir / "nvidia-smi").write_text(FAKE_NVIDIA_SMI)
        (bin_dir / "nvidia-smi").chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin", SERVER_VENV=str(VENV), CLIENT_VENV=str(VENV),
               SKIP_INSTALL="1", PYTHONPATH=str(REPO_ROOT), FAKE_ENGINE_RECORD=str(tmp_path / "engine.json"),
               ENGINE_CMD=f"{sys.executable} -m dictation_devtools.engine_serve", **extra_env)
    return subprocess.run(["bash", "scripts/start.sh", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=900)  # two cold starts of torch on a loaded CI machine


def closed(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    except httpx.HTTPError:
        return True
    return False


@pytest.mark.timeout(1200)  # two cold starts of torch and a CPU model: 290 s under load
def test_with_a_gpu_it_sizes_vllm_starts_both_and_stops_the_server_when_the_client_ends(
        tmp_path, speech, tiny_checkpoint):
    port, engine_port = free_port(), free_port()
    result = run_start(tmp_path, "--model", str(tiny_checkpoint), "--port", str(port), "--engine-port",
                       str(engine_port), "--",
                       "--no-tray", "--input-wav", str(speech.english.path), "--output", "stdout", "--fast",
                       gpu=True)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "NVIDIA GPU found (NVIDIA GeForce RTX 4070): the server runs vLLM" in out
    engine = json.loads((tmp_path / "engine.json").read_text())
    argv = engine["argv"]
    utilization = float(argv[argv.index("--gpu-memory-utilization") + 1])
    assert 0.1 < utilization < 0.9  # sized for a 12 GiB card with 11 GiB free, not vLLM's 0.9
    assert "--scheduling-policy" in argv
    assert "server ready; starting the tray app" in out and "stopping the server" in out
    assert closed(port) and closed(engine_port)
    assert subprocess.run(["kill", "-0", str(engine["pid"])], capture_output=True).returncode != 0


@pytest.mark.timeout(1200)  # two cold starts of torch and a CPU model: 290 s under load
def test_without_a_gpu_it_runs_the_transformers_backend_on_the_cpu_and_says_it_is_slow(
        tmp_path, speech, tiny_checkpoint):
    port = free_port()
    result = run_start(tmp_path, "--model", str(tiny_checkpoint), "--port", str(port), "--",
                       "--no-tray", "--input-wav", str(speech.english.path), "--output", "stdout", "--fast",
                       gpu=False)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert "no NVIDIA GPU found" in out and "transformers backend on the CPU" in out and "It will be slow" in out
    assert "--backend transformers --device cpu" in out
    assert "no final for" not in out  # the tray waits for a slow CPU final instead of replaying it (120 s)
    assert closed(port)


@pytest.mark.timeout(1200)  # two cold starts of torch and a CPU model: 290 s under load
def test_a_server_that_cannot_fetch_the_model_is_explained_and_the_client_still_starts(tmp_path, speech):
    """No network for the model (HF_HUB_OFFLINE stands in for a machine that cannot reach huggingface.co): the
    script says what it runs, the hint names that model, and the client starts anyway, not connected, with the
    way to point it at another server. The client is the headless one here so the run ends by itself."""
    port = free_port()
    result = run_start(tmp_path, "--port", str(port), "--",
                       "--no-tray", "--input-wav", str(speech.english.path), "--output", "stdout", "--fast",
                       "--unreachable-exit-s", "1", gpu=False, HF_HUB_OFFLINE="1")
    out = result.stdout + result.stderr
    assert "runs Qwen/Qwen3-ASR-0.6B with the transformers backend on the CPU" in out
    assert "the server exited before it was ready" in out
    assert "huggingface-cli download Qwen/Qwen3-ASR-0.6B" in out and "1.7B" not in out
    assert "from Windows" not in out and "connect the tray app to:" in out  # this is Linux, not WSL
    assert "starting the tray app anyway, not connected" in out
    assert "Settings... -> Server URL" in out and "--server ws://HOST:PORT" in out
    assert f"the server ws://127.0.0.1:{port} was unreachable" in out  # the client really ran, and said so
    assert result.returncode == 1
    assert closed(port)


def link_gi(venv: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", 'source scripts/_launch.sh && link_system_gi "$1"', "_", str(venv)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, env=dict(os.environ, **env))


def test_the_client_venv_gets_the_distributions_pygobject_and_nothing_else_of_the_system(tmp_path):
    """What start.sh does for the tray's menu (GTK/AppIndicator through PyGObject), on a fresh venv."""
    if subprocess.run(["/usr/bin/python3", "-c", "import gi"], capture_output=True).returncode != 0:
        _unavailable("python3-gi is missing: apt-get install python3-gi gir1.2-gtk-3.0")
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    result = link_gi(venv)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    probe = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import sys, gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk; "
                            "print(any(p.endswith('dist-packages') for p in sys.path))"],
                           capture_output=True, text=True, timeout=120)
    assert probe.stdout.strip() == "False", probe.stderr  # GTK loads, and the system's other packages stay out


def test_without_python3_gi_it_says_which_packages_give_the_tray_its_menu(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    result = link_gi(venv, SYSTEM_PYTHON=str(venv / "bin" / "python"))  # a Python without gi stands in
    assert result.returncode == 0  # a warning, not a failure: the tray still runs, without its menu
    assert "no menu" in result.stderr
    assert "sudo apt install python3-gi gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1" in result.stderr
