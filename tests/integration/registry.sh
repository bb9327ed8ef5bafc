#!/usr/bin/env bash
# Pull and push against Debian's docker-registry (the reference OCI
# registry) on a loopback port: push a created model, delete it, pull it
# back (same manifest bytes, every blob's sha256, the same greedy text),
# in several parts each way;
# a pull killed mid-blob resumes from its partial data; a blob whose bytes
# do not match its digest is refused and nothing is listed; and a pull
# between two of our servers through the /v2 read side; bearer-token auth;
# http_proxy.
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY # loopback only
if ! command -v docker-registry >/dev/null; then
  if [ "$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null 2>&1; fi
  command -v docker-registry >/dev/null || { echo "docker-registry not installed: skipped"; exit 77; }
fi
model=models/stories260K.gguf
json() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($1)" "$BODY"; }
helpers=()
cleanup_more() { for p in "${helpers[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; cleanup; }
trap cleanup_more EXIT

# start_proxy DIR MODE N: registry_proxy.py on a free port (retried when the
# port was taken meanwhile); sets PROXY_PORT.
start_proxy() {
  local pid
  for _ in 1 2 3 4 5; do
    PROXY_PORT=$(free_port)
    python3 "$here/registry_proxy.py" "$PROXY_PORT" "$RPORT" "$@" 2>/dev/null &
    pid=$!
    for _ in $(seq 1 50); do
      curl -s -o /dev/null "http://127.0.0.1:$PROXY_PORT/v2/" && { helpers+=($pid); return 0; }
      kill -0 $pid 2>/dev/null || break
      sleep 0.1
    done
    kill $pid 2>/dev/null
  done
  return 1
}

# The registry, with its storage in TMP.
for _ in 1 2 3 4 5; do # retried when the port was taken meanwhile
  RPORT=$(free_port)
  cat >"$TMP/reg.yml" <<YML
version: 0.1
log: {level: info, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $TMP/reg}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$RPORT}
YML
  docker-registry serve "$TMP/reg.yml" >"$TMP/reg.log" 2>&1 &
  rpid=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$RPORT/v2/" >/dev/null && break
    kill -0 $rpid 2>/dev/null || break
    sleep 0.1
  done
  kill -0 $rpid 2>/dev/null && { helpers+=($rpid); break; }
done
curl -sf "http://127.0.0.1:$RPORT/v2/" >/dev/null; expect "registry answers /v2/" $?

# Parts of 300000 bytes (the model blob in 4), so push and pull move
# several parts as they do with real models.
start_server OLLAMA_TEST_PART_SIZE=300000 || exit 1
digest=sha256:$(sha256sum "$model" | cut -d' ' -f1)
http POST "/api/blobs/$digest" --data-binary "@$model"
http POST /api/create -d "{\"model\":\"demo\",\"files\":{\"m.gguf\":\"$digest\"},\"template\":\"{{ .Prompt }}\",\"parameters\":{\"temperature\":0},\"stream\":false}"
[ "$CODE" = 200 ]; expect "create: $CODE $BODY" $?
gen='{"model":"MODEL","prompt":"Once upon a time","raw":true,"stream":false,"options":{"temperature":0,"num_predict":24}}'
generate() { http POST /api/generate -d "${gen/MODEL/$1}"; json 'd["response"]'; }
ref=$(generate demo)
[ -n "$ref" ]; expect "reference text: $ref" $?

# Push.
name=127.0.0.1:$RPORT/library/demo:latest
http POST /api/copy -d "{\"source\":\"demo\",\"destination\":\"$name\"}"
[ "$CODE" = 200 ]; expect "copy to the registry name: $CODE" $?
http POST /api/push -d "{\"model\":\"$name\"}"
[[ "$BODY" == *"insecure protocol http"* || "$BODY" == *"error"* ]]; expect "push without insecure fails (https to a plain registry): $BODY" $?
http POST /api/push -d "{\"model\":\"$name\",\"insecure\":true}"
lines=$(printf '%s\n' "$BODY" | python3 -c "import json,sys; print(' | '.join(json.loads(l)['status'] for l in sys.stdin if l.strip()))")
[[ "$lines" == "retrieving manifest | pushing "*"pushing manifest | success" ]]; expect "push stream: $lines" $?
steps=$(printf '%s\n' "$BODY" | python3 -c "
import json,sys
ev=[json.loads(l) for l in sys.stdin if l.strip()]
print(len({e['completed'] for e in ev if e.get('digest')=='$digest' and 0<e.get('completed',0)<e['total']}))")
[ "$steps" = 3 ]; expect "model blob pushed in 4 parts (3 intermediate steps: $steps)" $?
mpath=$TMP/models/manifests/127.0.0.1:$RPORT/library/demo/latest
want_manifest=$(sha256sum "$mpath" | cut -d' ' -f1)
reg_manifest=$(curl -s -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://127.0.0.1:$RPORT/v2/library/demo/manifests/latest" | sha256sum | cut -d' ' -f1)
[ "$reg_manifest" = "$want_manifest" ]; expect "the registry holds our manifest bytes" $?
n_layers=$(python3 -c "import json; m=json.load(open('$mpath')); print(len(m['layers'])+1)")
all_ok=0
for d in $(python3 -c "import json; m=json.load(open('$mpath')); print(' '.join([l['digest'] for l in m['layers']]+[m['config']['digest']]))"); do
  got=$(curl -s "http://127.0.0.1:$RPORT/v2/library/demo/blobs/$d" | sha256sum | cut -d' ' -f1)
  [ "sha256:$got" = "$d" ] || all_ok=1
done
expect "the registry serves every blob with its digest ($n_layers blobs)" $all_ok
http POST /api/push -d "{\"model\":\"$name\",\"insecure\":true}"
present=$(printf '%s\n' "$BODY" | python3 -c "
import json,sys
ev=[json.loads(l) for l in sys.stdin if l.strip()]
first={}
for e in ev:
    if e['status'].startswith('pushing ') and 'digest' in e: first.setdefault(e['digest'], e)
print(sum(1 for e in first.values() if e.get('completed')==e.get('total')), len(first))")
[ "$present" = "$n_layers $n_layers" ]; expect "second push finds every blob present: $present" $?
# A model made from the pushed one names it in its layers' "from": its push
# mounts those blobs from library/demo instead of uploading them.
other=127.0.0.1:$RPORT/other/demo:latest
http POST /api/create -d "{\"model\":\"$other\",\"from\":\"$name\",\"system\":\"hi\",\"stream\":false}"
http POST /api/push -d "{\"model\":\"$other\",\"insecure\":true,\"stream\":false}"
[ "$BODY" = '{"status":"success"}' ]; expect "push of a derived model: $BODY" $?
grep -q "POST /v2/other/demo/blobs/uploads/?mount=$digest&from=library/demo HTTP/1.1\" 201" "$TMP/reg.log"; expect "model blob mounted across repositories" $?
http DELETE /api/delete -d "{\"model\":\"$other\"}"

# Delete everything locally, pull it back.
http DELETE /api/delete -d '{"model":"demo"}'
http DELETE /api/delete -d "{\"model\":\"$name\"}"
[ -z "$(ls "$TMP/models/blobs" | grep -v partial)" ]; expect "store empty after delete" $?
http POST /api/pull -d "{\"model\":\"$name\",\"insecure\":true}"
lines=$(printf '%s\n' "$BODY" | python3 -c "
import json,sys
out=[]
for l in sys.stdin:
    e=json.loads(l)
    s=e['status']
    if s.startswith('pulling sha') or (s.startswith('pulling ') and s!='pulling manifest'):
        assert e['digest'][7:19]==s[8:] and e['total']>0, e
        s='pulling'
    if not out or out[-1]!=s: out.append(s)
print(' | '.join(out))")
[[ "$lines" == "pulling manifest | pulling | verifying sha256 digest | writing manifest | success" ]]; expect "pull stream: $lines" $?
[ "$(sha256sum "$mpath" | cut -d' ' -f1)" = "$want_manifest" ]; expect "pulled manifest has the pushed bytes" $?
bad=0
for f in "$TMP"/models/blobs/sha256-*; do [ "$(basename "$f")" = "sha256-$(sha256sum "$f" | cut -d' ' -f1)" ] || bad=1; done
[ "$(ls "$TMP/models/blobs" | wc -l)" = "$n_layers" ] && [ $bad = 0 ]; expect "every pulled blob matches its digest" $?
[ "$(generate "$name")" = "$ref" ]; expect "pulled model generates the same text" $?
http POST /api/pull -d "{\"model\":\"$name\",\"insecure\":true,\"stream\":false}"
[ "$BODY" = '{"status":"success"}' ]; expect "pull again (all cached, stream:false): $BODY" $?
http POST /api/pull -d "{\"model\":\"127.0.0.1:$RPORT/library/nope:latest\",\"insecure\":true,\"stream\":false}"
[ "$CODE" = 500 ] && [ "$BODY" = '{"error":"pull model manifest: file does not exist"}' ]; expect "unknown model: $CODE $BODY" $?
http POST /api/push -d '{"model":"127.0.0.1:1/library/absent:latest","insecure":true}'
[[ "$BODY" == '{"status":"retrieving manifest"}'*'{"status":"couldn'"'"'t retrieve manifest"}'*'{"error":"open '*'/manifests/127.0.0.1:1/library/absent/latest: no such file or directory"}' ]]; expect "push of a missing model: $BODY" $?
http POST /api/copy -d "{\"source\":\"$name\",\"destination\":\"127.0.0.1:1/library/demo:latest\"}"
http POST /api/pull -d '{"model":"127.0.0.1:1/library/demo:latest","insecure":true,"stream":false}'
[ "$BODY" = '{"error":"pull model manifest: Get \"http://127.0.0.1:1/v2/library/demo/manifests/latest\": dial tcp 127.0.0.1:1: connect: connection refused"}' ]; expect "registry down: $BODY" $?
[ -f "$TMP/models/manifests/127.0.0.1:1/library/demo/latest" ]; expect "a failed pull keeps the model that was there" $?
http DELETE /api/delete -d '{"model":"127.0.0.1:1/library/demo:latest"}'
http POST /api/pull -d '{"model":"bad name!","stream":false}'
[ "$CODE" = 400 ] && [ "$BODY" = '{"error":"invalid model name"}' ]; expect "pull of an invalid name: $CODE $BODY" $?

stop_server
start_server || exit 1 # upstream's part sizes from here on: one part

# Resume: a proxy drops the first ranged blob transfer after 200000 bytes,
# the server is killed while it waits to retry, and a new server finishes
# the pull from the partial data.
mhex=${digest#sha256:}
msize=$(stat -c %s "$model")
mkdir -p "$TMP/proxy"
start_proxy "$TMP/proxy" drop 200000; PPORT=$PROXY_PORT
pname=127.0.0.1:$PPORT/library/demo:latest
http DELETE /api/delete -d "{\"model\":\"$name\"}"
curl -s "$BASE/api/pull" -d "{\"model\":\"$pname\",\"insecure\":true}" >"$TMP/pull1" &
puller=$!
state=$TMP/models/blobs/sha256-$mhex-partial-0
done_bytes=0
for _ in $(seq 1 200); do
  if [ -f "$TMP/proxy/dropped" ] && [ -f "$state" ]; then
    done_bytes=$(python3 -c "import json; print(json.load(open('$state'))['Completed'])" 2>/dev/null || echo 0)
    [ "$done_bytes" -gt 0 ] && break
  fi
  sleep 0.05
done
[ "$done_bytes" -gt 0 ] && [ "$done_bytes" -lt "$msize" ]; expect "partial state after the drop: $done_bytes of $msize" $?
stop_server KILL
wait "$puller" 2>/dev/null
touch "$TMP/proxy/go"
[ -f "$TMP/models/blobs/sha256-$mhex-partial" ]; expect "partial data kept" $?
start_server || exit 1
http POST /api/pull -d "{\"model\":\"$pname\",\"insecure\":true,\"stream\":false}"
[ "$BODY" = '{"status":"success"}' ]; expect "resumed pull: $BODY" $?
second=$(awk -v d="$digest" '$1 == d {s+=$2} END {print s+0}' "$TMP/proxy/bytes" 2>/dev/null)
[ "$second" -gt 0 ] && [ "$second" -lt "$msize" ] && [ "$second" = $((msize - done_bytes)) ]; expect "second run moved $second bytes (< $msize, resumed at $done_bytes)" $?
[ ! -e "$TMP/models/blobs/sha256-$mhex-partial" ] && [ ! -e "$state" ]; expect "partial files gone" $?
[ "$(sha256sum "$TMP/models/blobs/sha256-$mhex" | cut -d' ' -f1)" = "$mhex" ]; expect "resumed blob verified" $?
[ "$(generate "$pname")" = "$ref" ]; expect "resumed model generates the same text" $?

# A client that hangs up cancels its pull; the partial data stays.
mkdir -p "$TMP/proxy2"
start_proxy "$TMP/proxy2" drop 100000; P2=$PROXY_PORT
http DELETE /api/delete -d "{\"model\":\"$pname\"}"
curl -s "$BASE/api/pull" -d "{\"model\":\"127.0.0.1:$P2/library/demo:latest\",\"insecure\":true}" >/dev/null &
puller=$!
for _ in $(seq 1 200); do [ -f "$TMP/proxy2/dropped" ] && [ -f "$state" ] && break; sleep 0.05; done
sleep 0.3
kill "$puller"; wait "$puller" 2>/dev/null
canceled=1
for _ in $(seq 1 100); do grep -q "registry: pull 127.0.0.1:$P2/library/demo:latest failed: context canceled" "$SERVER_LOG" && canceled=0 && break; sleep 0.05; done
expect "client hang-up cancels the pull" $canceled
[ -f "$TMP/models/blobs/sha256-$mhex-partial" ] && [ -f "$state" ]; expect "partial data kept after the cancel" $?
# SIGTERM during a pull: the pull is cancelled and the server exits cleanly.
curl -s "$BASE/api/pull" -d "{\"model\":\"127.0.0.1:$P2/library/demo:latest\",\"insecure\":true}" >/dev/null &
puller=$!
sleep 0.5
t0=$(date +%s)
stop_server TERM; rc=$?
wait "$puller" 2>/dev/null
[ "$rc" = 0 ] && [ $(($(date +%s) - t0)) -lt 8 ]; r=$?; expect "SIGTERM mid-pull: exit $rc in $(($(date +%s) - t0)) s" $r
start_server || exit 1
# Two requests for one blob share the download; the second sees progress.
curl -s "$BASE/api/pull" -d "{\"model\":\"127.0.0.1:$P2/library/demo:latest\",\"insecure\":true}" >"$TMP/pullA" &
pa=$!
sleep 0.5
curl -s "$BASE/api/pull" -d "{\"model\":\"127.0.0.1:$P2/library/demo:latest\",\"insecure\":true}" >"$TMP/pullB" &
pb=$!
sleep 0.5
touch "$TMP/proxy2/go"
wait "$pa" "$pb"
[ "$(tail -1 "$TMP/pullA")" = '{"status":"success"}' ] && [ "$(tail -1 "$TMP/pullB")" = '{"status":"success"}' ]; expect "two pulls of one model at once" $?
shared=$(python3 -c "
import json
ev=[json.loads(l) for l in open('$TMP/pullB')]
print(sum(1 for e in ev if e.get('digest')=='$digest' and 0<e.get('completed',0)<e['total']))")
[ "$shared" -gt 0 ]; expect "the waiting pull reports the shared download's progress ($shared events)" $?
[ "$(awk -v d="$digest" '$1 == d' "$TMP/proxy2/bytes" | wc -l)" = 1 ]; expect "the blob was fetched once" $?
http DELETE /api/delete -d "{\"model\":\"127.0.0.1:$P2/library/demo:latest\"}"

# A blob whose bytes do not match its digest.
start_proxy "$TMP/proxy" corrupt 1000; CPORT=$PROXY_PORT
http DELETE /api/delete -d "{\"model\":\"$pname\"}"
cname=127.0.0.1:$CPORT/library/demo:latest
http POST /api/pull -d "{\"model\":\"$cname\",\"insecure\":true}"
[[ "$BODY" == *"{\"error\":\"digest mismatch, file must be downloaded again: want $digest, got sha256:"* ]]; expect "corrupt blob refused: ${BODY: -200}" $?
http GET /api/tags
[ "$(json 'len(d["models"])')" = 0 ]; expect "nothing listed after the refused pull: $BODY" $?
[ ! -e "$TMP/models/blobs/sha256-$mhex" ] && [ ! -e "$TMP/models/blobs/sha256-$mhex-partial" ]; expect "no trace of the corrupt blob" $?

# A registry behind bearer-token auth: the challenge is followed, the token
# request carries Ollama's signature made with ~/.ollama/id_ed25519.
mkdir -p "$HOME/.ollama"
ssh-keygen -q -t ed25519 -N "" -f "$HOME/.ollama/id_ed25519" >/dev/null 2>&1
start_proxy "$TMP/proxy" auth 7; APORT=$PROXY_PORT
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$APORT/v2/library/demo/manifests/latest")
[ "$code" = 401 ]; expect "auth proxy refuses without a token: $code" $?
aname=127.0.0.1:$APORT/library/demo:latest
http POST /api/pull -d "{\"model\":\"$aname\",\"insecure\":true,\"stream\":false}"
[ "$BODY" = '{"status":"success"}' ]; expect "pull through bearer auth: $BODY" $?
verdict=$(head -1 "$TMP/proxy/auth" 2>/dev/null)
if python3 -c "import cryptography" 2>/dev/null && command -v ssh-keygen >/dev/null; then
  [ "$verdict" = "signed-ok query-ok" ]; expect "token request signed and sorted: $verdict" $?
fi
[ "$(generate "$aname")" = "$ref" ]; expect "model pulled through auth generates the same text" $?
start_proxy "$TMP/proxy" auth 1; XPORT=$PROXY_PORT
http POST /api/pull -d "{\"model\":\"127.0.0.1:$XPORT/library/demo:latest\",\"insecure\":true,\"stream\":false}"
[ "$BODY" = "{\"error\":\"pull model manifest: realm host \\\"localhost:$XPORT\\\" does not match original host \\\"127.0.0.1:$XPORT\\\"\"}" ]; expect "realm on another host refused: $BODY" $?

# Between two of our servers through /v2.
http POST /api/pull -d "{\"model\":\"$name\",\"insecure\":true,\"stream\":false}"
http POST /api/copy -d "{\"source\":\"$name\",\"destination\":\"demo\"}"
code=$(curl -s -o /dev/null -w '%{http_code}' -r 10-19 "$BASE/v2/library/demo/blobs/$digest")
part=$(curl -s -r 10-19 "$BASE/v2/library/demo/blobs/$digest" | od -An -tx1 | tr -d ' \n')
[ "$code" = 206 ] && [ "$part" = "$(dd if="$model" bs=1 skip=10 count=10 2>/dev/null | od -An -tx1 | tr -d ' \n')" ]; expect "/v2 blob Range: $code" $?
len=$(curl -sI "$BASE/v2/library/demo/blobs/$digest" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-length"{print $2}')
[ "$len" = "$msize" ]; expect "/v2 blob HEAD length: $len" $?
mkdir -p "$TMP/models2"
for _ in 1 2 3 4 5; do
  PORT2=$(free_port)
  OLLAMA_HOST=127.0.0.1:$PORT2 OLLAMA_MODELS=$TMP/models2 "$bin" serve >"$TMP/server2.log" 2>&1 &
  pid2=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT2/" >/dev/null && break
    kill -0 $pid2 2>/dev/null || break
    sleep 0.1
  done
  kill -0 $pid2 2>/dev/null && { helpers+=($pid2); break; }
done
lan=127.0.0.1:$PORT/library/demo:latest
body=$(curl -s "http://127.0.0.1:$PORT2/api/pull" -d "{\"model\":\"$lan\",\"insecure\":true,\"stream\":false}")
[ "$body" = '{"status":"success"}' ]; expect "pull from our other server: $body" $?
m2=$TMP/models2/manifests/127.0.0.1:$PORT/library/demo/latest
[ -f "$m2" ] && cmp -s "$m2" "$TMP/models/manifests/registry.ollama.ai/library/demo/latest"; expect "same manifest bytes on both servers" $?
same=0
for f in "$TMP"/models/blobs/sha256-*; do cmp -s "$f" "$TMP/models2/blobs/$(basename "$f")" || same=1; done
expect "same blobs on both servers" $same
out=$(curl -s "http://127.0.0.1:$PORT2/api/generate" -d "${gen/MODEL/$lan}" | python3 -c "import json,sys; print(json.load(sys.stdin)['response'])")
[ "$out" = "$ref" ]; expect "second server generates the same text" $?

# Registry requests go through the proxy named by http_proxy.
mkdir -p "$TMP/proxy3"
start_proxy "$TMP/proxy3" forward 0; FPORT=$PROXY_PORT
stop_server
start_server http_proxy="http://127.0.0.1:$FPORT" || exit 1
# other models share the blobs: take them out so that the pull fetches them
mf=$TMP/models/manifests/127.0.0.1:$RPORT/library/demo/latest
for d in $(grep -o 'sha256:[0-9a-f]*' "$mf" | sort -u); do rm -f "$TMP/models/blobs/sha256-${d#sha256:}"; done
http DELETE /api/delete -d "{\"model\":\"$name\"}"
http POST /api/pull -d "{\"model\":\"$name\",\"insecure\":true,\"stream\":false}"
[ "$BODY" = '{"status":"success"}' ] && grep -q "^/v2/library/demo/manifests/latest$" "$TMP/proxy3/forwarded" && grep -q "^/v2/library/demo/blobs/" "$TMP/proxy3/forwarded"
r=$?; expect "pull through http_proxy: $BODY, $(wc -l <"$TMP/proxy3/forwarded" 2>/dev/null) requests proxied" $r
finish
