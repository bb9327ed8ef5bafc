#!/bin/sh
# tests/data/reference: regenerates the tiny family models and llama.cpp's
# reference outputs for them (run from the project root after building
# build-families or any build dir with make_family_models):
#   sh tests/data/reference/make-references.sh [BUILD_DIR]
set -e
B=${1:-build}
"$B"/make_family_models tests/data/models models/stories260K.gguf ../shared/testdata/vocab/ggml-vocab-bert-bge.gguf
P="Once upon a time there was a little girl named Lily. She loved to play in the park with her big red ball every day."
for a in qwen2 qwen3 gemma gemma2 gemma3 phi3 mixtral qwen3moe gpt-oss gpt-oss-fused qwen3-quant; do
    node tests/data/reference/llamacpp-reference.mjs tests/data/models/$a.gguf "$P" 24 > tests/data/reference/$a.json
done
node tests/data/reference/llamacpp-reference.mjs tests/data/models/phi3.gguf "$P" 24 512 > tests/data/reference/phi3-long.json
node tests/data/reference/llamacpp-reference.mjs --embed tests/data/models/gemma-embedding.gguf "$P" > tests/data/reference/gemma-embedding.json
node tests/data/reference/llamacpp-reference.mjs --embed tests/data/models/nomic-bert.gguf "$P" "search_query: What is TSNE?" \
    "search_document: Hello, World! Ünïcödé café — naïve résumé 123." "a" > tests/data/reference/nomic-bert.json
