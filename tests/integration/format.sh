#!/usr/bin/env bash
# Structured outputs on the demo model: /api/generate and /api/chat with
# format "json" and with JSON schemas, streamed and not, sampled at a high
# temperature (near-random text), must return content that parses and
# validates (a small validator for the supported subset below); num_predict
# budgets must still close the JSON; the error texts of bad formats.
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
start_server OLLAMA_NUM_PARALLEL=2 || exit 1
model=models/stories260K.gguf

cat >"$TMP/check.py" <<'PY'
# check.py SCHEMA_JSON MODE: reads a reply (MODE one: one JSON object;
# stream: NDJSON chunks), joins its content, prints "ok <done_reason>" when
# it parses and validates, else why not.
import json, re, sys
schema = json.loads(sys.argv[1]); mode = sys.argv[2]; raw = sys.stdin.read()
def content(o): return o["message"]["content"] if "message" in o else o["response"]
if mode == "one":
    o = json.loads(raw); text, reason = content(o), o.get("done_reason")
else:
    lines = [json.loads(l) for l in raw.splitlines() if l.strip()]
    assert lines[-1]["done"] and not any(l["done"] for l in lines[:-1]), "stream shape"
    text, reason = "".join(content(l) for l in lines), lines[-1].get("done_reason")
def typ(v, t):
    return {"object": lambda: isinstance(v, dict), "array": lambda: isinstance(v, list),
            "string": lambda: isinstance(v, str), "boolean": lambda: isinstance(v, bool),
            "null": lambda: v is None,
            "integer": lambda: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda: isinstance(v, (int, float)) and not isinstance(v, bool)}[t]()
def valid(v, s):
    if s == "json": return isinstance(v, dict)
    if "const" in s and v != s["const"]: return False
    if "enum" in s and v not in s["enum"]: return False
    if "anyOf" in s and not any(valid(v, x) for x in s["anyOf"]): return False
    t = s.get("type")
    if t and not any(typ(v, x) for x in (t if isinstance(t, list) else [t])): return False
    if "minimum" in s and v < s["minimum"]: return False
    if "maximum" in s and v > s["maximum"]: return False
    if isinstance(v, str):
        if len(v) < s.get("minLength", 0) or len(v) > s.get("maxLength", 1 << 30): return False
        if "pattern" in s and not re.search(s["pattern"], v): return False
    if isinstance(v, dict) and ("properties" in s or "required" in s):
        props = s.get("properties", {})
        if any(k not in v for k in s.get("required", [])): return False
        for k, x in v.items():
            if k not in props or not valid(x, props[k]): return False
    if isinstance(v, list):
        if len(v) < s.get("minItems", 0) or len(v) > s.get("maxItems", 1 << 30): return False
        if "items" in s and not all(valid(x, s["items"]) for x in v): return False
    return True
try:
    v = json.loads(text)
except Exception as e:
    print("does not parse: %r (%s)" % (text, e)); sys.exit()
print("ok %s" % reason if valid(v, schema) else "invalid: %r" % text)
PY

digest=sha256:$(sha256sum "$model" | cut -d' ' -f1)
http POST "/api/blobs/$digest" --data-binary "@$model"
http POST /api/create -d "{\"model\":\"stories\",\"files\":{\"stories.gguf\":\"$digest\"},\"stream\":false}"
[ "$CODE" = 200 ]; expect "create: $CODE $BODY" $?

schemas=(
  '"json"'
  '{"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":0,"maximum":120}},"required":["name","age"]}'
  '{"type":"object","properties":{"color":{"enum":["red","green","blue"]},"sizes":{"type":"array","items":{"type":"number"},"minItems":1,"maxItems":3}},"required":["color","sizes"]}'
  '{"type":"object","properties":{"who":{"type":"object","properties":{"id":{"type":"string","pattern":"^[A-Z]{2}-[0-9]{3}$"},"ok":{"type":"boolean"}},"required":["id","ok"]},"tags":{"type":"array","items":{"type":"string","maxLength":6},"maxItems":2}},"required":["who"]}'
  '{"anyOf":[{"type":"null"},{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}]}'
)

# generate and chat, streamed and not, a few seeds, two budgets each.
i=0
for schema in "${schemas[@]}"; do
  for ep in generate chat; do
    for stream in false true; do
      for seed in 1 2; do
        i=$((i + 1))
        np=$([ "$seed" = 1 ] && echo 300 || echo 60)
        opts="\"options\":{\"temperature\":1.5,\"top_k\":0,\"top_p\":1,\"seed\":$seed,\"num_predict\":$np}"
        if [ "$ep" = generate ]; then body="{\"model\":\"stories\",\"prompt\":\"Once upon a time\",\"format\":$schema,\"stream\":$stream,$opts}"
        else body="{\"model\":\"stories\",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me\"}],\"format\":$schema,\"stream\":$stream,$opts}"; fi
        mode=$([ "$stream" = true ] && echo stream || echo one)
        got=$(curl -s --max-time 120 "$BASE/api/$ep" -d "$body" | python3 "$TMP/check.py" "$schema" "$mode" 2>&1 | tail -1)
        [[ "$got" == "ok "* ]]; expect "$ep stream=$stream seed=$seed num_predict=$np format=$schema: $got" $?
      done
    done
  done
done

# Without num_predict: the output ends by itself (grammar complete, or the
# open-ended budget closes it) and validates.
got=$(curl -s --max-time 300 "$BASE/api/generate" -d '{"model":"stories","prompt":"Once","format":{"type":"object","properties":{"a":{"type":"boolean"}},"required":["a"]},"stream":false,"options":{"seed":3}}' \
  | python3 "$TMP/check.py" '{"type":"object","properties":{"a":{"type":"boolean"}},"required":["a"]}' one 2>&1 | tail -1)
[ "$got" = "ok stop" ]; expect "a closed schema ends with stop: $got" $?

# The OpenAI layer maps response_format onto format (openai.md).
schema='{"type":"object","properties":{"ok":{"type":"boolean"},"n":{"type":"integer","minimum":1,"maximum":9}},"required":["ok","n"]}'
for stream in false true; do
  got=$(curl -s --max-time 120 "$BASE/v1/chat/completions" -d "{\"model\":\"stories\",\"stream\":$stream,\"seed\":4,\"temperature\":1.5,\"max_tokens\":80,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":$schema}}}" | python3 -c "
import json, sys
raw = sys.stdin.read()
if raw.startswith('data:'):
    parts = [json.loads(l[5:]) for l in raw.splitlines() if l.startswith('data:') and l[5:].strip() != '[DONE]']
    text = ''.join(p['choices'][0]['delta'].get('content') or '' for p in parts if p['choices'])
else:
    text = json.loads(raw)['choices'][0]['message']['content']
print(json.dumps({'response': text, 'done_reason': 'x'}))" 2>&1 | python3 "$TMP/check.py" "$schema" one 2>&1 | tail -1)
  [[ "$got" == "ok "* ]]; expect "openai response_format json_schema stream=$stream: $got" $?
done
got=$(curl -s --max-time 120 "$BASE/v1/chat/completions" -d '{"model":"stories","seed":4,"max_tokens":80,"messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_object"}}' \
  | python3 -c "import json,sys; print(json.dumps({'response': json.load(sys.stdin)['choices'][0]['message']['content']}))" 2>&1 | python3 "$TMP/check.py" '"json"' one 2>&1 | tail -1)
[[ "$got" == "ok "* ]]; expect "openai response_format json_object: $got" $?

# Empty and null formats are unconstrained.
for f in '""' null; do
  http POST /api/generate -d "{\"model\":\"stories\",\"prompt\":\"Once\",\"format\":$f,\"stream\":false,\"options\":{\"num_predict\":4,\"temperature\":0}}"
  [ "$CODE" = 200 ] && [[ "$BODY" == *'"done_reason":"length"'* ]]; expect "format $f unconstrained: $CODE" $?
done

# Errors: upstream's text for a value that is neither "json" nor an object
# (500), and a clear 400 for a schema we do not support.
http POST /api/generate -d '{"model":"stories","prompt":"Once","format":"yaml"}'
[ "$CODE" = 500 ] && [ "$BODY" = '{"error":"invalid format: \"\\\"yaml\\\"\"; expected \"json\" or a valid JSON Schema object"}' ]
expect "format yaml: $CODE $BODY" $?
http POST /api/chat -d '{"model":"stories","messages":[{"role":"user","content":"x"}],"format":[1,2]}'
[ "$CODE" = 500 ] && [ "$BODY" = '{"error":"invalid format: \"[1,2]\"; expected \"json\" or a valid JSON Schema object"}' ]
expect "format array: $CODE $BODY" $?
http POST /api/generate -d '{"model":"stories","format":"yaml"}'
[ "$CODE" = 200 ] && [[ "$BODY" == *'"done_reason":"load"'* ]]; expect "load-only request ignores format: $CODE $BODY" $?
http POST /api/generate -d '{"model":"stories","prompt":"Once","format":{"type":"object","allOf":[{}]}}'
[ "$CODE" = 400 ] && [ "$BODY" = '{"error":"invalid JSON schema in format: unsupported JSON schema keyword \"allOf\""}' ]
expect "format with allOf: $CODE $BODY" $?
http POST /api/chat -d '{"model":"stories","messages":[{"role":"user","content":"x"}],"format":{"type":"string","pattern":"(?=x)"}}'
[ "$CODE" = 400 ] && [[ "$BODY" == *"lookaround"* ]]; expect "format with lookahead: $CODE $BODY" $?

finish
