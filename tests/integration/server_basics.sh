#!/usr/bin/env bash
# `ollama serve` over real HTTP with curl: the root and version routes,
# 404/405, CORS (preflight, rejection, OLLAMA_ORIGINS), the Host check,
# shutdown on signals, and the bind error when the port is taken.
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
start_server || exit 1

grep -q "Listening on 127.0.0.1:$PORT (version 0.33.0)" "$SERVER_LOG"; expect "listening log line" $?

http GET /
[ "$CODE" = 200 ] && [ "$BODY" = "Ollama is running" ]; expect "GET /: $CODE '$BODY'" $?
[ "$(header content-type)" = "text/plain; charset=utf-8" ]; expect "GET / content type" $?
head=$(curl -s -I "$BASE/" | tr -d '\r')
[[ "$head" == "HTTP/1.1 200"* ]] && [[ "$head" == *$'\nContent-Length: 17'* ]]; expect "HEAD /: $head" $?

http GET /api/version
[ "$CODE" = 200 ] && [ "$BODY" = '{"version":"0.33.0"}' ]; expect "GET /api/version: $CODE '$BODY'" $?
[ "$(header content-type)" = "application/json; charset=utf-8" ]; expect "version content type" $?
head=$(curl -s -I "$BASE/api/version" | tr -d '\r')
[[ "$head" == "HTTP/1.1 200"* ]]; expect "HEAD /api/version" $?
http GET /api/status
[ "$BODY" = '{"cloud":{"disabled":false,"source":"none"}}' ]; expect "GET /api/status: '$BODY'" $?

http GET /api/nope
[ "$CODE" = 404 ] && [ "$BODY" = "404 page not found" ]; expect "unknown path: $CODE '$BODY'" $?
[ "$(header content-type)" = "text/plain" ]; expect "404 content type" $?
http POST /api/version -d '{}'
[ "$CODE" = 405 ] && [ "$BODY" = "405 method not allowed" ]; expect "wrong method: $CODE '$BODY'" $?
[ "$(header allow)" = "HEAD, GET" ]; r=$?; expect "Allow: '$(header allow)'" $r
http GET /api/chat
[ "$CODE" = 405 ] && [ "$(header allow)" = "POST" ]; r=$?; expect "GET /api/chat: $CODE Allow '$(header allow)'" $r

http OPTIONS /api/chat -H 'Origin: http://localhost:3000' -H 'Access-Control-Request-Method: POST'
[ "$CODE" = 204 ]; expect "preflight status $CODE" $?
[ "$(header access-control-allow-origin)" = "http://localhost:3000" ]; expect "preflight allow-origin" $?
[ "$(header access-control-allow-methods)" = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS" ]; expect "preflight methods" $?
[[ "$(header access-control-allow-headers)" == "Authorization,Content-Type,User-Agent,"* ]]; expect "preflight headers" $?
[ "$(header access-control-max-age)" = 43200 ]; expect "preflight max-age" $?
[ "$(printf '%s\n' "$HEAD" | grep -ci '^vary:')" = 3 ]; expect "preflight Vary x3" $?
http GET /api/version -H 'Origin: http://localhost:3000'
[ "$CODE" = 200 ] && [ "$(header access-control-allow-origin)" = "http://localhost:3000" ] && [ "$(header vary)" = Origin ]
expect "simple CORS request" $?
http GET /api/version -H 'Origin: http://evil.com'
[ "$CODE" = 403 ] && [ -z "$BODY" ]; expect "foreign origin: $CODE '$BODY'" $?
http OPTIONS /api/chat -H 'Origin: http://evil.com' -H 'Access-Control-Request-Method: POST'
[ "$CODE" = 403 ]; expect "foreign preflight: $CODE" $?

http GET / -H 'Host: evil.com'
[ "$CODE" = 403 ] && [ -z "$BODY" ]; expect "Host evil.com: $CODE" $?
http GET / -H 'Host: localhost'
[ "$CODE" = 200 ]; expect "Host localhost: $CODE" $?
http GET / -H "Host: localhost:$PORT"
[ "$CODE" = 200 ]; expect "Host localhost:port: $CODE" $?
http OPTIONS /api/tags -H 'Host: localhost'
[ "$CODE" = 204 ]; expect "OPTIONS with Host localhost: $CODE" $?
http GET / -H 'Host: app.localhost'
[ "$CODE" = 200 ]; expect "Host *.localhost: $CODE" $?

# The port is taken: a second server fails with Go's wording.
err=$(OLLAMA_HOST="127.0.0.1:$PORT" "$bin" serve 2>&1 >/dev/null); rc=$?
[ $rc = 1 ] && [ "$err" = "Error: listen tcp 127.0.0.1:$PORT: bind: address already in use" ]
expect "port taken: rc=$rc '$err'" $?
err=$("$bin" serve extra 2>&1); rc=$?
[ $rc = 1 ] && [ "$err" = "Error: accepts 0 arg(s), received 1" ]; expect "serve with an argument: '$err'" $?

stop_server INT; expect "SIGINT stops the server with status 0" $?

# OLLAMA_ORIGINS adds origins; an invalid entry stops the start.
start_server OLLAMA_ORIGINS=http://evil.com || exit 1
http GET /api/version -H 'Origin: http://evil.com'
[ "$CODE" = 200 ] && [ "$(header access-control-allow-origin)" = "http://evil.com" ]; expect "OLLAMA_ORIGINS entry allowed" $?
stop_server TERM; expect "SIGTERM stops the server with status 0" $?
err=$(OLLAMA_HOST="127.0.0.1:$PORT" OLLAMA_ORIGINS=evil.com "$bin" serve 2>&1 >/dev/null); rc=$?
[ $rc = 1 ] && [[ "$err" == "Error: "*"bad origin"* ]]; expect "invalid OLLAMA_ORIGINS: rc=$rc '$err'" $?

# Bound to all interfaces there is no Host check.
port=$(free_port)
OLLAMA_HOST="0.0.0.0:$port" "$bin" serve >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
BASE=http://127.0.0.1:$port
wait_ready "$BASE"; expect "serve on 0.0.0.0" $?
http GET / -H 'Host: evil.com'
[ "$CODE" = 200 ]; expect "no Host check on 0.0.0.0: $CODE" $?
stop_server

finish
