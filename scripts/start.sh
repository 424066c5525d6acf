#!/usr/bin/env bash
# One command on Linux/X11: set up both venvs, start the server, then the tray app; stop both on exit.
#
#   bash scripts/start.sh [server flags...] [-- tray_client flags...]
#
# - the server: with an NVIDIA GPU (nvidia-smi lists one), scripts/start_server.sh as it is (vLLM engine sized
#   for the GPU, then asr_server); without one, the transformers backend on the CPU with Qwen/Qwen3-ASR-0.6B (it
#   says so: a sentence takes seconds there). --model, --port and any asr_server/start_server.sh flag pass on.
# - the tray: `python -m tray_client --server ws://127.0.0.1:PORT [tray flags]` from the client venv, once the
#   server's /healthz answers (the first start downloads the model). The client venv gets the distribution's
#   PyGObject linked in (apt: python3-gi gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1), which gives the tray
#   icon its menu and tooltip; without those packages it says how to install them.
# - Ctrl+C, Quit in the tray, or either one dying stops the other; the script exits non-zero if one failed.
# - a server that fails to start (no model download, a broken install): the error is shown, and the tray app
#   starts anyway, not connected, so it can be pointed at another server (Settings... -> Server URL); exit status 1.
#
# Env: CLIENT_VENV (default .venv-client), SERVER_VENV (default: start_server.sh's), PYTHON (default python3),
# SKIP_INSTALL=1 (no pip), SERVER_WAIT_SECONDS (default 1800), FORCE_CPU=1 (ignore the GPU).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/_launch.sh
source scripts/_launch.sh
PYTHON=${PYTHON:-python3}
CLIENT_VENV=${CLIENT_VENV:-.venv-client}
server_args=()
tray_args=()
while [[ $# -gt 0 ]]; do
  if [[ "$1" == "--" ]]; then shift; tray_args=("$@"); break; fi
  server_args+=("$1"); shift
done

arg_value() { flag_value "$1" "$2" "${server_args[@]}"; }  # the value of server flag $1 given here, or $2
port=$(arg_value --port 8765)
if [[ "$port" == 0 ]]; then
  echo "error: --port 0 cannot be used here: the tray must know the port; give a free port" >&2
  exit 2
fi

install_venv() {  # install_venv VENV EXTRAS: create it, the CPU build of torch first if EXTRAS need it, the project
  local venv=$1 extras=$2
  if [[ ! -x "$venv/bin/python" ]]; then
    echo "== creating $venv"
    mkdir -p "$(dirname "$venv")"
    "$PYTHON" -m venv "$venv"
  fi
  local stamp="$venv/.installed-$extras-$(sha1sum pyproject.toml | cut -c1-12)"
  if [[ "${SKIP_INSTALL:-0}" != 1 && ! -f "$stamp" ]]; then
    echo "== installing .[$extras] into $venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    # The CPU build of torch first: a plain `pip install torch` pulls a multi-GB CUDA build. The client needs no
    # torch (Silero runs on onnxruntime) unless it is started with --vad torch (the vad-torch extra).
    if [[ "$extras" != client ]]; then
      "$venv/bin/python" -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
    fi
    "$venv/bin/python" -m pip install -q -e ".[$extras]"
    touch "$stamp"
  fi
}

# --- which server --------------------------------------------------------------------------------------------
gpu=""
if [[ "${FORCE_CPU:-0}" != 1 ]] && command -v nvidia-smi >/dev/null 2>&1; then
  gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n1 || true)
fi
server_env=()
if [[ -n "$gpu" ]]; then
  echo "== NVIDIA GPU found ($gpu): the server runs vLLM (scripts/start_server.sh sizes its memory)"
  server=(bash scripts/start_server.sh "${server_args[@]}")
else
  server_venv=${SERVER_VENV:-$(default_server_venv)}
  model=$(arg_value --model "")
  extra=()
  if [[ -z "$model" ]]; then
    model="Qwen/Qwen3-ASR-0.6B"
    extra+=(--model "$model")
  fi
  echo "== no NVIDIA GPU found (nvidia-smi lists none): the server runs $model with the transformers backend" \
    "on the CPU. It will be slow: expect seconds per sentence, not the ~0.1 s of a GPU."
  # A final on the CPU takes seconds, and longer on a busy machine: the tray's 10 s wait for a final (then a
  # replay, then giving up) lost words the server was still decoding. Give it 120 s unless the user chose.
  if [[ " ${tray_args[*]} " != *" --final-timeout-s"* ]]; then tray_args=(--final-timeout-s 120 "${tray_args[@]}"); fi
  install_venv "$server_venv" server-cpu
  server_env=(SKIP_INSTALL=1 "SERVER_VENV=$server_venv")
  server=(bash scripts/start_server.sh --backend transformers --device cpu "${extra[@]}" "${server_args[@]}")
fi
client_extras=client
if [[ " ${tray_args[*]:-} " == *" --vad torch "* || " ${tray_args[*]:-} " == *" --vad=torch "* ]]; then
  client_extras=client,vad-torch
  echo "== --vad torch: the client venv also gets torch (CPU build, about 750 MB); the default onnx needs none"
fi
install_venv "$CLIENT_VENV" "$client_extras"
if [[ "${SKIP_INSTALL:-0}" != 1 ]]; then link_system_gi "$CLIENT_VENV"; fi  # the tray's menu (GTK/AppIndicator)

# --- start both, stop both -----------------------------------------------------------------------------------
echo "== server: ${server[*]}"
pair_start_back env "${server_env[@]}" "${server[@]}"
server_pid=$back_pid
trap 'echo "== stopping"; pair_stop; exit 130' INT TERM
if ! pair_wait_healthy "$CLIENT_VENV/bin/python" "http://127.0.0.1:$port/healthz" "${SERVER_WAIT_SECONDS:-1800}" \
    server; then
  # Without a server the tray still starts: it shows "server unreachable" and a newcomer can point it at a
  # server on another machine instead of being left with nothing on screen.
  echo "== the local server did not start; starting the tray app anyway, not connected (ws://127.0.0.1:$port)."
  echo "   To use a server on another machine: in the tray menu, Settings... -> Server URL (ws://HOST:PORT), or run"
  echo "   $CLIENT_VENV/bin/python -m tray_client --server ws://HOST:PORT"
  set +e
  "$CLIENT_VENV/bin/python" -m tray_client --server "ws://127.0.0.1:$port" "${tray_args[@]}"
  echo "== the tray app ended (status $?); the local server had failed to start (see above)" >&2
  exit 1
fi
echo "== server ready; starting the tray app"

"$CLIENT_VENV/bin/python" -m tray_client --server "ws://127.0.0.1:$port" "${tray_args[@]}" &
front_pid=$!
set +e
wait -n "$server_pid" "$front_pid"
status=$?
set -e
if kill -0 "$server_pid" 2>/dev/null; then
  echo "== the tray app ended (status $status); stopping the server"
  pair_stop
  exit "$status"
fi
echo "error: the server exited (status $status); stopping the tray app" >&2
pair_stop
exit $((status == 0 ? 1 : status))
