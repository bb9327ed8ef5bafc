#!/usr/bin/env bash
# Chat front end over real HTTP on the tiny random Llama 2 model: template
# choice on create (autodetected named template; a GGUF Jinja template used
# directly; a Modelfile Go template), capabilities in /api/show, the
# missing-capability errors, prompts rendered with tools and tool results,
# and — with OLLAMA_TEST_REPLAY forcing the output — thinking and tool
# calls returned in message.thinking / message.tool_calls, streamed and
# not, with no tag ever leaking into content.
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
shared=${OLLAMA_SHARED:-../shared}
tiny=$shared/testdata/models/llama-2-tiny-random.gguf
[ -f "$tiny" ] || { echo "no $tiny: skipped"; exit 77; }
here=$(dirname "$0")
json() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($1)" "$BODY"; }

# The GGUF files: with our Jinja template, with a template Ollama knows.
python3 "$here/gguf_set_kv.py" "$tiny" "$TMP/jinja.gguf" tokenizer.chat_template "$here/data/chat_features.jinja" || exit 1
python3 -c "
import json
for line in open('$shared/testdata/templates/gotmpl/testdata/templates.jsonl'):
    d = json.loads(line)
    if 'llama3-instruct' in d: open('$TMP/llama3.jinja', 'w').write(d['llama3-instruct']); break"
python3 "$here/gguf_set_kv.py" "$tiny" "$TMP/named.gguf" tokenizer.chat_template "$TMP/llama3.jinja" || exit 1

upload() { # FILE -> prints its digest after uploading it
  local d=sha256:$(sha256sum "$1" | cut -d' ' -f1)
  curl -s -o /dev/null -X POST --data-binary "@$1" "$BASE/api/blobs/$d"
  echo "$d"
}

setup_models() {
  local dj dn dt
  dj=$(upload "$TMP/jinja.gguf"); dn=$(upload "$TMP/named.gguf"); dt=$(upload "$tiny")
  http POST /api/create -d "{\"model\":\"jinja\",\"files\":{\"m.gguf\":\"$dj\"}}"
  [ "$CODE" = 200 ] && [[ "$BODY" != *autodetected* ]] && [[ "$BODY" == *'"success"'* ]]; expect "create jinja: $BODY" $?
  http POST /api/create -d "{\"model\":\"named\",\"files\":{\"m.gguf\":\"$dn\"}}"
  [[ "$BODY" == *'{"status":"using autodetected template llama3-instruct"}'* ]]; expect "create named autodetects: $BODY" $?
  tmpl=$(python3 -c "import json,sys; print(json.dumps(open(sys.argv[1]).read()))" "$here/data/chat_features.gotmpl")
  http POST /api/create -d "{\"model\":\"gotmpl\",\"files\":{\"m.gguf\":\"$dt\"},\"template\":$tmpl,\"stream\":false}"
  [ "$BODY" = '{"status":"success"}' ]; expect "create gotmpl: $BODY" $?
  http POST /api/create -d "{\"model\":\"plain\",\"files\":{\"m.gguf\":\"$dt\"},\"stream\":false}"
  [ "$BODY" = '{"status":"success"}' ]; expect "create plain: $BODY" $?
  # A Go template offering less than the GGUF's Jinja one: the Jinja one wins.
  http POST /api/create -d "{\"model\":\"both\",\"from\":\"jinja\",\"template\":\"{{ .Prompt }}\",\"stream\":false}"
  [ "$BODY" = '{"status":"success"}' ]; expect "create both: $BODY" $?
  http POST /api/create -d "{\"model\":\"bad\",\"from\":\"plain\",\"template\":\"{{ .Prompt \",\"stream\":false}"
  [ "$CODE" = 400 ] && [[ "$BODY" == *'template error: template: :1:'* ]]; expect "bad template named with position: $CODE $BODY" $?
}

TOOLS='[{"type":"function","function":{"name":"get_weather","description":"Weather now","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]'

check_show() {
  local m want
  for m in both:tools,thinking,completion jinja:tools,thinking,completion gotmpl:completion,tools,thinking plain:completion named:completion; do
    want=${m#*:}
    http POST /api/show -d "{\"model\":\"${m%%:*}\"}"
    [ "$(json '",".join(d.get("capabilities", []))')" = "$want" ]; r=$?; expect "show ${m%%:*} capabilities: $(json 'd.get("capabilities")')" $r
  done
  http POST /api/show -d '{"model":"named"}'
  [[ "$(json 'd["template"]')" == *'<|start_header_id|>'* ]] && [[ "$(json 'd["parameters"]')" == *'<|eot_id|>'* ]]
  expect "named template and stop installed" $?
  http POST /api/show -d '{"model":"jinja"}'
  [[ "$(json 'd.get("template", "")')" == *'tool_response'* ]]; expect "show jinja: its chat template" $?
}

check_errors() {
  http POST /api/chat -d "{\"model\":\"plain\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":$TOOLS}"
  [ "$CODE" = 400 ] && [ "$BODY" = '{"error":"registry.ollama.ai/library/plain:latest does not support tools"}' ]
  expect "tools on plain: $CODE $BODY" $?
  http POST /api/chat -d '{"model":"plain","messages":[{"role":"user","content":"hi"}],"think":true}'
  [ "$CODE" = 400 ] && [ "$BODY" = '{"error":"\"plain\" does not support thinking"}' ]; expect "think on plain: $CODE $BODY" $?
  http POST /api/generate -d '{"model":"plain","prompt":"hi","think":"high"}'
  [ "$CODE" = 400 ] && [ "$BODY" = '{"error":"\"plain\" does not support thinking"}' ]; expect "think level on plain: $CODE $BODY" $?
  http POST /api/generate -d '{"model":"plain","prompt":"hi","suffix":"x"}'
  [ "$CODE" = 400 ] && [ "$BODY" = '{"error":"registry.ollama.ai/library/plain:latest does not support insert"}' ]; expect "suffix on plain: $BODY" $?
}

start_server OLLAMA_DEBUG=1 || exit 1
setup_models
check_show
check_errors

# Prompts: tools and a tool round trip rendered by each template.
ROUND='[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},{"role":"tool","content":"18 C","tool_name":"get_weather"}]'
for m in jinja gotmpl; do
  http POST /api/chat -d "{\"model\":\"$m\",\"messages\":$ROUND,\"tools\":$TOOLS,\"stream\":false,\"options\":{\"num_predict\":2}}"
  [ "$CODE" = 200 ]; expect "$m round trip: $CODE $BODY" $?
done
grep -q '<tool_response>' "$SERVER_LOG" && grep -q '"name": "get_weather", "arguments": {"city": "Paris"}' "$SERVER_LOG"
expect "jinja prompt has the tool call and its result" $?
grep -q '"name": "get_weather", "arguments": {"city":"Paris"}' "$SERVER_LOG"; expect "gotmpl prompt has the tool call" $?
grep -q '"required":\["city"\]' "$SERVER_LOG"; expect "tools rendered into the prompt" $?
grep -q 'chat request prompt=<|im_start|>system' "$SERVER_LOG" && ! grep -q 'prompt=<s>' "$SERVER_LOG"
expect "the template's bos_token is not doubled" $?
http POST /api/chat -d '{"model":"jinja","messages":[{"role":"user","content":"hi"}],"think":false,"stream":false,"options":{"num_predict":1}}'
grep -q 'prompt=<|im_start|>user.hi<|im_end|>.<|im_start|>assistant.<think>' "$SERVER_LOG" || grep -qz $'<think>\n\n</think>' "$SERVER_LOG"
expect "enable_thinking=false reaches the Jinja template" $?
# deepseek-r1 (and the qwen3 family): earlier answers lose their thinking.
http POST /api/create -d "{\"model\":\"deepseek-r1\",\"from\":\"gotmpl\",\"stream\":false}"
HIST='[{"role":"user","content":"a"},{"role":"assistant","content":"<think>old musing</think>Answer A"},{"role":"user","content":"b"}]'
http POST /api/chat -d "{\"model\":\"deepseek-r1\",\"messages\":$HIST,\"stream\":false,\"think\":false,\"options\":{\"num_predict\":1}}"
grep -q 'Answer A' "$SERVER_LOG" && ! grep -q 'old musing' "$SERVER_LOG"; expect "deepseek-r1 history without thinking: $CODE" $?
http POST /api/chat -d "{\"model\":\"gotmpl\",\"messages\":$HIST,\"stream\":false,\"think\":false,\"options\":{\"num_predict\":1}}"
grep -q 'old musing' "$SERVER_LOG"; expect "other models keep it" $?
stop_server

# Forced output: thinking, then a tool call.
OUT=$'<think>I need the weather.</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
start_server "OLLAMA_TEST_REPLAY=$OUT" || exit 1
for m in jinja gotmpl; do
  http POST /api/chat -d "{\"model\":\"$m\",\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"}],\"tools\":$TOOLS,\"think\":true,\"stream\":false}"
  [ "$(json 'd["message"]["thinking"]')" = "I need the weather." ]; expect "$m thinking: $BODY" $?
  [ "$(json 'd["message"]["content"]')" = "" ]; expect "$m content empty" $?
  [ "$(json 'json.dumps([(c["function"]["name"], c["function"]["arguments"], c["function"]["index"]) for c in d["message"]["tool_calls"]])')" = '[["get_weather", {"city": "Paris"}, 0]]' ]
  expect "$m tool_calls" $?
  [[ "$(json 'd["message"]["tool_calls"][0]["id"]')" =~ ^call_[a-z0-9]{8}$ ]]; expect "$m call id" $?
  [ "$(json 'd["done_reason"]')" = stop ] && [ "$(json 'd["done"]')" = True ]; expect "$m done" $?

  got=$(curl -s "$BASE/api/chat" -d "{\"model\":\"$m\",\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"}],\"tools\":$TOOLS,\"think\":true}" | python3 -c "
import json, sys
ls = [json.loads(l) for l in sys.stdin]
assert ls[-1]['done'] and all(not l['done'] for l in ls[:-1]), 'done flags'
for l in ls[:-1]:
    m = l['message']
    assert m.get('content') or m.get('thinking') or m.get('tool_calls'), 'empty chunk'
    for f in ('content', 'thinking'):
        assert '<' not in m.get(f, '') and '>' not in m.get(f, ''), 'tag leaked: %r' % m
calls = [c for l in ls for c in l['message'].get('tool_calls', [])]
when = [i for i, l in enumerate(ls) if l['message'].get('tool_calls')]
assert when and when[0] < len(ls) - 1, 'call not streamed before the end'
print(len(ls) > 5, ''.join(l['message'].get('thinking', '') for l in ls), repr(''.join(l['message']['content'] for l in ls)),
      json.dumps([(c['function']['name'], c['function']['arguments']) for c in calls]))")
  [ "$got" = "True I need the weather. '' [[\"get_weather\", {\"city\": \"Paris\"}]]" ]; expect "$m streamed: $got" $?
done
# Without tools the call markup is plain content; think:false keeps the tags.
http POST /api/chat -d '{"model":"gotmpl","messages":[{"role":"user","content":"Weather?"}],"stream":false}'
[ "$(json 'd["message"]["thinking"]')" = "I need the weather." ] && [[ "$(json 'd["message"]["content"]')" == '<tool_call>'* ]] &&
  [ "$(json '"tool_calls" in d["message"]')" = False ]
expect "thinking on by default, no tools: $BODY" $?
http POST /api/chat -d '{"model":"jinja","messages":[{"role":"user","content":"Weather?"}],"think":false,"stream":false}'
[[ "$(json 'd["message"]["content"]')" == '<think>I need the weather.</think>'* ]] && [ "$(json '"thinking" in d["message"]')" = False ]
expect "think false: tags stay in content" $?
http POST /api/generate -d '{"model":"gotmpl","prompt":"Weather?","think":true,"stream":false}'
[ "$(json 'd["thinking"]')" = "I need the weather." ] && [[ "$(json 'd["response"]')" == '<tool_call>'* ]]; expect "generate thinking: $BODY" $?
stop_server

# Forced Llama 3 style output: a bare JSON call after <|python_tag|>.
start_server OLLAMA_GO_TEMPLATE=true 'OLLAMA_TEST_REPLAY=<|python_tag|>{"name": "get_weather", "parameters": {"city": "Oslo"}}' || exit 1
tmpl='{{ range .Messages }}{{ .Content }}{{ if .ToolCalls }}{{ range .ToolCalls }}{\"name\": \"{{ .Function.Name }}\", \"parameters\": {{ .Function.Arguments }}}{{ end }}{{ end }}{{ end }}{{ if .Tools }}{{ .Tools }}{{ end }}'
http POST /api/show -d '{"model":"both"}'
[ "$(json '",".join(d["capabilities"])')" = completion ]; expect "OLLAMA_GO_TEMPLATE=true: the Go template rules" $?
http POST /api/create -d "{\"model\":\"llama3ish\",\"from\":\"plain\",\"template\":\"$tmpl\",\"stream\":false}"
[ "$BODY" = '{"status":"success"}' ]; expect "create llama3ish: $BODY" $?
http POST /api/chat -d "{\"model\":\"llama3ish\",\"messages\":[{\"role\":\"user\",\"content\":\"Oslo?\"}],\"tools\":$TOOLS,\"stream\":false}"
[ "$(json 'd["message"]["tool_calls"][0]["function"]["arguments"]["city"]')" = Oslo ] && [ "$(json 'd["message"]["content"]')" = "" ]
expect "python_tag JSON call: $BODY" $?
finish
