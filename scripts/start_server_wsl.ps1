<#
.SYNOPSIS
    Start the ASR server inside WSL2 from Windows: scripts/start_server.sh in this repository, seen from Linux.

.DESCRIPTION
    Runs   wsl.exe [-d DISTRO] --cd <this repository> --exec bash -l scripts/start_server.sh ARGS
    --cd takes the Windows path as it is (wsl.exe translates it itself), so nothing here reads `wslpath` output:
    that output is UTF-8 and Windows PowerShell 5.1 decodes native output with the OEM code page, which garbled a
    non-ASCII user name (C:\Users\Zoe-with-an-accent\...) into a path that does not exist. --exec runs bash without a shell in
    between, so the arguments reach start_server.sh exactly as given (no second round of expansion of $, quotes
    or globs). `bash -l`: a login shell, so ~/.profile puts the user's tools (and CUDA) on PATH.
    start_server.sh creates its own venv, checks the GPU and prints the URL to use; WSL2 forwards localhost, so the
    tray's default ws://127.0.0.1:8765 reaches it. The server runs in this window until you close it or press
    Ctrl+C; when it fails, the reason stays on screen (the tray and start_client.ps1 open this window -NoExit).

.EXAMPLE
    powershell -NoProfile -ExecutionPolicy Bypass -File scripts\start_server_wsl.ps1
.EXAMPLE
    powershell -NoProfile -ExecutionPolicy Bypass -File scripts\start_server_wsl.ps1 -Distro Ubuntu-24.04 --model Qwen/Qwen3-ASR-0.6B
#>
[CmdletBinding(PositionalBinding = $false)]
param(
    # The WSL distribution to use (default: WSL's default distribution).
    [string]$Distro = "",
    # Arguments for start_server.sh as one string (what start_client.ps1 -ServerArgs passes on).
    [string]$ServerArgs = "",
    # Any other arguments also go to start_server.sh, e.g. --model Qwen/Qwen3-ASR-0.6B --port 8765.
    [Parameter(ValueFromRemainingArguments = $true)]
    [string[]]$Rest = @()
)

$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest
# The server's output is UTF-8 (Linux): show it as such in this console, whatever the OEM code page is.
[Console]::OutputEncoding = [System.Text.Encoding]::UTF8

$RepoRoot = Split-Path -Parent $PSScriptRoot
$distroArgs = @()
if ($Distro) { $distroArgs = @("-d", $Distro) }

if (-not (Get-Command wsl.exe -ErrorAction SilentlyContinue)) {
    throw ("wsl.exe was not found: install WSL2 with 'wsl --install -d Ubuntu' (then reboot), and the NVIDIA " +
           "Windows driver, which brings GPU support into WSL.")
}

$serverArgs = @()
if ($ServerArgs) {
    # The one-string form is split on spaces only (no quoting inside it): use the plain arguments for anything else.
    $serverArgs += @($ServerArgs -split "\s+" | Where-Object { $_ -ne "" })
}
$serverArgs += @($Rest)
# `bash scripts/...` rather than `./scripts/...`: a checkout made on Windows may have lost the executable bit.
$wslArgs = @($distroArgs) + @("--cd", $RepoRoot, "--exec", "bash", "-l", "scripts/start_server.sh") + $serverArgs

Write-Host "== wsl.exe $($wslArgs -join ' ')"
& wsl.exe @wslArgs
$status = $LASTEXITCODE
if ($status -ne 0) {
    Write-Host ""
    Write-Host "== the server stopped with exit code $status; the messages above say why." -ForegroundColor Red
}
exit $status
