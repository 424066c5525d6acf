<#
.SYNOPSIS
    Set up (first run) and start the dictation tray app on Windows.

.DESCRIPTION
    1. Creates .venv in the repository with a 64-bit (x64) Python that the desktop wheels exist for: 3.12, 3.13,
       3.11 or 3.10, in that order, through the "py" launcher, else "python" on PATH. Not simply the newest: with
       3.14, `py -3` took it and pip then tried to build PyAudio from source and failed. 32-bit and ARM64
       Pythons are refused with a one-line reason (no PyAudio / onnxruntime wheels for them).
    2. Installs the client (pip install -e ".[client]"): Silero VAD runs on onnxruntime, no torch. Only when
       started with --vad torch does it first install the CPU build of torch from the PyTorch index and then
       ".[client,vad-torch]" (about 750 MB more; the CPU build on purpose: a CUDA build would be several GB).
       It is done again only when pyproject.toml, the torch pin or the runtime changes (a stamp file in .venv).
    3. With -WithServer, starts the ASR server inside WSL2 in its own window (start_server_wsl.ps1) and waits
       for its /healthz, so the tray does not greet you with "cannot reach the server".
    4. Starts the tray app with pythonw.exe (no console window); its log is in %LOCALAPPDATA%.

    Every argument this script does not know goes to `python -m tray_client`, e.g.
        scripts\start_client.bat -WithServer --hotkey-toggle "<ctrl>+<alt>+d"

.EXAMPLE
    scripts\start_client.bat
.EXAMPLE
    scripts\start_client.bat -WithServer
.EXAMPLE
    powershell -NoProfile -ExecutionPolicy Bypass -File scripts\start_client.ps1 -Console --log-level DEBUG
#>
[CmdletBinding(PositionalBinding = $false)]
param(
    # Start scripts\start_server_wsl.ps1 first (WSL2 with the NVIDIA driver).
    [switch]$WithServer,
    # Arguments for scripts/start_server.sh (inside WSL), as one string, e.g. "--model Qwen/Qwen3-ASR-0.6B".
    [string]$ServerArgs = "",
    # How long to wait for the server's /healthz before starting the tray anyway (it reconnects on its own).
    [int]$ServerWaitSeconds = 300,
    # Run in this console with python.exe and show the log here, instead of detached with pythonw.exe.
    [switch]$Console,
    # Reinstall the client even when the stamp says it is up to date.
    [switch]$Reinstall,
    # Everything else is passed to `python -m tray_client`.
    [Parameter(ValueFromRemainingArguments = $true)]
    [string[]]$ClientArgs = @()
)

$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest
[Console]::OutputEncoding = [System.Text.Encoding]::UTF8  # pip and Python print UTF-8 (paths with a non-ASCII name)

# Keep in step with scripts/test.sh (the Linux CI pin); tests/desktop/test_launchers.py checks they match.
$TorchVersion = "2.13.0"
$TorchIndex = "https://download.pytorch.org/whl/cpu"
$DefaultServer = "ws://127.0.0.1:8765"

$RepoRoot = Split-Path -Parent $PSScriptRoot
$Venv = Join-Path $RepoRoot ".venv"
$VenvPython = Join-Path $Venv "Scripts\python.exe"
$VenvPythonW = Join-Path $Venv "Scripts\pythonw.exe"

$SupportedPythons = @("3.12", "3.13", "3.11", "3.10")
# Prints "<major.minor> <pointer bits> <machine> <tk>", e.g. "3.12 64 AMD64 tk" ("no-tk": no tkinter, so no
# Settings window and no live preview; a python.org install with "tcl/tk and IDLE" unticked, or the embeddable one).
$PythonProbe = "import importlib.util, platform, struct, sys; print('%d.%d' % sys.version_info[:2], struct.calcsize('P') * 8, platform.machine(), 'tk' if importlib.util.find_spec('_tkinter') else 'no-tk')"
$NoTkReason = "has no tkinter, so the Settings window and the live preview cannot open"
$NoTkFix = "Fix: run that Python's installer again (Settings > Apps > Python > Modify), tick 'tcl/tk and IDLE', then run this script again"

function Invoke-Native {
    # Run a native program and return its stdout lines and exit code, with its stderr discarded.
    # Windows PowerShell 5.1 turns every stderr line of a redirected native command into an error record, and with
    # $ErrorActionPreference = "Stop" the first one (a warning from py, or the Store's python stub) ends the whole
    # script, so a fallback never ran. Locally "Continue" keeps those lines harmless.
    param([string]$Exe, [string[]]$Arguments)
    $previous = $ErrorActionPreference
    $ErrorActionPreference = "Continue"
    try {
        $output = @(& $Exe @Arguments 2>$null)
        return @{ Code = $LASTEXITCODE; Output = $output }
    } catch {
        return @{ Code = -1; Output = @() }
    } finally {
        $ErrorActionPreference = $previous
    }
}

function Test-PythonCandidate {
    # $null when this Python will do; else a one-line reason why not.
    param([string]$Exe, [string[]]$PyArgs)
    $probe = Invoke-Native $Exe ($PyArgs + @("-c", $PythonProbe))
    if ($probe.Code -ne 0 -or -not $probe.Output) { return "not installed" }
    $version, $bits, $machine, $tk = ("$($probe.Output[-1])".Trim() -split "\s+")
    if ($SupportedPythons -notcontains $version) { return "Python ${version}: the client needs 3.10 to 3.13" }
    if ($bits -ne "64") { return "Python $version is 32-bit: install the 64-bit (x64) Python $version" }
    if ($machine -ne "AMD64") {
        return "Python $version is ${machine}: PyAudio and onnxruntime have no $machine wheels; install the x64 Python (it runs emulated on ARM)"
    }
    if ($tk -ne "tk") { return "Python $version $NoTkReason" }
    return $null
}

function Find-Python {
    # A Python with tkinter first; one without is taken only when there is no other, with a warning that says
    # how to add it (dictation works without Tk, Settings and the live preview do not).
    $reasons = @()
    $withoutTk = $null
    if (Get-Command py -ErrorAction SilentlyContinue) {
        foreach ($version in $SupportedPythons) {
            # Exactly this version; the launcher prefers the native (x64) build, and the probe checks what it got.
            $pyArgs = @("-$version")
            $reason = Test-PythonCandidate "py" $pyArgs
            if (-not $reason) { return @{ Exe = "py"; Args = $pyArgs } }
            if ($reason -like "*$NoTkReason" -and -not $withoutTk) { $withoutTk = @{ Exe = "py"; Args = $pyArgs } }
            if ($reason -ne "not installed") { $reasons += "py ${pyArgs}: $reason" }
        }
    }
    $python = Get-Command python -ErrorAction SilentlyContinue
    if ($python -and $python.Source -like "*\WindowsApps\*") {
        $reasons += "python on PATH is the Microsoft Store stub"
    } elseif ($python) {
        $reason = Test-PythonCandidate "python" @()
        if (-not $reason) { return @{ Exe = "python"; Args = @() } }
        if ($reason -like "*$NoTkReason" -and -not $withoutTk) { $withoutTk = @{ Exe = "python"; Args = @() } }
        $reasons += "python on PATH: $reason"
    }
    if ($withoutTk) {
        Write-Warning "$($withoutTk.Exe) $($withoutTk.Args -join ' ') $NoTkReason. $NoTkFix."
        return $withoutTk
    }
    $why = if ($reasons) { " (" + ($reasons -join "; ") + ")" } else { "" }
    throw ("No 64-bit Python 3.10 to 3.13 was found$why. Install Python 3.12 (64-bit) from " +
           "https://www.python.org/downloads/windows/ (tick 'Add python.exe to PATH'), then run this again.")
}

function ConvertTo-ArgumentString {
    # Start-Process joins -ArgumentList with spaces and quotes nothing (Windows PowerShell 5.1): quote here by
    # the rules of CommandLineToArgvW, so a path with spaces or "<ctrl>+<alt>+d" arrives as one argument.
    param([string[]]$Arguments)
    $quoted = foreach ($argument in $Arguments) {
        if ($argument -ne "" -and $argument -notmatch '[\s"]') { $argument; continue }
        '"' + ($argument -replace '(\\*)"', '$1$1\"' -replace '(\\+)$', '$1$1') + '"'
    }
    return ($quoted -join " ")
}

function Invoke-Checked {
    # Output goes straight to the console (pip's progress bars included); only the exit code decides.
    param([string]$What, [string]$Exe, [string[]]$Arguments)
    $previous = $ErrorActionPreference
    $ErrorActionPreference = "Continue"  # a warning on stderr is not a failure (see Invoke-Native)
    try { & $Exe @Arguments } finally { $ErrorActionPreference = $previous }
    if ($LASTEXITCODE -ne 0) { throw "$What failed (exit code $LASTEXITCODE): $Exe $($Arguments -join ' ')" }
}

function Test-TorchVad {
    # Whether the tray is started with --vad torch ("--vad torch" or "--vad=torch"): only then is torch installed.
    for ($i = 0; $i -lt $ClientArgs.Count; $i++) {
        if ($ClientArgs[$i] -eq "--vad" -and $i + 1 -lt $ClientArgs.Count -and $ClientArgs[$i + 1] -eq "torch") { return $true }
        if ($ClientArgs[$i] -eq "--vad=torch") { return $true }
    }
    return $false
}

function Install-Client {
    if (-not (Test-Path $VenvPython)) {
        $python = Find-Python
        Write-Host "== creating $Venv with $($python.Exe) $($python.Args -join ' ')"
        Invoke-Checked "creating the venv" $python.Exe ($python.Args + @("-m", "venv", $Venv))
    }
    $hash = (Get-FileHash (Join-Path $RepoRoot "pyproject.toml") -Algorithm SHA1).Hash.Substring(0, 12)
    $torchVad = Test-TorchVad
    $extras = if ($torchVad) { "client,vad-torch" } else { "client" }
    $runtime = if ($torchVad) { "torch$TorchVersion" } else { "onnx" }
    $stamp = Join-Path $Venv ".installed-client-$hash-$runtime"
    if ((Test-Path $stamp) -and -not $Reinstall) { return }
    # No -q: minutes behind a silent pip look like a hang.
    if ($torchVad) {
        Write-Host "== installing the tray client with the torch VAD into $Venv (the first time downloads about 300 MB)"
    } else {
        Write-Host "== installing the tray client into $Venv (about 100 MB; Silero VAD on onnxruntime, no torch)"
    }
    Write-Host "== [1/3] pip"
    Invoke-Checked "upgrading pip" $VenvPython @("-m", "pip", "install", "--upgrade", "pip")
    if ($torchVad) {
        # torch first, from the CPU index: .[vad-torch] then finds it installed and does not pull another build.
        Write-Host "== [2/3] torch $TorchVersion (CPU build, for --vad torch; the default onnx VAD needs none)"
        Invoke-Checked "installing torch (CPU)" $VenvPython @(
            "-m", "pip", "install", "torch==$TorchVersion", "--index-url", $TorchIndex)
    } else {
        Write-Host "== [2/3] no torch: the default VAD runs on onnxruntime (start with --vad torch to add it)"
    }
    Push-Location $RepoRoot
    try {
        # Editable, so the tray finds assets\ (icons, sounds) in this folder.
        Write-Host "== [3/3] the client and its dependencies"
        Invoke-Checked "installing the client" $VenvPython @("-m", "pip", "install", "-e", ".[$extras]")
    } finally {
        Pop-Location
    }
    Get-ChildItem $Venv -Filter ".installed-client-*" | Remove-Item -Force
    New-Item -ItemType File -Path $stamp | Out-Null
}

function Get-ServerUrl {
    # The tray's --server argument if one was given (either "--server URL" or "--server=URL").
    for ($i = 0; $i -lt $ClientArgs.Count; $i++) {
        if ($ClientArgs[$i] -eq "--server" -and $i + 1 -lt $ClientArgs.Count) { return $ClientArgs[$i + 1] }
        if ($ClientArgs[$i] -like "--server=*") { return $ClientArgs[$i].Substring(9) }
    }
    return $DefaultServer
}

function Start-WslServer {
    $script = Join-Path $PSScriptRoot "start_server_wsl.ps1"
    $arguments = @("-NoProfile", "-ExecutionPolicy", "Bypass", "-NoExit", "-File", $script)
    if ($ServerArgs) { $arguments += @("-ServerArgs", $ServerArgs) }
    Write-Host "== starting the ASR server in WSL2 in its own window"
    Start-Process powershell.exe -ArgumentList (ConvertTo-ArgumentString $arguments) | Out-Null

    $health = (Get-ServerUrl) -replace "^ws", "http" -replace "/+$", ""
    $health = "$health/healthz"
    Write-Host "== waiting up to $ServerWaitSeconds s for $health (the first start downloads the model)"
    $deadline = (Get-Date).AddSeconds($ServerWaitSeconds)
    while ((Get-Date) -lt $deadline) {
        try {
            $reply = Invoke-WebRequest -Uri $health -UseBasicParsing -TimeoutSec 3
            if ($reply.StatusCode -eq 200) { Write-Host "== the server is up"; return }
        } catch {
            # not up yet (connection refused, or 503 while the model loads)
        }
        Start-Sleep -Seconds 2
    }
    Write-Warning "the server did not answer $health yet; starting the tray anyway (it keeps retrying)"
}

function Test-VenvTk {
    # Also for a venv made earlier: say once per start, in this console, that Settings will not open, and the fix.
    $check = Invoke-Native $VenvPython @("-c", "import tkinter")
    if ($check.Code -ne 0) { Write-Warning "the Python of $Venv $NoTkReason. $NoTkFix." }
}

Install-Client
Test-VenvTk
if ($WithServer) { Start-WslServer }

$trayArgs = @("-m", "tray_client") + $ClientArgs
if ($Console) {
    Write-Host "== starting the tray app in this window (Ctrl+C or the tray's Quit ends it)"
    Push-Location $RepoRoot
    try { & $VenvPython @trayArgs; exit $LASTEXITCODE } finally { Pop-Location }
}
Write-Host "== starting the tray app; look for the microphone icon in the notification area"
Start-Process -FilePath $VenvPythonW -ArgumentList (ConvertTo-ArgumentString $trayArgs) `
    -WorkingDirectory $RepoRoot | Out-Null
