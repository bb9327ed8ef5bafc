/* compat: the OpenAI- and Anthropic-compatible APIs. Owns the translation
 * between the OpenAI (/v1/chat/completions, /v1/completions,
 * /v1/embeddings, /v1/models, /v1/responses, /v1/audio/transcriptions) and
 * Anthropic (/v1/messages) wire formats and the native API: each route
 * turns its request into a native /api/chat,
 * /api/generate, /api/embed, /api/tags or /api/show request, runs the
 * native handler on it unchanged, and rewrites every answer that handler
 * gives (one object, NDJSON chunks, errors with their status) into the
 * foreign shape, SSE included, through the server's output filter. */
#ifndef OLLAMA_COMPAT_H
#define OLLAMA_COMPAT_H

#include "server/server.h"

/* Adds the /v1 routes on top of the native ones, whose handlers it looks
 * up on srv: call after they are registered and before server_listen.
 * -1 when a native route it needs is missing. */
int compat_register(server *srv);

#endif
