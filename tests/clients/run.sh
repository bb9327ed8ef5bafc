#!/usr/bin/env bash
# Runs the client-library tests (node:test) against the ollama binary ($1).
# Installs the pinned npm packages on first use.
set -eu
export OLLAMA_BIN=$(realpath "$1")
cd "$(dirname "$0")"
if [ ! -d node_modules/ollama ] || [ ! -d node_modules/openai ] || [ ! -d node_modules/@anthropic-ai/sdk ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
exec node --test --test-concurrency=1 ./*.test.mjs
