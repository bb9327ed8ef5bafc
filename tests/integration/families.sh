#!/usr/bin/env bash
# The model families through the server: each tiny family model of
# tests/data/models is uploaded and created, and greedy generation gives
# llama.cpp's reference tokens (tests/data/reference): the returned
# context is the prompt's tokens then the greedy ones (the texts of these
# random models hold stray UTF-8 bytes, so tokens are compared); two requests
# on the sliding-window and expert models decode together in one batch and
# both still match, and with the sliding-window ring small (num_batch 4) a
# reused prefix answers as a fresh cache; /api/embed on gemma-embedding returns llama.cpp's
# pooled vector, normalised.
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
start_server OLLAMA_NUM_PARALLEL=2 OLLAMA_DEBUG=1 || exit 1 # debug: the cache slot lines
json() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($1)" "$BODY"; }
ref() { python3 -c "import json;print(json.load(open('tests/data/reference/$1.json'))$2)"; }

create() { # create NAME FILE
  local digest=sha256:$(sha256sum "$2" | cut -d' ' -f1)
  http POST "/api/blobs/$digest" --data-binary "@$2"
  http POST /api/create -d "{\"model\":\"$1\",\"files\":{\"m.gguf\":\"$digest\"},\"stream\":false}"
  [ "$CODE" = 200 ]; expect "create $1: $CODE $BODY" $?
}

gen_req() { # gen_req MODEL
  local prompt n
  prompt=$(ref "$1" "['prompt']")
  n=$(ref "$1" "['greedy_tokens'].__len__()")
  ctx=$(ref "$1" "['n_ctx']") # phi3's rope factors depend on it
  echo "{\"model\":\"$1\",\"prompt\":\"$prompt\",\"stream\":false,\"options\":{\"temperature\":0,\"num_predict\":$n,\"num_ctx\":$ctx}}"
}

tokens() { ref "$1" "['prompt_tokens'] + json.load(open('tests/data/reference/$1.json'))['greedy_tokens']"; }

for a in qwen2 qwen3 gemma gemma2 gemma3 phi3 mixtral qwen3moe gpt-oss gpt-oss-fused qwen3-quant; do
  create "$a" "tests/data/models/$a.gguf"
  want=$(tokens "$a")
  http POST /api/generate -d "$(gen_req "$a")"
  [ "$CODE" = 200 ] && [ "$(json 'd["context"]')" = "$want" ]; expect "$a: greedy tokens" $?
done

# Two at once: the engine batches both sequences in one forward pass.
for a in gemma2 gemma3 gpt-oss mixtral; do
  want=$(tokens "$a")
  curl -s "$BASE/api/generate" -d "$(gen_req "$a")" >"$TMP/p1" &
  p1=$!
  curl -s "$BASE/api/generate" -d "$(gen_req "$a")" >"$TMP/p2"
  wait $p1
  for f in p1 p2; do
    BODY=$(cat "$TMP/$f")
    [ "$(json 'd["context"]')" = "$want" ]; expect "$a: greedy tokens, parallel ($f)" $?
  done
done

# Sliding-window layers in a ring: num_batch 4 makes it 11 of 256 rows
# (window 8). Greedy tokens still llama.cpp's; a request that resends the
# whole reply as context reuses the cache (its window is in the ring) and
# answers as a fresh runner (a second name for the same file) does.
for a in gemma2 gemma3 gpt-oss; do
  req=$(gen_req "$a" | sed 's/"num_ctx":/"num_batch":4,"num_ctx":/')
  http POST /api/generate -d "$req"
  [ "$CODE" = 200 ] && [ "$(json 'd["context"]')" = "$(tokens "$a")" ]; expect "$a: greedy tokens, ring cache: $BODY" $?
  ctx=$(json 'd["context"]' | tr -d ' ')
  next="{\"model\":\"$a\",\"prompt\":\" and then\",\"context\":$ctx,\"stream\":false,\"options\":{\"temperature\":0,\"num_predict\":12,\"num_batch\":4,\"num_ctx\":256}}"
  http POST /api/generate -d "$next"
  reused=$(json 'd["context"]'); used=$(grep -o 'loading cache slot [^"]*' "$SERVER_LOG" | tail -1)
  create "$a-fresh" "tests/data/models/$a.gguf"
  http POST /api/generate -d "${next/\"model\":\"$a\"/\"model\":\"$a-fresh\"}"
  fresh=$(grep -o 'loading cache slot [^"]*' "$SERVER_LOG" | tail -1)
  [ -n "$reused" ] && [ "$(json 'd["context"]')" = "$reused" ] && [[ "$used" == *" used=59 "* && "$fresh" == *" used=0 "* ]]
  r=$?; expect "$a: a reused prefix in the ring answers as a fresh cache ($used; fresh: $fresh)" $r
  # a turn whose history drops the reply (as harmony drops reasoning): it
  # parts from the cache at the prompt's end, which the ring no longer
  # holds but the prompt's checkpoint does
  http POST /api/generate -d "$req" # the cache: the prompt, then the reply
  ctx=$(ref "$a" "['prompt_tokens']" | tr -d ' ')
  next="{\"model\":\"$a\",\"prompt\":\" but\",\"context\":$ctx,\"stream\":false,\"options\":{\"temperature\":0,\"num_predict\":12,\"num_batch\":4,\"num_ctx\":256}}"
  http POST /api/generate -d "$next"
  resumed=$(json 'd["context"]'); used=$(grep -o 'loading cache slot [^"]*' "$SERVER_LOG" | tail -1)
  http POST /api/generate -d "${next/\"model\":\"$a\"/\"model\":\"$a-fresh\"}"
  [ -n "$resumed" ] && [ "$(json 'd["context"]')" = "$resumed" ] && [[ "$used" == *" used=36 "* ]]
  r=$?; expect "$a: resumed from the prompt's checkpoint, answers as a fresh cache ($used)" $r
done

create embeddinggemma tests/data/models/gemma-embedding.gguf
prompt=$(ref gemma-embedding "['prompt']")
http POST /api/embed -d "{\"model\":\"embeddinggemma\",\"input\":\"$prompt\"}"
[ "$CODE" = 200 ]; expect "embed: $CODE" $?
python3 - "$BODY" <<'PY'
import json, math, sys
got = json.loads(sys.argv[1])["embeddings"][0]
ref = json.load(open("tests/data/reference/gemma-embedding.json"))["embedding"]
norm = math.sqrt(sum(x * x for x in ref))
diff = max(abs(g - r / norm) for g, r in zip(got, ref))
sys.exit(0 if len(got) == len(ref) and diff < 1e-4 else print("embed max diff", diff, len(got)) or 1)
PY
expect "embed: llama.cpp's vector, normalised" $?
http POST /api/generate -d '{"model":"embeddinggemma","prompt":"hi"}'
[ "$CODE" = 400 ]; expect "generate on an embedding model: $CODE $BODY" $?
finish
