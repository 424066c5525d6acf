#!/usr/bin/env bash
# The whole GPU measurement of the product against a real vLLM, from this repo: payload, engine, asr_server,
# real-speech load with spread and burst stops, the sessions-per-GPU figure. Results go to BENCHMARKS.md by hand.
#
# 1. Here (PyPI access; ~15 min on a quiet machine):
#      DEVICE_PACKAGES=<the GPU machine's package list, one a line> bash scripts/gpu/prepare_payload.sh
#    -> .gpu/ (ignored): vLLM in 58 MiB pieces c1 c2 [c3], deps.tar.xz, wavs/, shapes-*.json, SHA256SUMS.
# 2. On the GPU machine (no network; each call may carry at most 64 MiB, so the pieces go over back-to-back
#    calls of one warm machine and are stashed outside the checkout):
#      call 1, carry .gpu/c1:  bash scripts/bench_gpu_engine.sh stash
#      call 2, carry .gpu/c2:  bash scripts/bench_gpu_engine.sh stash
#      call 3, carry .gpu/c3 .gpu/deps.tar.xz .gpu/wavs .gpu/shapes-1.7B.json .gpu/SHA256SUMS (whatever remains):
#              bash scripts/bench_gpu_engine.sh run 1,8,32,64,128,256
#    `run` = setup, engine (through start_server.sh's checks), asr_server, smoke, bench (spread and burst), direct,
#    collect (logs and results into $OUT), stop. With a 10-minute limit a call, split it as on 2026-12-07
#    (BENCHMARKS.md): call 3 `vllm_device.sh setup; engine; asr; smoke`, call 4 `vllm_device.sh bench LEVELS`.
#    The machine receives the checkout the session started in: from another worktree, put this repo
#    (git archive HEAD) under that checkout's ignored .gpu/repo/, run from there with GPU_PAYLOAD=.. (the payload
#    stays in .gpu/). ENGINE_ARGS adds vLLM flags (e.g. "--max-num-seqs 512");
#    UTIL sets --gpu-memory-utilization (default 0.5); SIZE the model (1.7B or 0.6B).
# 3. Settings sweeps on the same warm machine, engine and asr_server already up (`run`, or its split calls):
#      bash scripts/bench_gpu_engine.sh sweep [LEVELS]      asr_server settings, one engine: each set in SWEEP
#                                                            (';'-separated; default below) restarts asr_server
#                                                            alone (~15 s) and benches LEVELS (default 128,256)
#      ENGINE_ARGS="--async-scheduling" bash scripts/bench_gpu_engine.sh engine-sweep [LEVELS]
#                                                            restart vLLM with those flags (~2.5 min), then bench
#    Every bench runs under cpu_sample.py: which process (load client, asr_server, vLLM front end or core) was busy.
#    What the device budget allows: setup + engine start take ~7 min of it before the first figure, each asr
#    setting ~1.5 min at 128,256 x spread,burst, each engine setting ~4 min.
set -uo pipefail
cd "$(dirname "$0")/.."
D=scripts/gpu/vllm_device.sh
case "${1:-}" in
stash) bash $D stash ;;
run)
  levels=${2:-1,8,32,64,128,256}
  bash $D stash
  bash $D setup "${SIZE:-1.7B}" || exit 1
  bash $D engine --gpu-memory-utilization "${UTIL:-0.5}" --max-model-len 4096 || exit 1
  bash $D asr || exit 1
  bash $D smoke
  bash $D bench "$levels" spread,burst
  bash $D direct
  bash $D collect
  bash $D stop
  ;;
sweep)
  levels=${2:-128,256}
  IFS=';' read -r -a sets <<< "${SWEEP:- ;--shed-queue-depth 4;--max-session-steps 1;--chunk-seconds 1.5}"
  for flags in "${sets[@]}"; do
    # shellcheck disable=SC2086  # each set is several flags
    bash $D asr $flags || continue
    label=$(echo $flags)
    echo "== asr_server flags: ${label:-(defaults)}"
    bash $D bench "$levels" spread,burst
  done
  bash $D collect
  ;;
engine-sweep)
  bash $D stop
  # start_server.sh adds ENGINE_ARGS from the environment
  bash $D engine --gpu-memory-utilization "${UTIL:-0.5}" --max-model-len 4096 || exit 1
  bash $D asr || exit 1
  echo "== vLLM flags: ${ENGINE_ARGS:-(defaults)}"
  bash $D bench "${2:-128,256}" spread,burst
  bash $D collect
  ;;
*) sed -n 2,31p "$0"; exit 2 ;;
esac
