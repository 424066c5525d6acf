# Shared by start.sh, start_server.sh and test.sh (source it; it only defines things): where the server venv lives,
# whether this Linux is WSL (clients then connect from Windows), the tray's PyGObject, how a
# launcher reads a flag it passes on, and a pair of processes that live and die together: a back end in its own
# process group (so stopping it stops its workers) and a front end started once the back end's health URL
# answers 200.

# A venv on a Windows drive (/mnt/c/...) is very slow (installing vLLM there takes tens of minutes), so when the
# repository lives there, the server venv goes in the Linux home directory.
default_server_venv() {
  case "$(pwd -P)" in
    /mnt/*) echo "$HOME/.venvs/qwen-dictation-server" ;;
    *) echo ".venv-server" ;;
  esac
}

in_wsl() {  # WSL's kernel says so in its release string
  grep -qi microsoft /proc/sys/kernel/osrelease 2>/dev/null
}

# link_system_gi VENV: give VENV the distribution's PyGObject (apt: python3-gi), and nothing else of the system's
# packages, so the tray draws through GTK/AppIndicator with its menu and tooltip (without it, pystray's X11 icon
# has neither). Why a link: PyGObject from PyPI is a C build that needs libgirepository/cairo headers and a
# compiler (and recent releases need a newer libgirepository than Debian 12 or Ubuntu 22.04 ship), while
# --system-site-packages would also put every apt Python package (old numpy...) in front of pip's. python3-gi's
# extension is built for the system Python, so the venv must run that same X.Y version.
GI_PACKAGES="python3-gi gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1"
link_system_gi() {
  local venv=$1 system_python=${SYSTEM_PYTHON:-/usr/bin/python3}
  local python="$venv/bin/python"
  if "$python" -c "import gi" 2>/dev/null; then return 0; fi
  local system_gi
  if ! system_gi=$("$system_python" -c "import gi, os; print(os.path.dirname(gi.__file__))" 2>/dev/null); then
    echo "warning: the tray icon will have no menu (Settings, Recent, Quit): install its packages with" >&2
    echo "         sudo apt install $GI_PACKAGES   and run this again" >&2
    return 0
  fi
  local want have
  want=$("$system_python" -c "import sys; print('%d.%d' % sys.version_info[:2])")
  have=$("$python" -c "import sys; print('%d.%d' % sys.version_info[:2])")
  if [[ "$want" != "$have" ]]; then
    echo "warning: the tray icon will have no menu: python3-gi is built for Python $want and $venv runs $have;" >&2
    echo "         recreate it with PYTHON=$system_python (delete $venv first)" >&2
    return 0
  fi
  local site
  site=$("$python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  ln -sfn "$system_gi" "$site/gi"
  if ! "$python" -c "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk" 2>/dev/null; then
    echo "warning: PyGObject is linked into $venv but GTK 3 does not load: sudo apt install $GI_PACKAGES" >&2
  fi
}

flag_value() {  # flag_value FLAG DEFAULT ARGS...: the value of FLAG in ARGS (`FLAG V` or `FLAG=V`), or DEFAULT
  local flag=$1 default=$2
  shift 2
  while [[ $# -gt 0 ]]; do
    if [[ "$1" == "$flag" && $# -gt 1 ]]; then echo "$2"; return; fi
    if [[ "$1" == "$flag="* ]]; then echo "${1#*=}"; return; fi
    shift
  done
  echo "$default"
}

flag_last() {  # flag_last FLAG DEFAULT ARGS...: the value of the LAST FLAG in ARGS (what argparse keeps), or DEFAULT
  local flag=$1 value=$2
  shift 2
  while [[ $# -gt 0 ]]; do
    if [[ "$1" == "$flag" && $# -gt 1 ]]; then value=$2; shift; fi
    if [[ "$1" == "$flag="* ]]; then value=${1#*=}; fi
    shift
  done
  echo "$value"
}

find_vllm() {  # find_vllm VENV: the vllm executable of the venv, else the one on PATH
  if [[ -x "$1/bin/vllm" ]]; then echo "$1/bin/vllm"; return; fi
  command -v vllm
}

# check_vllm_version VLLM SERIES VENV: refuse a vLLM outside the verified series (ALLOW_UNVERIFIED_VLLM=1 allows it)
check_vllm_version() {
  local version
  version=$("$1" --version 2>/dev/null | tail -n1 | tr -d '[:space:]')
  if [[ "$version" == "$2" || "$version" == "$2".* ]]; then
    echo "== vLLM $version (verified: $2.x)"
    return 0
  fi
  if [[ "${ALLOW_UNVERIFIED_VLLM:-0}" == 1 ]]; then
    echo "== warning: vLLM ${version:-of unknown version} is not the verified $2.x; starting it anyway (ALLOW_UNVERIFIED_VLLM=1)" >&2
    return 0
  fi
  echo "error: vLLM ${version:-(no version from $1 --version)} is not the verified $2.x: run $3/bin/pip install 'vllm==$2.*' (or set ALLOW_UNVERIFIED_VLLM=1 to try it anyway)" >&2
  return 1
}

# engine_has_priority_policy LOG: vLLM logs its non-default arguments at start; the policy must be among them
engine_has_priority_policy() {
  grep -q "non-default args:.*'scheduling_policy': 'priority'" "$1"
}

back_pid=""
front_pid=""

pair_start_back() {  # pair_start_back COMMAND...: start the back end in its own process group
  setsid "$@" &
  back_pid=$!
}

pair_start_back_logged() {  # pair_start_back_logged LOG COMMAND...: as pair_start_back, output also into LOG
  local log=$1
  shift
  setsid "$@" > >(tee -a "$log") 2>&1 &
  back_pid=$!
}

pair_stop() {  # the front end, then the back end's whole process group; wait for them
  trap - INT TERM
  if [[ -n "$front_pid" ]]; then kill -TERM "$front_pid" 2>/dev/null || true; fi
  kill -TERM -- "-$back_pid" 2>/dev/null || kill -TERM "$back_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}

# pair_wait_healthy PYTHON URL SECONDS NAME: poll URL until it answers 200. If the back end dies first, or
# SECONDS pass, say so, stop it and return 1 (the caller decides what follows: start_server.sh exits, start.sh
# still starts the tray so a newcomer can point it at another server).
pair_wait_healthy() {
  local python=$1 url=$2 seconds=$3 name=$4
  local deadline=$((SECONDS + seconds))
  echo "== waiting for the $name at $url (the first start downloads the model)"
  until "$python" -c "import sys, urllib.request
try: sys.exit(0 if urllib.request.urlopen('$url', timeout=2).status == 200 else 1)
except Exception: sys.exit(1)"; do
    if ! kill -0 "$back_pid" 2>/dev/null; then
      echo "error: the $name exited before it was ready; its output above says why" >&2
      pair_stop
      return 1
    fi
    if [[ $SECONDS -ge $deadline ]]; then
      echo "error: the $name was not ready within $seconds s; see its output above" >&2
      pair_stop
      return 1
    fi
    sleep 1  # a poll interval, not synchronisation: the health URL is the signal
  done
}
