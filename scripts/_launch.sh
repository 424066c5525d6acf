# Shared by start.sh and start_server.sh (source it; it only defines things): where the server venv lives, whether
# this Linux is WSL (clients then connect from Windows), how a
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
