#!/usr/bin/env bash
# The client side of pull and push (progress lines from the /api/pull and
# /api/push NDJSON streams, errors before and inside a stream), `run`
# pulling a missing model, thinking output, --verbose statistics and the
# request fields run sends, against a scripted fake server
# (cli_fake_server.py); the in-place bars on a terminal through tmux.
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
python3 "$here/cli_fake_server.py" "$TMP/port" "$TMP/requests" &
SERVER_PID=$! # lib.sh's cleanup stops it
for _ in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
export OLLAMA_HOST=127.0.0.1:$(cat "$TMP/port")
O=$TMP/out E=$TMP/err
cli() { "$bin" "$@" >"$O" 2>"$E"; RC=$?; OUT=$(cat "$O"); ERR=$(cat "$E"); }
last_request() { grep "^$1 " "$TMP/requests" | tail -1 | cut -d' ' -f2-; }

cli pull library/model
want='pulling manifest
pulling aaaaaaaaaaaa:  25% 250 KB/1 MB
pulling aaaaaaaaaaaa: 100% 1 MB/1 MB
pulling bbbbbbbbbbbb: 100% 2 KB/2 KB
verifying sha256 digest
writing manifest
success'
[ "$RC" = 0 ] && [ "$ERR" = "$want" ] && [ -z "$OUT" ]; r=$?; expect "pull progress as plain lines: $ERR" $r
[ "$(last_request /api/pull)" = '{"insecure": false, "model": "library/model"}' ]; r=$?; expect "pull request: $(last_request /api/pull)" $r
cli pull --insecure x
[ "$(last_request /api/pull)" = '{"insecure": true, "model": "x"}' ]; r=$?; expect "pull --insecure" $r
cli pull missing
[ "$RC" = 1 ] && [ "$ERR" = $'pulling manifest\nError: pull model manifest: file does not exist' ]; r=$?; expect "error inside the stream: $ERR" $r
cli pull bad
[ "$RC" = 1 ] && [ "$ERR" = "Error: 400 Bad Request: invalid model name" ]; r=$?; expect "error before the stream: $ERR" $r
cli pull
[ "$RC" = 1 ] && [ "$ERR" = "Error: accepts 1 arg(s), received 0" ]; r=$?; expect "pull without a name: $ERR" $r

cli push me/model
[ "$RC" = 0 ] && [ "$ERR" = $'retrieving manifest\npushing aaaaaaaaaaaa  40% 400 KB/1 MB\npushing aaaaaaaaaaaa 100% 1 MB/1 MB\npushing manifest\nsuccess' ]; r=$?; expect "push progress: $ERR" $r
[ "$OUT" = $'\nYou can find your model at:\n\n\thttps://ollama.com/me/model' ]; r=$?; expect "push destination: $OUT" $r
cli push localhost:5000/me/model:v1
[ "$OUT" = $'\nYou can find your model at:\n\n\tlocalhost:5000/me/model:v1' ]; r=$?; expect "push destination elsewhere: $OUT" $r
cli push denied/model
[ "$RC" = 1 ] && [[ "$ERR" == *"Error: you are not authorized to push to this namespace, create the model under a namespace you own" ]]; r=$?; expect "push denied: $ERR" $r

# run: a missing model is pulled, then answered.
cli run fresh hi
[ "$RC" = 0 ] && [ "$OUT" = "Hello world." ] && [ "$(tail -c2 "$O" | od -An -c | tr -d ' ')" = '\n\n' ]; r=$?; expect "run pulls a missing model then answers: $OUT" $r
[[ "$ERR" == "pulling manifest"*"success" ]]; r=$?; expect "run shows the pull: $ERR" $r
cli run thinker hi
[ "$(cat "$O")" = $'Thinking...\nLet me think.\n...done thinking.\n\nHello world.' ]; r=$?; expect "thinking block: $(cat "$O")" $r
[[ "$(last_request /api/generate)" == *'"think": true'* ]]; r=$?; expect "thinking models get think:true" $r
cli run thinker hi --hidethinking
[ "$(cat "$O")" = "Hello world." ]; r=$?; expect "--hidethinking: $(cat "$O")" $r
cli run thinker hi --think=high --keepalive 5m --format json
r=$(last_request /api/generate)
[[ "$r" == *'"think": "high"'* && "$r" == *'"keep_alive": "5m0s"'* && "$r" == *'"format": "json"'* && "$r" == *'"prompt": "hi"'* ]]; r=$?; expect "run request fields: $r" $r
cli run fresh hi --keepalive -1m --format '{"type":"object"}'
r=$(last_request /api/generate)
[[ "$r" == *'"keep_alive": -1'* && "$r" == *'"format": {"type": "object"}'* && "$r" != *think* ]]; r=$?; expect "negative keepalive, schema format, no think: $r" $r
cli run fresh hi --verbose
want='total duration:       2.5s
load duration:        1ms
prompt eval count:    4 token(s)
prompt eval duration: 2ms
prompt eval rate:     2000.00 tokens/s
eval count:           2 token(s)
eval duration:        500ms
eval rate:            4.00 tokens/s'
[ "$ERR" = "$want" ]; r=$?; expect "verbose statistics: $ERR" $r

# Embedding models print the vector (Go's float32 JSON), need a prompt.
cli run embedder "some text"
[ "$RC" = 0 ] && [ "$OUT" = "[0.1,-0.25,3,0.00001,1e-7,0]" ]; r=$?; expect "embedding printed: $OUT" $r
[ "$(last_request /api/embed)" = '{"input": "some text", "model": "embedder"}' ]; r=$?; expect "embed request: $(last_request /api/embed)" $r
cli run embedder "x" --truncate=false --dimensions 2
[ "$(last_request /api/embed)" = '{"dimensions": 2, "input": "x", "model": "embedder", "truncate": false}' ]; r=$?; expect "embed --truncate --dimensions: $(last_request /api/embed)" $r
cli run embedder x --dimensions two
[ "$RC" = 1 ] && [[ "$ERR" == 'Error: invalid argument "two" for "--dimensions" flag'* ]]; r=$?; expect "bad --dimensions: $ERR" $r
cli run embedder </dev/null
[ "$RC" = 1 ] && [ "$ERR" = 'Error: embedding models require input text. Usage: ollama run <model> "your text here"' ]; r=$?; expect "embedding without text: $ERR" $r

# signin / signout (and the hidden login / logout) through /api/me and
# /api/signout; no desktop session, so no browser is started.
unset DISPLAY WAYLAND_DISPLAY
cli signin
[ "$RC" = 0 ] && [ "$OUT" = "You are already signed in as user 'alice'" ] && [ "$(tail -c2 "$O" | od -An -c | tr -d ' ')" = '\n\n' ]; r=$?; expect "signin when signed in: $OUT" $r
cli signout
[ "$RC" = 0 ] && [ "$OUT" = "You have signed out of ollama.com" ] && [ "$(tail -c2 "$O" | od -An -c | tr -d ' ')" = '\n\n' ]; r=$?; expect "signout: $OUT" $r
cli logout
[ "$RC" = 0 ] && [ "$OUT" = "You are not signed in to ollama.com" ]; r=$?; expect "signout when signed out: $OUT" $r
cli login
want=$'You need to be signed in to Ollama to run Cloud models.\n\nIf your browser did not open, navigate to:\n    https://ollama.com/connect?name=host&key=abc'
[ "$RC" = 0 ] && [ "$OUT" = "$want" ] && [ "$(tail -c2 "$O" | od -An -c | tr -d ' ')" = '\n\n' ]; r=$?; expect "signin when signed out: $OUT" $r
cli signin extra
[ "$RC" = 1 ] && [ "$ERR" = "Error: accepts 0 arg(s), received 1" ]; r=$?; expect "signin takes no arguments: $ERR" $r
cli signout --help
[ "$RC" = 0 ] && [ "$OUT" = $'Sign out from ollama.com\n\nUsage:\n  ollama signout [flags]\n\nFlags:\n  -h, --help   help for signout' ]; r=$?; expect "signout --help: $OUT" $r

# On a terminal the bars are redrawn in place (tmux).
if command -v tmux >/dev/null; then
  export LC_ALL=C.UTF-8 # tmux draws and grep counts the bar's characters as UTF-8
  T="tmux -L ollama-cli-test-$$"
  $T new-session -d -x 80 -y 24 "env OLLAMA_HOST=$OLLAMA_HOST $bin pull library/model; echo EXIT=\$?; sleep 10"
  for _ in $(seq 50); do $T capture-pane -p | grep -q EXIT= && break; sleep 0.2; done
  pane=$($T capture-pane -p)
  $T kill-server
  rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/ollama-cli-test-$$"
  printf '%s\n' "$pane" | grep -qE '^pulling aaaaaaaaaaaa: 100% ▕█{18}▏   1 MB *$'; r=$?; expect "terminal bar line: $pane" $r
  [ "$(printf '%s\n' "$pane" | grep -c 'pulling aaaaaaaaaaaa')" = 1 ]; r=$?; expect "bar redrawn in place" $r
  printf '%s\n' "$pane" | grep -q '^success *$' && printf '%s\n' "$pane" | grep -q '^EXIT=0$'; r=$?; expect "spinner lines stay, exit 0" $r
fi
finish
