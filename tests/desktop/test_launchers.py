"""The Windows launchers cannot run here; check what can drift: the torch pin, the CPU index, what they call, and
that the README gives the same commands."""

from __future__ import annotations

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = REPO_ROOT / "scripts"


def read(name: str) -> str:
    return (SCRIPTS / name).read_text(encoding="utf-8")


def test_bat_runs_the_ps1_next_to_it_bypassing_the_policy_and_passes_every_argument():
    bat = read("start_client.bat")
    assert re.search(r'powershell\.exe -NoProfile -ExecutionPolicy Bypass -File "%~dp0start_client\.ps1" %\*', bat)
    assert "exit /b %status%" in bat  # the script's failure is the .bat's exit code


def test_client_launcher_installs_torch_only_for_the_torch_vad_pinned_like_ci_then_the_client():
    ps1 = read("start_client.ps1")
    ci_pin = re.search(r'"torch==([0-9.]+)"', read("test.sh")).group(1)
    assert re.search(r'\$TorchVersion = "([0-9.]+)"', ps1).group(1) == ci_pin
    assert '$TorchIndex = "https://download.pytorch.org/whl/cpu"' in ps1
    torch_step = ps1.index('"torch==$TorchVersion", "--index-url", $TorchIndex')
    client_step = ps1.index('"-e", ".[$extras]"')
    assert torch_step < client_step  # torch first, or pip would pick a build itself
    # The default (onnx) install has no torch: only --vad torch asks for the vad-torch extra, and torch with it.
    assert '$extras = if ($torchVad) { "client,vad-torch" } else { "client" }' in ps1
    assert ps1.rindex("if ($torchVad) {", 0, torch_step) > ps1.index("function Install-Client")
    assert "pythonw.exe" in ps1 and "-m\", \"tray_client\"" in ps1
    assert "[switch]$WithServer" in ps1 and 'Join-Path $PSScriptRoot "start_server_wsl.ps1"' in ps1


def test_wsl_launcher_runs_start_server_sh_through_bash_in_the_repo():
    ps1 = read("start_server_wsl.ps1")
    # wsl.exe translates the Windows path itself (--cd), and --exec passes the arguments without a shell between.
    assert '@("--cd", $RepoRoot, "--exec", "bash", "-l", "scripts/start_server.sh") + $serverArgs' in ps1
    assert "& wsl.exe @wslArgs" in ps1
    assert "bash -lc" not in ps1.split("#>")[1] and "wslpath" not in ps1.split("#>")[1]
    assert (SCRIPTS / "start_server.sh").is_file()


def test_readme_and_the_windows_guide_document_the_exact_launcher_commands():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.splitlines()[2].startswith("- **Set up and start the product**")
    assert "`scripts\\start_client.bat -WithServer`" in readme.splitlines()[2]
    guide = (REPO_ROOT / "docs" / "windows.md").read_text(encoding="utf-8")
    for command in ("scripts\\start_client.bat", "scripts\\start_client.bat -WithServer",
                    "-File scripts\\start_server_wsl.ps1", "https://download.pytorch.org/whl/cpu"):
        assert command in guide, command
