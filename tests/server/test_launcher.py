"""scripts/start_server.sh: checks the GPUs, sizes vLLM's memory, starts the engine with priority scheduling (and
data parallel for --gpus N), waits for its health, starts asr_server in front of it, and stops both together.

The engine is a fake `vllm` executable on PATH (`vllm --version`, `vllm serve ...`: the fake engine of
dictation_devtools.engine_serve behind vLLM's CLI) and the GPUs a fake nvidia-smi; everything else is the real
script and the real asr_server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from dictation_devtools.polling import wait_for
from dictation_devtools.servers import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]

FAKE_NVIDIA_SMI = """#!/bin/sh
case "$*" in
  *memory.total*) echo "12288, 11000"; echo "12288, 11000" ;;
  *name*) echo "NVIDIA GeForce RTX 4070"; echo "NVIDIA GeForce RTX 4070" ;;
esac
"""


def _env(tmp_path: Path, with_gpu: bool = True, **extra: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    smi = bin_dir / "nvidia-smi"
    if with_gpu:
        smi.write_text(FAKE_NVIDIA_SMI)
        smi.chmod(0o755)
    else:
        smi.unlink(missing_ok=True)
    vllm = bin_dir / "vllm"  # the venv below has no vLLM, so the launcher finds this one on PATH
    vllm.write_text(f"#!/bin/sh\nexec {sys.executable} -m dictation_devtools.engine_serve \"$@\"\n")
    vllm.chmod(0o755)
    venv = Path(os.environ.get("VIRTUAL_ENV", Path(sys.executable).parent.parent))
    env = dict(os.environ, PATH=f"{bin_dir}:/usr/bin:/bin", SERVER_VENV=str(venv), SKIP_INSTALL="1",
               PYTHONPATH=str(REPO_ROOT), FAKE_ENGINE_RECORD=str(tmp_path / "engine.json"),
               ENGINE_LOG=str(tmp_path / "engine.log"), **extra)
    for name in ("ENGINE_CMD", "ENGINE_ARGS", "NCCL_NVLS_ENABLE", "ALLOW_UNVERIFIED_VLLM"):
        if name not in extra:
            env.pop(name, None)
    return env


def _run(tmp_path: Path, *args: str, with_gpu: bool = True, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "scripts/start_server.sh", *args], cwd=REPO_ROOT,
                          env=_env(tmp_path, with_gpu, **extra), capture_output=True, text=True, timeout=120)


class _Launcher:
    """start_server.sh running in the background, its output in a file."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.port, self.engine_port = free_port(), free_port()
        self.record = tmp_path / "engine.json"
        self.log = tmp_path / "launcher.log"
        self.process = subprocess.Popen(
            ["bash", "scripts/start_server.sh", "--port", str(self.port), "--engine-port", str(self.engine_port),
             *args], cwd=REPO_ROOT, env=_env(tmp_path), stdout=self.log.open("wb"), stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def engine(self) -> dict:
        return json.loads(self.record.read_text())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        with_pid = self.record.exists() and self.engine()["pid"]
        if with_pid and _alive(with_pid):
            os.kill(with_pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _port_closed(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    except httpx.HTTPError:
        return True
    return False


@pytest.mark.timeout(900)  # two processes start on a CI machine that may be loaded
def test_starts_the_engine_on_n_gpus_then_the_server_and_ctrl_c_stops_both(tmp_path, tiny_checkpoint):
    launcher = _Launcher(tmp_path, "--model", str(tiny_checkpoint), "--max-sessions", "4", "--gpus", "2")
    try:
        assert wait_for(launcher.healthy, 600), launcher.output()
        argv = launcher.engine()["argv"]
        assert argv[0] == str(tiny_checkpoint), "vllm serve MODEL"
        assert " ".join(argv).count("--scheduling-policy priority") == 1
        assert "--data-parallel-size 2" in " ".join(argv) and "--enforce-eager" not in argv
        assert "--api-server-count" not in argv, "4 sessions: one front-end process is plenty"
        assert launcher.engine()["env"]["NCCL_NVLS_ENABLE"] == "0", "no NVLink multicast over the GPUs"
        assert argv[argv.index("--port") + 1] == str(launcher.engine_port)
        assert 0 < float(argv[argv.index("--gpu-memory-utilization") + 1]) < 1
        out = launcher.output()
        assert "NVIDIA GeForce RTX 4070 (using 2 of 2)" in out and "4 sessions of up to 4096 tokens" in out
        assert f"ws://127.0.0.1:{launcher.port}" in out and "engine ready (vLLM priority scheduling on)" in out
        assert "== vLLM 0.26.0 (verified: 0.26.x)" in out
        engine_pid = launcher.engine()["pid"]
        launcher.process.send_signal(signal.SIGINT)  # what Ctrl+C does to the script
        assert launcher.process.wait(30) == 130
        assert wait_for(lambda: not _alive(engine_pid), 60), "the engine was stopped too"
        assert _port_closed(launcher.port), "and so was asr_server"
    finally:
        launcher.stop()


@pytest.mark.timeout(900)
def test_when_the_engine_dies_the_server_is_stopped_and_the_script_fails(tmp_path, tiny_checkpoint):
    launcher = _Launcher(tmp_path, "--model", str(tiny_checkpoint))
    try:
        assert wait_for(launcher.healthy, 600), launcher.output()
        assert "--data-parallel-size" not in launcher.engine()["argv"], "one GPU: no data parallel"
        os.kill(launcher.engine()["pid"], signal.SIGKILL)
        assert launcher.process.wait(30) != 0
        assert "the engine exited" in launcher.output()
        assert wait_for(lambda: _port_closed(launcher.port), 60)
    finally:
        launcher.stop()


@pytest.mark.slow  # runs scripts/start_server.sh
def test_more_gpus_than_present_and_no_gpu_at_all_say_what_to_do(tmp_path):
    result = _run(tmp_path, "--model", "Qwen/Qwen3-ASR-1.7B", "--gpus", "3")
    assert result.returncode == 1 and "--gpus 3 but nvidia-smi shows 2 GPU(s)" in result.stderr
    result = _run(tmp_path, "--model", "Qwen/Qwen3-ASR-1.7B", with_gpu=False)
    assert result.returncode == 1
    assert "nvidia-smi not found" in result.stderr and "--backend transformers" in result.stderr
    assert not (tmp_path / "engine.json").exists(), "no engine was started"


def test_an_engine_url_starts_only_the_server(tmp_path, tiny_checkpoint):
    # No engine is started for an external URL; the server itself then refuses the bad URL.
    result = _run(tmp_path, "--model", str(tiny_checkpoint), "--engine-url", "no-scheme")
    assert result.returncode == 2 and "--engine-url" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "engine.json").exists()


@pytest.mark.slow  # builds a venv
@pytest.mark.skipif(not os.access("/mnt", os.W_OK), reason="needs a writable /mnt to stand in for a Windows drive")
def test_a_repository_under_mnt_gets_its_venv_in_the_linux_home(tmp_path):
    with tempfile.TemporaryDirectory(dir="/mnt") as drive:
        repo = Path(drive) / "repo"
        (repo / "scripts").mkdir(parents=True)
        for script in ("start_server.sh", "_launch.sh"):
            shutil.copy(REPO_ROOT / "scripts" / script, repo / "scripts")
        shutil.copy(REPO_ROOT / "pyproject.toml", repo)
        env = _env(tmp_path, HOME=str(tmp_path / "home"))
        del env["SERVER_VENV"]
        result = subprocess.run(["bash", "scripts/start_server.sh", "--backend", "transformers"], cwd=repo,
                                env=env, capture_output=True, text=True, timeout=120)
        venv = tmp_path / "home" / ".venvs" / "qwen-dictation-server"
        assert f"== venv: {venv}" in result.stdout
        assert (venv / "bin" / "python").exists() and not (repo / ".venv-server").exists()


def test_a_vllm_outside_the_verified_series_is_refused_with_the_fix(tmp_path, tiny_checkpoint):
    result = _run(tmp_path, "--model", str(tiny_checkpoint), FAKE_VLLM_VERSION="0.14.0")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "vLLM 0.14.0 is not the verified 0.26.x" in last and "pip install 'vllm==0.26.*'" in last
    assert not (tmp_path / "engine.json").exists(), "no engine was started"


def test_no_vllm_at_all_says_how_to_install_it(tmp_path, tiny_checkpoint):
    env_bin = tmp_path / "bin"
    _env(tmp_path)  # the fake bin dir, then without its vllm
    (env_bin / "vllm").unlink()
    env = _env(tmp_path)
    (env_bin / "vllm").unlink()
    result = subprocess.run(["bash", "scripts/start_server.sh", "--model", str(tiny_checkpoint)], cwd=REPO_ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "vllm not found" in result.stderr and ".[server]" in result.stderr


def test_engine_args_that_turn_priority_off_are_refused_before_the_engine_starts(tmp_path, tiny_checkpoint):
    result = _run(tmp_path, "--model", str(tiny_checkpoint), ENGINE_ARGS="--scheduling-policy fcfs")
    assert result.returncode == 1
    assert "--scheduling-policy fcfs" in result.stderr and "remove it from ENGINE_ARGS" in result.stderr
    assert not (tmp_path / "engine.json").exists()


def test_an_engine_whose_startup_log_shows_no_priority_policy_is_stopped(tmp_path, tiny_checkpoint):
    # An engine command that drops the flag (a wrapper, another server): the startup log is the proof.
    fcfs = tmp_path / "fcfs-engine"
    fcfs.write_text(f"#!/bin/sh\nexec {sys.executable} -m dictation_devtools.engine_serve \"$@\" "
                    "--scheduling-policy fcfs\n")
    fcfs.chmod(0o755)
    result = _run(tmp_path, "--model", str(tiny_checkpoint), "--port", str(free_port()),
                  "--engine-port", str(free_port()), ENGINE_CMD=str(fcfs))
    assert result.returncode == 1
    assert "does not show scheduling_policy 'priority'" in result.stderr
    assert wait_for(lambda: not _alive(json.loads((tmp_path / "engine.json").read_text())["pid"]), 15)


@pytest.mark.timeout(900)
def test_engine_only_starts_and_checks_the_engine_without_a_server(tmp_path, tiny_checkpoint):
    launcher = _Launcher(tmp_path, "--model", str(tiny_checkpoint), "--engine-only", "--max-sessions", "256",
                         "--gpu-memory-utilization", "0.5")
    try:
        assert wait_for(lambda: "engine only: start asr_server with --engine-url" in launcher.output()
                        or launcher.process.poll() is not None, 600)
        assert "engine only: start asr_server with --engine-url" in launcher.output(), launcher.output()
        argv = launcher.engine()["argv"]
        assert argv[argv.index("--api-server-count") + 1] == "4", "256 sessions: four front-end processes"
        assert f"--engine-url http://127.0.0.1:{launcher.engine_port}/v1" in launcher.output()
        assert _port_closed(launcher.port), "no asr_server"
        launcher.process.send_signal(signal.SIGINT)
        assert launcher.process.wait(30) == 130
    finally:
        launcher.stop()
