#!/usr/bin/env bash
# Set up (once) and run the whole test suite: creates .venv when missing, installs the project with what the
# tests need (the local CPU build of torch, qwen-asr without vLLM), then runs ruff and pytest.
# Needs the Debian packages that .ci/run installs (portaudio19-dev xvfb trayer xdotool x11-utils espeak-ng sox
# xclip python3-tk python3-gi gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1 dbus); desktop tests skip on a
# developer machine without them, and fail on CI.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"

stamp="$VENV/.installed-$(cat pyproject.toml devtools/pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "== installing the project and test dependencies into $VENV"
  "$PY" -m pip install -q --upgrade pip
  # torch first, pinned to the CPU build on local disk; any other spec would pull a multi-GB CUDA build.
  "$PY" -m pip install -q "torch==2.13.0"
  # client + its torch VAD (tests run both runtimes) + server-cpu (qwen-asr without vLLM: vLLM needs a GPU) + dev.
  "$PY" -m pip install -q -e ".[client,vad-torch,server-cpu,dev]"
  # The stand-ins and fakes the tests and scripts use: a distribution of their own, never in the product wheel.
  "$PY" -m pip install -q -e ./devtools
  touch "$stamp"
fi
# The tray's GTK backend (its menu) is tested too: the distribution's PyGObject, linked as start.sh does.
# shellcheck source=scripts/_launch.sh
source scripts/_launch.sh
link_system_gi "$VENV"

echo "== ruff"
"$PY" -m ruff check .

echo "== pytest"
set +e
"$PY" -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$status"
