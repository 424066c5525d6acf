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

back_pid=""
front_pid=""

pair_start_back() {  # pair_start_back COMMAND...: start the back end in its own process group
  setsid "$@" &
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
