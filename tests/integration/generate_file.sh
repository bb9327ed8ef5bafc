#!/usr/bin/env bash
# The developer command generate-file on the committed demo model: greedy
# output equals llama.cpp's (the text of shared reference stories260K-greedy-1), with 1
# and 2 threads; bad input gives one clear error line and exit status 1.
set -u
bin=$1
model=models/stories260K.gguf
fail=0; pass=0
expect() { # name, condition result
  if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1"; fi
}

want=$', there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily\'s mom said'
for t in 1 2; do
  got=$("$bin" generate-file "$model" "Once upon a time" --greedy -n 64 --threads $t)
  [ "$got" = "$want" ]; expect "greedy text with $t thread(s): got '$got'" $?
done

got=$("$bin" generate-file "$model" "Once upon a time" --temperature 0.8 --seed 42 -n 30)
again=$("$bin" generate-file "$model" "Once upon a time" --temperature 0.8 --seed 42 -n 30)
[ "$got" = "$again" ]; expect "same seed gives the same text" $?
[ -n "$got" ]; expect "sampled text is not empty" $?

err=$("$bin" generate-file /nonexistent.gguf "hi" 2>&1 >/dev/null); rc=$?
[ $rc = 1 ] && [[ "$err" == "Error: "*"/nonexistent.gguf"* ]]; expect "missing file: '$err' rc=$rc" $?

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
head -c 5000 "$model" > "$tmp/trunc.gguf"
err=$("$bin" generate-file "$tmp/trunc.gguf" "hi" 2>&1 >/dev/null); rc=$?
[ $rc = 1 ] && [[ "$err" == "Error: "* ]] && [ "$(echo "$err" | wc -l)" = 1 ]; expect "truncated file: '$err' rc=$rc" $?

"$bin" quantize-file "$model" "$tmp/q8.gguf" q8_0 && \
  got=$("$bin" generate-file "$tmp/q8.gguf" "Once upon a time" --greedy -n 20)
[[ "$got" =~ ^[A-Za-z\ ,.\']+$ ]] && [[ "$got" == *" "*" "*" "* ]]; expect "q8_0 model writes English: '$got'" $?

echo "$pass passed, $fail failed"
[ $fail = 0 ]
