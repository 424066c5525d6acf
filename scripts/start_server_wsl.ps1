<#
.SYNOPSIS
    Start the ASR server inside WSL2 from Windows: scripts/start_server.sh in this repository, seen from Linux.

.DESCRIPTION
    Runs   wsl.exe [-d DISTRO] -- bash -lc "cd '/mnt/c/.../repo' && bash scripts/start_server.sh ARGS"
    The repository path is translated by `wslpath` inside the distribution (so \\wsl$\... paths work too), with a
    plain C:\ -> /mnt/c/ rewrite as the fallback. start_server.sh creates its own venv, checks the GPU and prints
    the URL to use; WSL2 forwards localhost, so the tray's default ws://127.0.0.1:8765 reaches it.
    The server runs in this window until you close it or press Ctrl+C.

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

$RepoRoot = Split-Path -Parent $PSScriptRoot
$distroArgs = @()
if ($Distro) { $distroArgs = @("-d", $Distro) }

if (-not (Get-Command wsl.exe -ErrorAction SilentlyContinue)) {
    throw ("wsl.exe was not found: install WSL2 with 'wsl --install -d Ubuntu' (then reboot), and the NVIDIA " +
           "Windows driver, which brings GPU support into WSL.")
}

function ConvertTo-BashWord {
    # One argument as a single-quoted bash word: safe for spaces, $, quotes and the like.
    param([string]$Text)
    return "'" + ($Text -replace "'", "'\''") + "'"
}

function Get-WslPath {
    param([string]$WindowsPath)
    $translated = & wsl.exe @distroArgs -- wslpath -a ($WindowsPath -replace "\\", "/") 2>$null
    if ($LASTEXITCODE -eq 0 -and $translated) { return ("$translated").Trim() }
    # Fallback for a drive path: C:\Users\me\repo -> /mnt/c/Users/me/repo
    if ($WindowsPath -match "^([A-Za-z]):\\(.*)$") {
        return "/mnt/" + $Matches[1].ToLower() + "/" + ($Matches[2] -replace "\\", "/")
    }
    throw "cannot translate $WindowsPath to a WSL path; clone the repository on a drive (C:\...) or inside WSL"
}

$repoInWsl = Get-WslPath $RepoRoot
$words = @()
if ($ServerArgs) {
    # The one-string form is split on spaces only (no quoting inside it): use the plain arguments for anything else.
    $words += @($ServerArgs -split "\s+" | Where-Object { $_ -ne "" } | ForEach-Object { ConvertTo-BashWord $_ })
}
$words += @($Rest | ForEach-Object { ConvertTo-BashWord $_ })
# `bash scripts/...` rather than `./scripts/...`: a checkout made on Windows may have lost the executable bit.
$command = "cd $(ConvertTo-BashWord $repoInWsl) && bash scripts/start_server.sh $($words -join ' ')"

Write-Host "== wsl.exe $($distroArgs -join ' ') -- bash -lc `"$command`""
& wsl.exe @distroArgs -- bash -lc $command
exit $LASTEXITCODE
