#!/usr/bin/env bash
# With no server running, the commands start a local `ollama serve` in the
# background (logging to ~/.ollama/logs/server.log) and go on: `create` on
# a fresh store, then `run demo "Once upon a time"` answers after that
# server was stopped; `serve` refuses a port that is taken.
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
PORT=$(free_port) || exit 1
export OLLAMA_HOST=127.0.0.1:$PORT
unset OLLAMA_MODELS # the default store under the test's HOME
command -v ss >/dev/null || { echo "ss missing"; exit 77; }
# The pid of whatever listens on PORT (the server the CLI started).
listener() { ss -Hltnp "sport = :$PORT" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1; }
stop_listener() {
  local pid
  pid=$(listener)
  [ -n "$pid" ] || return 0
  kill "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}
trap 'stop_listener; cleanup' EXIT

printf 'FROM %s\nPARAMETER num_predict 10\nPARAMETER temperature 0\n' "$(realpath models/stories260K.gguf)" >"$TMP/Modelfile"
"$bin" create demo -f "$TMP/Modelfile" >"$TMP/out" 2>"$TMP/err"
[ $? = 0 ]; r=$?; expect "create on a fresh machine starts a server: $(cat "$TMP/err")" $r
[ -n "$(listener)" ]; r=$?; expect "a server listens on OLLAMA_HOST" $r
[ -d "$HOME/.ollama/models/manifests" ]; r=$?; expect "it uses the default store ~/.ollama/models" $r
grep -q "Listening on 127.0.0.1:$PORT" "$HOME/.ollama/logs/server.log"; r=$?; expect "it logs to ~/.ollama/logs/server.log" $r

# `serve` refuses the port while that server holds it.
"$bin" serve >"$TMP/out" 2>"$TMP/err"
[ $? = 1 ] && grep -q "Error: listen tcp 127.0.0.1:$PORT: bind: address already in use" "$TMP/err"; r=$?; expect "serve on a taken port: $(cat "$TMP/err")" $r

stop_listener
[ -z "$(listener)" ]; r=$?; expect "server stopped" $r
out=$("$bin" run demo "Once upon a time" 2>"$TMP/err")
rc=$?
[ $rc = 0 ] && [ -n "$out" ]; r=$?; expect "run answers after starting a server: rc=$rc '$out' $(cat "$TMP/err")" $r
[ -n "$(listener)" ]; r=$?; expect "run left the server running for the next command" $r
"$bin" list | grep -q '^demo:latest '; r=$?; expect "list through the started server" $r
finish
