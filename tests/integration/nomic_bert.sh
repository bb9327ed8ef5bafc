#!/usr/bin/env bash
# nomic-bert (nomic-embed-text's architecture) through the server: the tiny
# model of tests/data/models is uploaded and created; /api/show lists only
# the embedding capability; /api/embed returns llama.cpp's vectors
# (tests/data/reference/nomic-bert.json) normalised, as does
# /v1/embeddings, and /api/embeddings the raw one; generate and chat give
# upstream's "does not support" errors.
set -u
bin=$1
. "$(dirname "$0")/lib.sh"
start_server || exit 1
json() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($1)" "$BODY"; }
REF=tests/data/reference/nomic-bert.json

digest=sha256:$(sha256sum tests/data/models/nomic-bert.gguf | cut -d' ' -f1)
http POST "/api/blobs/$digest" --data-binary @tests/data/models/nomic-bert.gguf
http POST /api/create -d "{\"model\":\"nomic\",\"files\":{\"m.gguf\":\"$digest\"},\"stream\":false}"
[ "$CODE" = 200 ]; expect "create: $CODE $BODY" $?

http POST /api/show -d '{"model":"nomic"}'
[ "$CODE" = 200 ] && [ "$(json 'd["capabilities"]')" = "['embedding']" ]; expect "show: capabilities $BODY" $?
[ "$(json 'd["details"]["family"], d["model_info"]["nomic-bert.rope.freq_base"]')" = "nomic-bert 1000" ]
expect "show: family and model_info" $?

# All four reference inputs in one request, each against llama.cpp's vector.
input=$(python3 -c "import json; print(json.dumps(json.load(open('$REF'))['inputs']))")
http POST /api/embed -d "{\"model\":\"nomic\",\"input\":$input}"
[ "$CODE" = 200 ]; expect "embed: $CODE" $?
python3 - "$BODY" "$REF" <<'PY'
import json, math, sys
got = json.loads(sys.argv[1])
ref = json.load(open(sys.argv[2]))
ok = len(got["embeddings"]) == len(ref["inputs"])
ok = ok and got["prompt_eval_count"] == sum(len(t) for t in ref["tokens"])
for g, r in zip(got["embeddings"], ref["embeddings_normalized"]):
    diff = max(abs(a - b) for a, b in zip(g, r))
    ok = ok and len(g) == len(r) == 64 and diff < 1e-4 and abs(math.sqrt(sum(x * x for x in g)) - 1) < 1e-5
    print("embed max diff", diff)
sys.exit(0 if ok else 1)
PY
expect "embed: llama.cpp's vectors, normalised" $?

prompt=$(python3 -c "import json; print(json.dumps(json.load(open('$REF'))['inputs'][1]))")
http POST /api/embeddings -d "{\"model\":\"nomic\",\"prompt\":$prompt}"
python3 - "$BODY" "$REF" <<'PY'
import json, sys
got = json.loads(sys.argv[1])["embedding"]
ref = json.load(open(sys.argv[2]))["embeddings_raw"][1]
sys.exit(0 if len(got) == len(ref) and max(abs(a - b) for a, b in zip(got, ref)) < 1e-4 else 1)
PY
expect "embeddings (legacy): llama.cpp's raw vector" $?
http POST /v1/embeddings -d "{\"model\":\"nomic\",\"input\":$prompt}"
python3 - "$BODY" "$REF" <<'PY'
import json, sys
got = json.loads(sys.argv[1])["data"][0]["embedding"]
ref = json.load(open(sys.argv[2]))["embeddings_normalized"][1]
sys.exit(0 if len(got) == len(ref) and max(abs(a - b) for a, b in zip(got, ref)) < 1e-4 else 1)
PY
expect "/v1/embeddings: llama.cpp's vector, normalised" $?

http POST /api/generate -d '{"model":"nomic","prompt":"hi"}'
[ "$CODE" = 400 ] && [ "$(json 'd["error"]')" = '"nomic" does not support generate' ]; expect "generate: $CODE $BODY" $?
http POST /api/chat -d '{"model":"nomic","messages":[{"role":"user","content":"hi"}]}'
[ "$CODE" = 400 ] && [ "$(json 'd["error"]')" = '"nomic" does not support chat' ]; expect "chat: $CODE $BODY" $?
finish
