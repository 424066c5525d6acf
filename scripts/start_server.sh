#!/usr/bin/env bash
# Start the ASR server on Linux or inside WSL2: create/update its own venv, install .[server] (Qwen3-ASR on vLLM),
# check the GPU, size vLLM's GPU memory from the model and --max-sessions, print the URL for Windows, and run
#   python -m asr_server <your arguments>
# Usage: bash scripts/start_server.sh [--model Qwen/Qwen3-ASR-1.7B] [--max-sessions 8] [any asr_server flag...]
# Env: SERVER_VENV (default .venv-server), PYTHON (default python3), SKIP_INSTALL=1 to skip pip.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${SERVER_VENV:-.venv-server}
args=("$@")

arg_value() {  # the value of flag $1 in the arguments, or $2
  local flag=$1 default=$2 i
  for ((i = 0; i < ${#args[@]}; i++)); do
    if [[ "${args[$i]}" == "$flag" && $((i + 1)) -lt ${#args[@]} ]]; then echo "${args[$((i + 1))]}"; return; fi
    if [[ "${args[$i]}" == "$flag="* ]]; then echo "${args[$i]#*=}"; return; fi
  done
  echo "$default"
}

model=$(arg_value --model "")
if [[ -z "$model" ]]; then
  model="Qwen/Qwen3-ASR-1.7B"
  args+=(--model "$model")
fi
backend=$(arg_value --backend vllm)
host=$(arg_value --host 127.0.0.1)
port=$(arg_value --port 8765)
sessions=$(arg_value --max-sessions 8)
model_len=$(arg_value --max-model-len 4096)

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "== creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
if [[ "${SKIP_INSTALL:-0}" != 1 && ! -f "$stamp" ]]; then
  echo "== installing the server (qwen-asr[vllm]) into $VENV; the first time this downloads several GB"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".[server]"
  touch "$stamp"
fi

if [[ "$backend" == "vllm" ]]; then
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "error: nvidia-smi not found: install the NVIDIA driver (on WSL2, the Windows driver with WSL support)," >&2
    echo "       or run on the CPU with --backend transformers --device cpu (slow)" >&2
    exit 1
  fi
  read -r total free < <(nvidia-smi --query-gpu=memory.total,memory.free --format=csv,noheader,nounits \
    | head -n1 | tr -d ' ' | tr ',' ' ')
  echo "== GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -n1)"
  if [[ "$(arg_value --gpu-memory-utilization "")" == "" ]]; then
    set +e
    budget=$("$VENV/bin/python" -m asr_server.gpu_budget --model "$model" --max-sessions "$sessions" \
      --max-model-len "$model_len" --total-mib "$total" --free-mib "$free")
    status=$?
    set -e
    echo "$budget" | grep -v '^GPU_MEMORY_UTILIZATION='
    if [[ $status -ne 0 ]]; then exit 1; fi
    args+=(--gpu-memory-utilization "$(echo "$budget" | sed -n 's/^GPU_MEMORY_UTILIZATION=//p')")
  fi
fi

echo "== from Windows, connect the tray app to:"
if [[ "$host" == "127.0.0.1" || "$host" == "localhost" ]]; then
  echo "   ws://127.0.0.1:$port   (WSL2 forwards localhost to Windows)"
else
  for ip in $(hostname -I 2>/dev/null); do echo "   ws://$ip:$port   (with the token you set)"; done
fi
echo "== health: curl http://127.0.0.1:$port/healthz"
exec "$VENV/bin/python" -m asr_server "${args[@]}"
