#!/usr/bin/env bash
# Start the ASR service on Linux or inside WSL2: the engine (vLLM's OpenAI-compatible server, `vllm serve MODEL`,
# which serves Qwen3-ASR natively, with priority scheduling and CUDA graphs), then asr_server in front of it.
#
#   bash scripts/start_server.sh [--gpus N] [--engine-port 8000] [--engine vllm|qwen-asr-serve]
#                                [--model Qwen/Qwen3-ASR-1.7B] [asr_server flags...]
#
# - creates/updates its own venv and installs .[server] (vLLM 0.26.x, the version verified on an H100); when the
#   repository lives on a Windows drive (/mnt/c/...), the venv goes in the Linux home directory instead, because
#   a venv on /mnt is very slow;
# - checks the GPUs, sizes vLLM's GPU memory from the model and --max-sessions (with a safety margin), checks the
#   vLLM version, starts the engine, waits for its /health, checks from the engine's own startup log that
#   priority scheduling is on (finals overtake partials only then; vLLM silently ignores `priority` without it),
#   then starts asr_server with --engine-url pointing at it, and prints the URL to connect to (from Windows,
#   inside WSL);
# - --gpus N: one engine over N GPUs (vLLM data parallel, --data-parallel-size N): one URL, N replicas;
#   NVLink multicast stays off (NCCL_NVLS_ENABLE=0): it is not needed for data parallel and can hang shared GPUs;
# - --engine qwen-asr-serve: the official qwen-asr package's server instead (its own stack: vllm 0.14,
#   transformers 4.57; install .[server-qwen-asr] into another SERVER_VENV);
# - --api-servers N: vLLM front-end processes (--api-server-count). Each request's audio is decoded and turned into
#   Whisper features in the front end, one Python process by default: past ~64 sessions it is the busiest
#   process (BENCHMARKS.md, 2026-12-07 second GPU run), so from --max-sessions 64 on the default is 4, else 1;
# - --engine-only: start and check the engine only (for several asr_server processes in front of one engine,
#   docs/scaling.md), and stay until it exits;
# - --engine-url URL: use an engine that is already running (another machine, or a router in front of replicas)
#   and start only asr_server;
# - --backend transformers: no engine; asr_server runs the model itself (CPU, or a GPU without vLLM).
# Ctrl+C stops both; if either one dies, the other is stopped too and the script exits with an error.
#
# Env: SERVER_VENV (venv path), PYTHON (default python3), SKIP_INSTALL=1 (no pip), ENGINE_ARGS (more engine flags),
# ENGINE_WAIT_SECONDS (default 1200: the first start downloads the model), ENGINE_LOG (the engine's output, also
# shown here; default a temporary file), ALLOW_UNVERIFIED_VLLM=1 (start another vLLM version anyway),
# ENGINE_CMD (a whole engine command instead of `vllm serve`; no version check).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/_launch.sh
source scripts/_launch.sh
PYTHON=${PYTHON:-python3}
VENV=${SERVER_VENV:-$(default_server_venv)}

# Launcher flags (not asr_server's): taken out of the arguments.
VERIFIED_VLLM="0.26"  # the series measured on the GPU (BENCHMARKS.md); pyproject's server extra pins it
gpus=1
engine_port=8000
engine_kind=vllm
engine_only=0
api_servers=""
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --gpus) gpus=${2:?--gpus needs a number}; shift 2 ;;
    --gpus=*) gpus=${1#*=}; shift ;;
    --engine-port) engine_port=${2:?--engine-port needs a port}; shift 2 ;;
    --engine-port=*) engine_port=${1#*=}; shift ;;
    --engine) engine_kind=${2:?--engine needs vllm or qwen-asr-serve}; shift 2 ;;
    --engine=*) engine_kind=${1#*=}; shift ;;
    --engine-only) engine_only=1; shift ;;
    --api-servers) api_servers=${2:?--api-servers needs a number}; shift 2 ;;
    --api-servers=*) api_servers=${1#*=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
case "$engine_kind" in
  vllm) extra=server ;;
  qwen-asr-serve) extra=server-qwen-asr ;;
  *) echo "error: --engine $engine_kind: use vllm (vllm serve, the default) or qwen-asr-serve" >&2; exit 2 ;;
esac
if ! [[ "$gpus" =~ ^[1-9][0-9]*$ ]]; then
  echo "error: --gpus $gpus: give the number of GPUs to use (1 or more)" >&2
  exit 2
fi

arg_value() { flag_value "$1" "$2" "${args[@]}"; }  # the value of asr_server flag $1 given here, or $2

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
engine_url=$(arg_value --engine-url "")

echo "== venv: $VENV"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "== creating $VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
if [[ "${SKIP_INSTALL:-0}" != 1 && ! -f "$stamp" ]]; then
  echo "== installing the server (.[$extra]) into $VENV; the first time this downloads several GB"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".[$extra]"
  touch "$stamp"
fi

print_urls() {
  if in_wsl; then
    echo "== from Windows, connect the tray app to:"
  else
    echo "== connect the tray app to:"
  fi
  if [[ "$host" == "127.0.0.1" || "$host" == "localhost" ]]; then
    if in_wsl; then
      echo "   ws://127.0.0.1:$port   (WSL2 forwards localhost to Windows)"
    else
      echo "   ws://127.0.0.1:$port   (this machine only)"
    fi
  else
    for ip in $(hostname -I 2>/dev/null); do echo "   ws://$ip:$port   (with the token you set)"; done
  fi
  echo "== apps with an OpenAI-compatible transcription URL: http://127.0.0.1:$port/v1"
  echo "== health: curl http://127.0.0.1:$port/healthz"
}

if [[ "$backend" != "vllm" || -n "$engine_url" ]]; then
  # No engine to start: the transformers backend runs in asr_server, or the engine runs elsewhere.
  print_urls
  exec "$VENV/bin/python" -m asr_server "${args[@]}"
fi

if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "error: nvidia-smi not found: install the NVIDIA driver (on WSL2, the Windows driver with WSL support)," >&2
  echo "       or run on the CPU with --backend transformers --device cpu (slow)" >&2
  exit 1
fi
found=$(nvidia-smi --query-gpu=name --format=csv,noheader | grep -c . || true)
if [[ "$found" -lt "$gpus" ]]; then
  echo "error: --gpus $gpus but nvidia-smi shows $found GPU(s); use --gpus $found or fewer" >&2
  exit 1
fi
read -r total free < <(nvidia-smi --query-gpu=memory.total,memory.free --format=csv,noheader,nounits \
  | head -n1 | tr -d ' ' | tr ',' ' ')
echo "== GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -n1) (using $gpus of $found)"
utilization=$(arg_value --gpu-memory-utilization "")
if [[ -z "$utilization" ]]; then
  set +e
  budget=$("$VENV/bin/python" -m asr_server.gpu_budget --model "$model" --max-sessions "$sessions" \
    --max-model-len "$model_len" --total-mib "$total" --free-mib "$free")
  status=$?
  set -e
  echo "$budget" | grep -v '^GPU_MEMORY_UTILIZATION='
  if [[ $status -ne 0 ]]; then exit 1; fi
  utilization=$(echo "$budget" | sed -n 's/^GPU_MEMORY_UTILIZATION=//p')
fi

# The engine: priority scheduling (finals before partials), CUDA graphs (vLLM's default: no --enforce-eager),
# data parallel over the GPUs asked for. It gets its own process group, so stopping it stops its workers too.
if [[ -n "${ENGINE_CMD:-}" ]]; then
  # shellcheck disable=SC2206 # ENGINE_CMD is a command line, split on spaces on purpose
  engine=(${ENGINE_CMD})
elif [[ "$engine_kind" == qwen-asr-serve ]]; then
  engine=("$VENV/bin/qwen-asr-serve")
else
  vllm=$(find_vllm "$VENV") || {
    echo "error: vllm not found in $VENV or on PATH: install the server with $VENV/bin/pip install -e '.[server]' (vLLM $VERIFIED_VLLM.x)" >&2
    exit 1
  }
  check_vllm_version "$vllm" "$VERIFIED_VLLM" "$VENV" || exit 1
  engine=("$vllm" serve)
fi
engine+=("$model" --host 127.0.0.1 --port "$engine_port"
  --scheduling-policy priority --gpu-memory-utilization "$utilization" --max-model-len "$model_len")
if [[ "$gpus" -gt 1 ]]; then engine+=(--data-parallel-size "$gpus"); fi
if [[ -z "$api_servers" ]]; then
  if [[ "$sessions" -ge 64 ]]; then api_servers=4; else api_servers=1; fi
fi
if [[ -z "${ENGINE_CMD:-}" && "$engine_kind" == vllm && "$api_servers" -gt 1 ]]; then
  engine+=(--api-server-count "$api_servers")
fi
# shellcheck disable=SC2206 # ENGINE_ARGS is a list of extra flags, split on spaces on purpose
engine+=(${ENGINE_ARGS:-})
policy=$(flag_last --scheduling-policy "" "${engine[@]}")
if [[ "$policy" != priority ]]; then
  echo "error: the engine would start with --scheduling-policy $policy (ENGINE_ARGS): finals could not overtake partials; remove it from ENGINE_ARGS" >&2
  exit 1
fi
engine_log=${ENGINE_LOG:-$(mktemp -t qwen-dictation-engine.XXXXXX.log)}
echo "== engine: ${engine[*]}"
echo "== engine log: $engine_log"
# Multicast over NVLink is not needed for data parallel and can hang GPUs shared with others: keep it off.
export NCCL_NVLS_ENABLE=0
pair_start_back_logged "$engine_log" "${engine[@]}"
engine_pid=$back_pid
trap 'echo "== stopping"; pair_stop; exit 130' INT TERM
pair_wait_healthy "$VENV/bin/python" "http://127.0.0.1:$engine_port/health" "${ENGINE_WAIT_SECONDS:-1200}" engine \
  || exit 1
# vLLM answers `priority` with 200 even without the priority policy (it then ignores it), so no request can tell:
# the engine's own startup line listing its non-default arguments must show the policy.
if ! engine_has_priority_policy "$engine_log"; then
  echo "error: the engine's startup log ($engine_log) does not show scheduling_policy 'priority' in its non-default args, so finals would not overtake partials; start it with --scheduling-policy priority" >&2
  pair_stop
  exit 1
fi
echo "== engine ready (vLLM priority scheduling on)"
if [[ "$engine_only" == 1 ]]; then
  echo "== engine only: start asr_server with --engine-url http://127.0.0.1:$engine_port/v1"
  set +e
  wait "$engine_pid"
  status=$?
  set -e
  echo "error: the engine exited (status $status)" >&2
  pair_stop
  exit $((status == 0 ? 1 : status))
fi

print_urls
"$VENV/bin/python" -m asr_server "${args[@]}" --engine-url "http://127.0.0.1:$engine_port/v1" &
front_pid=$!
set +e
wait -n "$engine_pid" "$front_pid"
status=$?
set -e
if kill -0 "$engine_pid" 2>/dev/null; then
  echo "error: asr_server exited (status $status); stopping the engine" >&2
else
  echo "error: the engine exited (status $status); stopping asr_server" >&2
fi
pair_stop
exit $((status == 0 ? 1 : status))
