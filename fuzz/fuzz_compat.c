/* Fuzz target: the compat layer's parsers of outside JSON — OpenAI chat,
 * completion, embedding and Responses requests, Anthropic messages
 * requests and multipart transcription uploads translated into native
 * ones — and the output filter run on
 * the same value as if a native handler had answered with it (whole,
 * streamed, as an error), for every route kind. */
#include <stdint.h>
#include <stdlib.h>

#include "compat/compat_internal.h"

static void filter_all(compat_state *st, const json_t *v) {
    static const enum server_output_kind kinds[] = {SERVER_OUTPUT_WHOLE, SERVER_OUTPUT_CHUNK, SERVER_OUTPUT_ERROR,
                                                   SERVER_OUTPUT_END};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        server_output o = {.kind = kinds[i], .status = i == 2 ? 500 : 200, .value = kinds[i] == SERVER_OUTPUT_END ? NULL : v,
                           .started = i == 2};
        compat_filter(st, &o);
        oc_buf_free(&o.out);
    }
}

/* The bytes as a transcription upload's multipart body. */
static void multipart(const uint8_t *data, size_t size) {
    compat_state st = {0};
    oc_error err;
    json_decref(compat_transcription_request("multipart/form-data; boundary=XyZ", (const char *)data, size, &st, &err));
    compat_state_clear(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    multipart(data, size);
    json_t *v = json_loadb((const char *)data, size, JSON_DISABLE_EOF_CHECK, NULL);
    if (!json_is_object(v)) return json_decref(v), 0;
    json_t *(*const tr[])(const json_t *, compat_state *, oc_error *) = {
        compat_openai_chat_request, compat_openai_completion_request, compat_openai_embed_request,
        compat_anthropic_request, compat_responses_request};
    for (size_t i = 0; i < sizeof tr / sizeof *tr; i++) {
        compat_state st = {0};
        oc_error err;
        json_t *out = tr[i](v, &st, &err);
        json_decref(out);
        compat_state_clear(&st);
    }
    for (int k = COMPAT_CHAT; k <= COMPAT_TRANSCRIBE; k++)
        for (int stream = 0; stream < 2; stream++) {
            compat_state st = {.kind = (compat_kind)k, .stream = stream, .include_usage = stream, .base64 = stream};
            if (k == COMPAT_RESPONSES) st.req = json_incref(v); /* its settings are echoed */
            filter_all(&st, v);
            compat_state_clear(&st);
        }
    json_decref(v);
    return 0;
}
