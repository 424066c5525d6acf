#!/usr/bin/env bash
# Build, on a machine with PyPI access, everything scripts/bench_gpu_engine.sh needs on a GPU machine that has
# PyTorch but no network and no vLLM, under the repo's ignored .gpu/ folder. Run from the repo root:
#
#   bash scripts/gpu/prepare_payload.sh        (WORK=<scratch dir>, VLLM_VERSION=0.26.0)
#
# Makes: .gpu/c1 .gpu/c2 (vLLM's wheel stripped of what a dense model on Hopper never loads, split into 58 MiB
# pieces so each fits one call of a 64 MiB transfer), .gpu/deps.tar.xz (vLLM's and asr_server's dependencies the
# machine lacks, installed with pip --target and packed), .gpu/wavs (espeak-ng phrases, 16 kHz mono int16),
# .gpu/shapes-1.7B.json and .gpu/shapes-0.6B.json (weight names and shapes), .gpu/SHA256SUMS.
# The machine's package list (DEVICE_PACKAGES, one name a line) decides what is carried: only what it lacks.
# Needs: python3.12 with pip, zip, espeak-ng, sox, xz. Dependencies are resolved from metadata only (pip --dry-run
# --report), so PyTorch is never downloaded here.
set -euo pipefail
VLLM_VERSION=${VLLM_VERSION:-0.26.0}
W=${WORK:-$(mktemp -d)}
PY312=${PY312:-python3.12}
PLAT=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
      --platform manylinux2014_x86_64 --platform manylinux_2_31_x86_64 --platform manylinux_2_34_x86_64
      --platform manylinux_2_35_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux1_x86_64
      --platform manylinux_2_5_x86_64 --platform linux_x86_64 --platform any)
PIP=("$PY312" -m pip)
DL=("${PIP[@]}" download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "${PLAT[@]}")
: "${DEVICE_PACKAGES:?set DEVICE_PACKAGES to a file listing the installed packages of the GPU machine, one a line}"
mkdir -p .gpu "$W/whl"
ls "$W"/whl/vllm-"$VLLM_VERSION"-*.whl >/dev/null 2>&1 || "${DL[@]}" -d "$W/whl" "vllm==$VLLM_VERSION"

# vLLM's requirements, less PyTorch's family and the GPU kernels a dense model on Hopper does not load
unzip -p "$W"/whl/vllm-"$VLLM_VERSION"-*.whl '*/METADATA' | sed -n 's/^Requires-Dist: //p' | grep -v extra |
  grep -v -i -E '^(torch|torchaudio|torchvision|flashinfer-python|flashinfer-cubin|apache-tvm-ffi|tilelang|nvidia-cutlass-dsl|quack-kernels|tokenspeed-mla|humming-kernels|PyNvVideoCodec|torchcodec|fastsafetensors|nvidia-cudnn-frontend|nvtx)[=<>!\[ ;~]' \
  > "$W/vreqs.txt"
# asr_server's own (websockets, h11, multipart forms, audio files) on top
printf '%s\n' "websockets>=13" "python-multipart>=0.0.9" "soundfile>=0.12" >> "$W/vreqs.txt"
"${PIP[@]}" install --dry-run --ignore-installed --quiet --report "$W/report.json" --only-binary=:all: \
  --python-version 3.12 --implementation cp "${PLAT[@]}" --target "$W/none" -r "$W/vreqs.txt" 2>&1 | grep -v 'is ignored' || true
"$PY312" -c "import json,sys; [print(i['metadata']['name'], i['metadata']['version']) for i in json.load(open(sys.argv[1]))['install']]" \
  "$W/report.json" | awk '{n=tolower($1); gsub("_","-",n); gsub("\\.","-",n); print n, $2}' | sort > "$W/all.txt"
sed 's/[ .]//g' "$DEVICE_PACKAGES" | tr 'A-Z_' 'a-z-' | sort -u > "$W/dev.txt"
join -v1 "$W/all.txt" "$W/dev.txt" | grep -v -E '^(torch|triton|nvidia-[^ ]*|cuda-[^ ]*) ' | awk '{print $1"=="$2}' > "$W/carry.txt"
echo "== carrying $(wc -l < "$W/carry.txt") packages the machine lacks"
mkdir -p "$W/deps" && "${DL[@]}" -q -d "$W/deps" -r "$W/carry.txt"
rm -rf "$W/depsite" && "${PIP[@]}" install -q --no-index --no-deps --no-compile --target "$W/depsite" "$W"/deps/*.whl
tar -C "$W/depsite" -cf - . | xz -T0 -6 > .gpu/deps.tar.xz

# vLLM's wheel without the FA2 kernels (Hopper uses FA3), the MoE kernels, the Rust front end and the other
# Pythons' deep_gemm: `zip -d` drops them without recompressing the rest (xz of the unpacked tree takes far longer)
cp "$W"/whl/vllm-"$VLLM_VERSION"-*.whl "$W/vllm.zip"
zip -q -d "$W/vllm.zip" vllm/vllm_flash_attn/_vllm_fa2_C.abi3.so vllm/_moe_C_stable_libtorch.abi3.so vllm/vllm-rs \
  'vllm/third_party/deep_gemm/_C.cpython-31[0134]-x86_64-linux-gnu.so'
rm -f .gpu/c[0-9] && split -b 58M -a 1 --numeric-suffixes=1 "$W/vllm.zip" .gpu/c
(cd "$W" && sha256sum vllm.zip; cd "$OLDPWD/.gpu" && sha256sum deps.tar.xz) > .gpu/SHA256SUMS

# weight names and shapes from qwen_asr's own model (a Python with qwen-asr installed: PY_QWEN)
for size in 1.7B 0.6B; do
  "${PY_QWEN:-python3}" scripts/gpu/make_qwen3_asr_checkpoint.py "$W/ck" --size $size --dump-shapes .gpu/shapes-$size.json
done
mkdir -p .gpu/wavs && i=0
while IFS= read -r line; do
  i=$((i + 1)); f=$(printf 'p%02d' $i)
  espeak-ng -v en-us -s 160 -w "$W/$f.wav" "$line" && sox "$W/$f.wav" -r 16000 -c 1 -b 16 -e signed-integer .gpu/wavs/$f.wav
done <<'PHRASES'
Please schedule the meeting for Thursday afternoon.
The quick brown fox jumps over the lazy dog.
Send the report to the whole team before noon.
I think we should refactor the streaming server first.
Open a new terminal and run the test suite again.
The weather today is sunny with a light breeze.
Remind me to call the dentist tomorrow morning.
Add milk, eggs and bread to the shopping list.
Our latency target is thirty milliseconds at the median.
Dictation works best when you speak clearly and steadily.
PHRASES
ls -la .gpu
