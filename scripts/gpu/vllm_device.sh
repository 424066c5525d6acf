#!/usr/bin/env bash
# The product (asr_server --backend vllm) against a REAL vLLM on a GPU machine without network, in stages, one or
# more stages per call (vLLM and asr_server are started with setsid so they live on between calls of one warm
# machine). Run from the repo root: bash scripts/gpu/vllm_device.sh STAGE [args]. scripts/bench_gpu_engine.sh says
# which calls make the whole measurement; scripts/gpu/prepare_payload.sh builds the payload under .gpu/.
#
# What travels (under the repo's ignored .gpu/):
#   .gpu/c1 .gpu/c2      vLLM 0.26.0's wheel less FA2 (Hopper uses FA3), the MoE kernels and the Rust front end
#                        (zip -d: no recompression), split into 58 MiB pieces (sha256 in .gpu/SHA256SUMS)
#   .gpu/deps.tar.xz     vLLM's and asr_server's dependencies the machine lacks (pip --target tree, tar.xz)
#   .gpu/wavs/*.wav      espeak-ng phrases, 16 kHz mono int16
#   .gpu/shapes-*.json   weight names/shapes of Qwen3-ASR 1.7B / 0.6B (make_qwen3_asr_checkpoint.py --dump-shapes)
# asr_server itself runs from the repo copy the call brings (no qwen_asr needed any more).
# Stages:
#   stash              move the pieces present out of the repo copy into /root/stash (kept between calls)
#   setup [SIZE]       reassemble + verify, unpack vLLM and the dependencies into /root/site, build the random-
#                      weight checkpoint (1.7B by default) in /root/ck
#   engine [ARGS]      start the engine through scripts/start_server.sh's own checks (vllm --version, priority in
#                      the startup log) with `vllm serve`; extra vLLM flags in ENGINE_ARGS; wait for /health
#   asr [FLAGS]        (re)start asr_server --backend vllm in front of it (--max-new-tokens 24, --max-sessions 300);
#                      a running one is stopped first, so one engine serves a sweep of asr_server settings;
#                      ASR_ROOT=DIR runs another tree's asr_server (the previous commit's, for a same-machine A/B)
#   smoke              one direct probe set (what the engine accepts and refuses) + the import-time figure
#   bench LEVELS STOPS bench_server.py --url with real speech at each session count, spread and/or burst stops,
#                      under cpu_sample.py (which process was busy: load client, asr_server, vLLM front end/core),
#                      with vLLM's own time breakdown per cell; CLIENT_LIKE=1 ends clips as the tray client does
#   direct             engine_direct.py: TTFT / per-token at concurrency 1 and 64
#   collect            copy logs and results to $OUT
#   stop               end asr_server and vLLM (by pid)
set -uo pipefail
# (paths, ports and the Python can be overridden, so the stages can be tried against a fake engine elsewhere)
STASH=/root/stash SITE=/root/site RUN=${GPU_RUN:-/root/run} CK=${GPU_CHECKPOINT:-/root/ck} G=${GPU_PAYLOAD:-.gpu}
mkdir -p "$RUN" "$STASH"
export PYTHONPATH=$SITE:$PWD PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 VLLM_NO_USAGE_STATS=1 \
  DO_NOT_TRACK=1 VLLM_USE_FLASHINFER_SAMPLER=0 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 \
  NVSHMEM_DISABLE_NVLS=1
PY=${PYTHON:-python3}
ENGINE_PORT=${ENGINE_PORT:-8000} ASR_PORT=${ASR_PORT:-8765}
stamp() { echo "== $(date +%T) $*"; }

stage=${1:-}
shift || true
case "$stage" in
stash)
  mv $G/c? "$STASH"/ 2>/dev/null
  ls -la "$STASH"
  nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv
  ;;
setup)
  size=${1:-1.7B}
  stamp reassemble
  cat "$STASH"/c? > "$STASH"/vllm.zip
  want=$(awk '/vllm.zip/{print $1}' $G/SHA256SUMS); got=$(sha256sum "$STASH"/vllm.zip | cut -d' ' -f1)
  [[ "$want" == "$got" ]] || { echo "CHECKSUM MISMATCH $want $got"; exit 1; }
  stamp unpack; mkdir -p "$SITE"; $PY -m zipfile -e "$STASH"/vllm.zip "$SITE" || exit 1
  (cd $G && sha256sum -c <(grep deps.tar.xz SHA256SUMS)) || exit 1
  tar -xJf $G/deps.tar.xz -C "$SITE" || exit 1
  # a venv-like folder for the launcher: the machine's python3 and a `vllm` executable, as pip would install it
  mkdir -p /root/venv/bin && ln -sf "$(command -v python3)" /root/venv/bin/python
  printf '#!/bin/sh\nexec %s -m vllm.entrypoints.cli.main "$@"\n' "$(command -v python3)" > /root/venv/bin/vllm
  chmod +x /root/venv/bin/vllm
  stamp versions
  $PY -c "import vllm, torch, transformers; print('vllm', vllm.__version__, 'torch', torch.__version__, 'transformers', transformers.__version__)" 2>&1 | tail -1
  stamp "checkpoint $size"
  $PY scripts/gpu/make_qwen3_asr_checkpoint.py $CK --size "$size" --shapes $G/shapes-$size.json --device cuda 2>&1 | grep -v -i warn | tail -3
  du -sh $CK
  ;;
engine)
  # the launcher's engine path, with the GPU's own nvidia-smi; asr_server is started by the `asr` stage instead
  stamp "engine through start_server.sh --engine-only"
  cd "$RUN" || exit 1
  setsid nohup env SKIP_INSTALL=1 SERVER_VENV=/root/venv ENGINE_LOG=$RUN/engine.log \
    bash "$OLDPWD/scripts/start_server.sh" --engine-only --engine-port $ENGINE_PORT --model $CK \
    --max-sessions "${SESSIONS:-256}" "$@" > "$RUN/launcher.log" 2>&1 < /dev/null &
  echo $! > "$RUN/launcher.pid"; cd - > /dev/null
  t0=$(date +%s)
  for i in $(seq 1 480); do
    grep -q "engine ready" "$RUN/launcher.log" 2>/dev/null && break
    kill -0 "$(cat $RUN/launcher.pid)" 2>/dev/null || break
    sleep 1
  done
  stamp "after $(( $(date +%s) - t0 )) s:"; grep -v "^INFO\|^(APIServer\|^(EngineCore\|WARNING" "$RUN/launcher.log" | tail -25
  if ! grep -q "engine ready" "$RUN/launcher.log"; then
    # keep the measurement going: the engine directly, as the launcher would have started it
    stamp "the launcher refused or failed (above); starting vllm serve directly for the measurement"
    grep -m1 "non-default args" "$RUN/engine.log" | cut -c1-600
    setsid nohup /root/venv/bin/vllm serve $CK --host 127.0.0.1 --port $ENGINE_PORT --scheduling-policy priority \
      "$@" > "$RUN/engine.log" 2>&1 < /dev/null &
    for i in $(seq 1 480); do curl -sf -o /dev/null http://127.0.0.1:$ENGINE_PORT/health && break; sleep 1; done
    stamp "engine health after $(( $(date +%s) - t0 )) s: $(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$ENGINE_PORT/health)"
  fi
  grep -E "non-default args|KV cache|Maximum concurrency|Model loading took|Graph capturing|init engine" "$RUN/engine.log" | cut -c1-400 | head -12
  nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
  ;;
asr)
  if [[ -f $RUN/asr.pid ]] && kill -TERM "$(cat $RUN/asr.pid)" 2>/dev/null; then
    for i in $(seq 1 100); do kill -0 "$(cat $RUN/asr.pid)" 2>/dev/null || break; sleep 0.1; done
  fi
  stamp "asr_server --backend vllm $*"
  # ASR_ROOT: another tree's asr_server (e.g. the previous commit's, git archive'd under .gpu/), same engine
  # (exec: the subshell becomes asr_server, so the pid is its own and no shell keeps this stage's output open)
  (cd "${ASR_ROOT:-.}" && exec setsid nohup env PYTHONPATH="$SITE:$PWD" $PY -m asr_server --backend vllm \
    --model $CK --engine-url http://127.0.0.1:$ENGINE_PORT/v1 --port $ASR_PORT --max-sessions 300 \
    --max-pending-per-ip 300 --max-new-tokens 24 --log-level INFO "$@") > "$RUN/asr.log" 2>&1 < /dev/null &
  echo $! > "$RUN/asr.pid"
  t0=$(date +%s%N)
  for i in $(seq 1 600); do
    code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$ASR_PORT/healthz); [[ "$code" == 200 ]] && break
    kill -0 "$(cat $RUN/asr.pid)" 2>/dev/null || break
    sleep 0.1
  done
  stamp "asr_server /healthz $code after $(( ($(date +%s%N) - t0) / 1000000 )) ms"; tail -3 "$RUN/asr.log"
  ;;
smoke)
  stamp "direct probe"
  $PY scripts/gpu/engine_direct.py --url http://127.0.0.1:$ENGINE_PORT/v1 --wav $G/wavs/p01.wav --probe 2>&1 | tee -a "$RUN/probe.jsonl" | cut -c1-300
  stamp "import time of what asr_server's vLLM path loads (tokenizer + parser), 3 runs"
  for i in 1 2 3; do
    t0=$(date +%s%N); $PY -c "from asr_server.backends.qwen_common import QwenText; QwenText.load('$CK')" 2>&1 | tail -1
    echo "$(( ($(date +%s%N) - t0) / 1000000 )) ms (python start + imports + tokenizer)"
  done
  ;;
bench)
  $PY scripts/gpu/cpu_sample.py -- $PY scripts/bench_server.py --url ws://127.0.0.1:$ASR_PORT --wavs $G/wavs \
    --sessions "${1:-1,8,32,64,128}" --stops "${2:-spread,burst}" --utterances "${UTTERANCES:-2}" \
    --final-timeout 60 --engine-metrics http://127.0.0.1:$ENGINE_PORT/metrics ${CLIENT_LIKE:+--client-like} 2>&1 |
    tee -a "$RUN/bench.txt"
  curl -s http://127.0.0.1:$ASR_PORT/healthz; echo
  nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
  grep -c -E 'WARNING|ERROR' "$RUN/asr.log" || true; grep -E 'WARNING|ERROR' "$RUN/asr.log" | cut -c20-200 | sort | uniq -c | sort -rn | head -5
  ;;
direct)
  for spec in "1 20 24" "64 192 24"; do
    read -r c r m <<< "$spec"
    stamp "engine_direct concurrency $c requests $r max_tokens $m"
    $PY scripts/gpu/engine_direct.py --url http://127.0.0.1:$ENGINE_PORT/v1 --wav $G/wavs/p01.wav --concurrency "$c" \
      --requests "$r" --max-tokens "$m" 2>&1 | tail -1 | tee -a "$RUN/direct.jsonl"
  done
  ;;
collect)
  [[ -n "${OUT:-}" ]] || exit 0
  for f in engine.log asr.log launcher.log; do [[ -f $RUN/$f ]] && tail -c 4000000 "$RUN/$f" > "$OUT/$f"; done
  cat "$RUN"/*.jsonl "$RUN"/bench.txt > "$OUT/results.txt" 2>/dev/null
  ls -la "$OUT"
  ;;
stop)
  for p in $( [[ -f $RUN/asr.pid ]] && cat $RUN/asr.pid) $( [[ -f $RUN/launcher.pid ]] && cat $RUN/launcher.pid) \
           $(grep -o '(APIServer pid=[0-9]*\|(EngineCore[_A-Za-z0-9]* pid=[0-9]*' "$RUN/engine.log" 2>/dev/null | grep -o '[0-9]*' | sort -u); do
    kill -TERM "$p" 2>/dev/null && echo "stopped $p"
  done
  for i in $(seq 1 30); do curl -s -o /dev/null http://127.0.0.1:$ENGINE_PORT/health || break; sleep 1; done
  rm -f $RUN/asr.pid $RUN/launcher.pid
  ;;
*) sed -n 2,27p "$0"; exit 2 ;;
esac
