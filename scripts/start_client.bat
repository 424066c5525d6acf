@echo off
rem Set up and start the dictation tray app: runs start_client.ps1 next to this file, bypassing the
rem PowerShell execution policy for this one script (a downloaded .ps1 is blocked by default), and passes
rem every argument on, e.g.   scripts\start_client.bat -WithServer
setlocal
powershell.exe -NoProfile -ExecutionPolicy Bypass -File "%~dp0start_client.ps1" %*
set "status=%ERRORLEVEL%"
if not "%status%"=="0" (
  echo start_client failed with exit code %status%; the messages above say why.
  rem Keep a double-clicked window open long enough to read them.
  pause
)
exit /b %status%
