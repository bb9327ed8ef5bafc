# Helpers for integration tests that drive a real `ollama serve`.
# Source after setting bin (the ollama binary, $1 from ctest):
#   bin=$1; . "$(dirname "$0")/lib.sh"; start_server || exit 1
# Gives: TMP (removed on exit), PORT, BASE (http://127.0.0.1:PORT),
# SERVER_PID, SERVER_LOG; expect/http/finish for counting results.

pass=0
fail=0
TMP=$(mktemp -d)
SERVER_PID=
SERVER_LOG=$TMP/server.log
export HOME=$TMP/home # no ~/.ollama from the machine running the tests
mkdir -p "$HOME"

# expect NAME STATUS: counts a check; STATUS 0 is a pass.
expect() {
  if [ "$2" = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}

# Prints the totals; the exit status says whether all passed.
finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" = 0 ]
}

# A loopback TCP port nothing listens on (bash's /dev/tcp probes it).
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

# wait_ready URL: polls GET / until the server answers (10 s at most).
wait_ready() {
  for _ in $(seq 1 100); do
    [ "$(curl -s --max-time 1 "$1/" 2>/dev/null)" = "Ollama is running" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# start_server [VAR=value ...]: `ollama serve` on a free port with an empty
# model store, extra environment as given; retried if the port was taken
# in the meantime. Logs go to SERVER_LOG.
start_server() {
  mkdir -p "$TMP/models"
  for _ in 1 2 3; do
    PORT=$(free_port) || return 1
    BASE=http://127.0.0.1:$PORT
    env OLLAMA_HOST="127.0.0.1:$PORT" OLLAMA_MODELS="$TMP/models" "$@" "$bin" serve >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    if wait_ready "$BASE"; then return 0; fi
    stop_server
  done
  echo "server did not start; its log:" >&2
  cat "$SERVER_LOG" >&2
  return 1
}

# stop_server [SIGNAL]: stops the server and returns its exit status.
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  local rc=0
  kill "-${1:-TERM}" "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null || rc=$?
  SERVER_PID=
  return $rc
}

# http METHOD PATH [curl args...]: sets CODE, BODY and HEAD (the response
# headers, CR-free) from one request to BASE.
http() {
  local method=$1 path=$2
  shift 2
  CODE=$(curl -s -X "$method" -o "$TMP/body" -D "$TMP/head" -w '%{http_code}' "$@" "$BASE$path")
  BODY=$(cat "$TMP/body")
  HEAD=$(tr -d '\r' <"$TMP/head")
}

# header NAME: the value of a response header from the last http call.
header() {
  printf '%s\n' "$HEAD" | awk -v n="$(echo "$1" | tr 'A-Z' 'a-z')" -F': ' 'tolower($1) == n { sub(/^[^:]*: /, ""); print; exit }'
}

cleanup() {
  stop_server
  rm -rf "$TMP"
}
trap cleanup EXIT

# Run directly (ctest globs every tests/integration/*.sh), the file checks
# its own helpers: a server starts, answers, and stops cleanly on SIGTERM.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  bin=$1
  start_server; expect "server starts on a free port" $?
  http GET /api/version
  [ "$CODE" = 200 ]; expect "GET /api/version answers: $CODE" $?
  [ "$(header content-type)" = "application/json; charset=utf-8" ]; expect "header() reads a header" $?
  stop_server TERM; expect "SIGTERM stops the server with status 0" $?
  finish
fi
