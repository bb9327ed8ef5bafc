#!/usr/bin/env bash
# The OpenAI and Anthropic layers on the wire (what SDKs hide): SSE
# framing and headers, [DONE], the usage chunk, error objects and their
# statuses, errors before a stream as plain JSON, routes that do not exist.
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
start_server || exit 1
model=models/stories260K.gguf
json() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($1)" "$BODY"; }
hdr() { grep -i "^$1:" "$TMP/head" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

digest=sha256:$(sha256sum "$model" | cut -d' ' -f1)
http POST "/api/blobs/$digest" --data-binary "@$model"
http POST /api/create -d "{\"model\":\"stories\",\"files\":{\"stories.gguf\":\"$digest\"},\"stream\":false}"
[ "$CODE" = 200 ]; expect "create: $CODE $BODY" $?
msgs='"messages":[{"role":"user","content":"Once upon a time"}]'

http POST /v1/chat/completions -d "{\"model\":\"stories\",$msgs,\"temperature\":0,\"max_tokens\":5}"
[ "$CODE" = 200 ] && [ "$(hdr Content-Type)" = "application/json" ]; r=$?; expect "chat: $CODE $(hdr Content-Type)" $r
[ "$(json 'd["choices"][0]["message"]["content"]')" = ", there was a little" ]; expect "chat text: $BODY" $?
[ "$(json 'd["usage"]')" = "{'prompt_tokens': 5, 'completion_tokens': 5, 'total_tokens': 10}" ]; expect "chat usage: $BODY" $?

http POST /v1/chat/completions -d "{\"model\":\"stories\",$msgs,\"temperature\":0,\"max_tokens\":2,\"stream\":true,\"stream_options\":{\"include_usage\":true}}"
[ "$CODE" = 200 ] && [ "$(hdr Content-Type)" = "text/event-stream" ]; r=$?; expect "chat stream: $CODE $(hdr Content-Type)" $r
events=$(printf '%s\n' "$BODY" | grep -c '^data: ')
blank=$(grep -c '^$' "$TMP/body")
[ "$events" = 5 ] && [ "$blank" = 5 ]; expect "chat stream: 2 chunks, finish, usage, [DONE], each followed by a blank line: $events $blank" $?
[ "$(printf '%s\n' "$BODY" | grep '^data: ' | tail -1)" = "data: [DONE]" ]; expect "chat stream ends with [DONE]" $?
[[ "$(printf '%s\n' "$BODY" | grep '^data: ' | sed -n 4p)" == *'"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}' ]]; expect "chat stream usage chunk" $?
! printf '%s\n' "$BODY" | grep -q '^event:'; expect "chat stream has no event: lines" $?

http POST /v1/chat/completions -d "{\"model\":\"nope\",$msgs,\"stream\":true}"
[ "$CODE" = 404 ] && [ "$(hdr Content-Type)" = "application/json" ] &&
  [ "$BODY" = '{"error":{"message":"model '"'nope'"' not found","type":"not_found_error","param":null,"code":null}}' ]
expect "stream error before the first byte: plain JSON: $CODE $BODY" $?
http POST /v1/chat/completions -d "{\"model\":\"stories\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":\"http://x/y.png\"}]}]}"
[ "$CODE" = 400 ] && [ "$(json 'd["error"]["message"]')" = "image URLs are not currently supported, please use base64 encoded data instead" ]
expect "image URL refused: $CODE $BODY" $?
http POST /v1/completions -d '{"model":"stories","prompt":"x","stop":[1]}'
[ "$CODE" = 400 ] && [ "$(json 'd["error"]["message"]')" = "invalid type for 'stop' field: float64" ]; expect "stop type: $BODY" $?

http POST /v1/messages -d "{\"model\":\"stories\",$msgs,\"max_tokens\":2,\"temperature\":0,\"stream\":true}"
[ "$CODE" = 200 ] && [ "$(hdr Content-Type)" = "text/event-stream" ] && [ "$(hdr Cache-Control)" = "no-cache" ]
r=$?; expect "messages stream headers: $CODE $(hdr Content-Type) $(hdr Cache-Control)" $r
names=$(printf '%s\n' "$BODY" | sed -n 's/^event: //p' | tr '\n' ' ')
[ "$names" = "message_start content_block_start content_block_delta content_block_delta content_block_stop message_delta message_stop " ]
expect "messages event order: $names" $?
http POST /v1/messages -d "{\"model\":\"stories\",$msgs}"
[ "$CODE" = 400 ] && [ "$(json 'd["type"]+" "+d["error"]["type"]+" "+d["error"]["message"]')" = "error invalid_request_error max_tokens is required and must be positive" ] &&
  [[ "$(json 'd["request_id"]')" =~ ^req_[0-9a-f]{24}$ ]]
expect "messages error object: $CODE $BODY" $?

http POST /v1/responses -d '{"model":"stories","input":"Once upon a time","max_output_tokens":2,"stream":true}'
[ "$CODE" = 200 ] && [ "$(printf '%s\n' "$BODY" | sed -n 's/^event: //p' | tail -1)" = "response.completed" ] &&
  ! printf '%s\n' "$BODY" | grep -q '\[DONE\]'
expect "responses stream ends with response.completed, no [DONE]" $?

http POST /v1/messages/count_tokens -d '{}'
[ "$CODE" = 404 ] && [ "$BODY" = "404 page not found" ]; expect "count_tokens is not a route (as upstream): $CODE" $?
http GET /v1/models/a/b
[ "$CODE" = 404 ] && [ "$BODY" = "404 page not found" ]; expect "names with / do not match /v1/models/:model: $CODE" $?
http GET /v1/chat/completions
[ "$CODE" = 405 ]; expect "GET /v1/chat/completions: $CODE" $?

stop_server
finish
