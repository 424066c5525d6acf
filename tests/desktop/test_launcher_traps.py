"""PowerShell cannot run here (WINDOWS.md), so the launchers' known traps are checked by reading the scripts.

Each check names a bug a user met: the newest Python taken (3.14, no PyAudio wheel), 32-bit/ARM64 Pythons, a
silent first install, PowerShell 5.1 ending the script on a redirected stderr line, a non-ASCII user name
through wslpath, and a second round of shell expansion through `bash -lc`."""

from __future__ import annotations

import re
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def code(name: str) -> str:
    """The script without its comment-based help block and without # comments."""
    text = (SCRIPTS / name).read_text(encoding="utf-8")
    text = re.sub(r"<#.*?#>", "", text, flags=re.S)
    return "\n".join(line.split(" #", 1)[0] for line in text.splitlines() if not line.lstrip().startswith("#"))


def function_body(text: str, name: str) -> str:
    start = text.index(f"function {name} {{")
    depth = 0
    for end in range(text.index("{", start), len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            return text[start:end + 1]
    raise AssertionError(f"function {name} is not closed")


def test_the_client_launcher_picks_a_supported_64_bit_python_not_the_newest():
    ps1 = code("start_client.ps1")
    assert '$SupportedPythons = @("3.12", "3.13", "3.11", "3.10")' in ps1
    assert not re.search(r'"-3"', ps1)  # `py -3` takes the newest Python, 3.14 included
    probe = function_body(ps1, "Test-PythonCandidate")
    assert "struct.calcsize('P') * 8" in ps1 and "platform.machine()" in ps1
    assert '$bits -ne "64"' in probe and '$machine -ne "AMD64"' in probe
    assert "WindowsApps" in function_body(ps1, "Find-Python")  # the Store's python stub is never run


def test_reasons_are_one_line_and_powershell_parses_their_variables():
    ps1 = code("start_client.ps1")
    # "$version: text" is a scope-qualified variable reference in PowerShell (a parse error), not "$version" + ":".
    assert not re.search(r'"[^"]*\$[A-Za-z]+:\s[^"]*"', ps1)
    for reason in re.findall(r'return "([^"]*)"', function_body(ps1, "Test-PythonCandidate")):
        assert "\n" not in reason


def test_stderr_redirection_happens_only_where_errors_are_not_fatal():
    for name in ("start_client.ps1", "start_server_wsl.ps1"):
        ps1 = code(name)
        for match in re.finditer(r"2>\s*\$null|2>&1", ps1):
            enclosing = [body for body in re.findall(r"function [\w-]+ \{", ps1)
                         if ps1.index(body) < match.start()]
            assert enclosing, f"{name}: stderr redirected outside a function"
            body = function_body(ps1, enclosing[-1].split()[1])
            assert '$ErrorActionPreference = "Continue"' in body, f"{name}: {enclosing[-1]} redirects under Stop"


def test_the_first_install_shows_progress():
    ps1 = code("start_client.ps1")
    installs = re.findall(r'Invoke-Checked "[^"]+" \$VenvPython @\(\s*"-m", "pip", "install"[^)]*\)', ps1)
    assert len(installs) == 3
    assert all('"-q"' not in install for install in installs)


def test_the_scripts_are_ascii():
    # Windows PowerShell 5.1 reads a .ps1 without a BOM in the ANSI code page: any other byte would be misread.
    for path in [*SCRIPTS.glob("*.ps1"), *SCRIPTS.glob("*.bat")]:
        assert path.read_bytes().isascii(), path.name


def test_the_wsl_launcher_needs_no_wslpath_and_no_second_shell():
    ps1 = code("start_server_wsl.ps1")
    assert "wslpath" not in ps1 and "bash -lc" not in ps1
    assert '"--cd", $RepoRoot, "--exec", "bash", "-l", "scripts/start_server.sh"' in ps1
    assert "[Console]::OutputEncoding = [System.Text.Encoding]::UTF8" in ps1
    assert "exit $status" in ps1 and "the server stopped with exit code" in ps1


def test_every_window_that_runs_the_server_stays_open():
    assert '"-NoExit", "-File", $script' in code("start_client.ps1")
    from tray_client.ui.tray._desktop import wsl_server_command

    assert "-NoExit" in wsl_server_command(SCRIPTS / "start_server_wsl.ps1")


def test_the_client_launcher_checks_for_tkinter_and_says_how_to_add_it():
    """A Python without Tcl/Tk ("tcl/tk and IDLE" unticked) gave a tray whose Settings silently never opened."""
    ps1 = code("start_client.ps1")
    assert "find_spec('_tkinter')" in ps1  # the probe reports tk / no-tk without loading Tcl
    probe = function_body(ps1, "Test-PythonCandidate")
    assert '$tk -ne "tk"' in probe and "$NoTkReason" in probe
    find = function_body(ps1, "Find-Python")
    assert "$withoutTk" in find and "Write-Warning" in find and "$NoTkFix" in find  # preferred last, with the fix
    assert "tcl/tk and IDLE" in ps1 and "Modify" in ps1
    venv = function_body(ps1, "Test-VenvTk")
    assert '"import tkinter"' in venv and "$NoTkFix" in venv
    assert re.search(r"^Install-Client\nTest-VenvTk$", ps1, flags=re.M)  # an existing venv is checked too
