#!/usr/bin/env bash
# Real chat templates of current model families (GGUF tokenizer.chat_template
# on the tiny random Llama 2 model): the capabilities each gives, a chat with
# tools rendered through it, and — with OLLAMA_TEST_REPLAY forcing the
# output in that family's own format — the tool call (and thinking) parsed
# back, streamed and not, with no markup left in content.
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
shared=${OLLAMA_SHARED:-../shared}
tiny=$shared/testdata/models/llama-2-tiny-random.gguf
jdir=$shared/testdata/templates/jinja
[ -f "$tiny" ] && [ -d "$jdir" ] || { echo "no shared test data: skipped"; exit 77; }
here=$(dirname "$0")
TOOLS='[{"type":"function","function":{"name":"get_weather","description":"Weather now","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}}}]'
MSGS='[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather in Paris for 2 days?"}]'
WANT='[["get_weather", {"city": "Paris", "days": 2}]]'

# case TEMPLATE CAPS THINKING OUTPUT [FLAGS]: one server per forced output;
# FLAGS nothink (no think in the request), notools (the template does not
# render tool definitions).
case_() {
  local tmpl=$1 caps=$2 thinking=$3 out=$4 name d got
  name=$(echo "$tmpl" | tr 'A-Z.' 'a-z-' | cut -c1-40)
  python3 "$here/gguf_set_kv.py" "$tiny" "$TMP/$name.gguf" tokenizer.chat_template "$jdir/$tmpl.jinja" || return 1
  start_server "OLLAMA_TEST_REPLAY=$out" || return 1
  d=sha256:$(sha256sum "$TMP/$name.gguf" | cut -d' ' -f1)
  curl -s -o /dev/null -X POST --data-binary "@$TMP/$name.gguf" "$BASE/api/blobs/$d"
  http POST /api/create -d "{\"model\":\"$name\",\"files\":{\"m.gguf\":\"$d\"},\"stream\":false}"
  [ "$BODY" = '{"status":"success"}' ]; expect "$tmpl: create: $BODY" $?
  http POST /api/show -d "{\"model\":\"$name\"}"
  got=$(python3 -c "import json,sys; print(','.join(json.loads(sys.argv[1]).get('capabilities', [])))" "$BODY")
  [ "$got" = "$caps" ]; expect "$tmpl: capabilities $got" $?
  local think=''
  [ -n "$thinking" ] && [[ "${5:-}" != *nothink* ]] && think=',"think":true'
  http POST /api/chat -d "{\"model\":\"$name\",\"messages\":$MSGS,\"tools\":$TOOLS,\"stream\":false$think}"
  got=$(python3 -c "
import json, sys
m = json.loads(sys.argv[1])['message']
print(json.dumps([[c['function']['name'], c['function']['arguments']] for c in m.get('tool_calls', [])]), '|', m.get('thinking', ''), '|', m['content'])" "$BODY")
  [ "$got" = "$WANT | $thinking | " ]; expect "$tmpl: parsed: $got ($BODY)" $?
  got=$(curl -s "$BASE/api/chat" -d "{\"model\":\"$name\",\"messages\":$MSGS,\"tools\":$TOOLS$think}" | python3 -c "
import json, sys
ls = [json.loads(l) for l in sys.stdin]
calls = [[c['function']['name'], c['function']['arguments']] for l in ls for c in l['message'].get('tool_calls', [])]
print(json.dumps(calls), '|', ''.join(l['message'].get('thinking', '') for l in ls), '|', ''.join(l['message']['content'] for l in ls))")
  [ "$got" = "$WANT | $thinking | " ]; expect "$tmpl: streamed: $got" $?
  if [[ "${5:-}" != *notools* ]]; then
    grep -q 'get_weather' "$SERVER_LOG" && grep -q 'Weather now' "$SERVER_LOG"; expect "$tmpl: tools in the prompt" $?
  fi
  stop_server
}

export OLLAMA_DEBUG=1
# Thinking keeps the text up to the closing tag as it is (upstream's generic parser).
case_ Qwen-Qwen3-0.6B tools,thinking,completion $'Paris, two days.\n' \
  $'<think>\nParis, two days.\n</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}\n</tool_call>'
case_ meta-llama-Llama-3.1-8B-Instruct tools,completion "" \
  '{"name": "get_weather", "parameters": {"city": "Paris", "days": 2}}'
case_ mistralai-Mistral-Nemo-Instruct-2407 tools,completion "" \
  '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}, "id": "abcdefghi"}]'
case_ Qwen3-Coder tools,completion "" \
  $'<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n2\n</parameter>\n</function>\n</tool_call>'
case_ NousResearch-Hermes-3-Llama-3.1-8B-tool_use tools,completion "" \
  $'<tool_call>\n{"arguments": {"city": "Paris", "days": 2}, "name": "get_weather"}\n</tool_call>'
# DeepSeek R1: the prompt ends in <think>, calls in DeepSeek's tags.
case_ deepseek-ai-DeepSeek-R1-Distill-Qwen-32B tools,thinking,completion "Paris, 2 days." \
  $'Paris, 2 days.</think>\n\n<\uff5ctool\u2581calls\u2581begin\uff5c><\uff5ctool\u2581call\u2581begin\uff5c>function<\uff5ctool\u2581sep\uff5c>get_weather\n```json\n{"city": "Paris", "days": 2}\n```<\uff5ctool\u2581call\u2581end\uff5c><\uff5ctool\u2581calls\u2581end\uff5c>' notools
# Command R7B: a JSON list of {tool_name, parameters} between action tags
# (its long preamble outgrows the debug log line: no prompt check).
case_ CohereForAI-c4ai-command-r7b-12-2024-tool_use tools,completion "" \
  '<|START_ACTION|>[{"tool_call_id": "0", "tool_name": "get_weather", "parameters": {"city": "Paris", "days": 2}}]<|END_ACTION|>' notools
# gpt-oss's template: harmony channels (analysis is thinking even unasked).
case_ openai-gpt-oss-120b tools,completion "Need the weather." \
  '<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris", "days": 2}<|call|>' nothink
finish
