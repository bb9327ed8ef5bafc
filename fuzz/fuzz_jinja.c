/* libFuzzer target for the Jinja engine: any bytes must parse or fail
 * cleanly, and a template that parses must render or fail cleanly — no
 * crash, leak, hang or runaway memory — against a small chat context
 * (messages with tool calls, tools, the usual flags). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chat.h"
#include "chat/jinja_internal.h"

static const char CONTEXT[] =
    "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"add_generation_prompt\": true,"
    " \"enable_thinking\": false,"
    " \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
    "  {\"role\": \"user\", \"content\": \"Hi \\u00fc \\\"q\\\" <t>\"},"
    "  {\"role\": \"assistant\", \"content\": \"\", \"reasoning_content\": \"hmm\","
    "   \"tool_calls\": [{\"id\": \"c1\", \"type\": \"function\","
    "    \"function\": {\"name\": \"f\", \"arguments\": {\"x\": 1, \"y\": [1.5, null, true]}}}]},"
    "  {\"role\": \"tool\", \"tool_call_id\": \"c1\", \"content\": \"{\\\"t\\\": 18}\"}],"
    " \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"d\","
    "   \"parameters\": {\"type\": \"object\", \"properties\": {\"x\": {\"type\": \"integer\"}},"
    "   \"required\": [\"x\"]}}}]}";

static json_t *context;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!context) {
        context = json_loads(CONTEXT, 0, NULL);
        if (!context) abort();
        jinja_max_steps = 50000; /* keeps each input fast; the limit itself is under test */
        jinja_set_fixed_time(1768473000);
    }
    char *src = malloc(size + 1);
    memcpy(src, data, size);
    src[size] = 0;
    oc_error err;
    jinja_template *t = jinja_parse(src, &err);
    free(src);
    if (!t) return 0;
    oc_buf out = {0};
    if (jinja_render(t, context, &out, &err) == 0 && out.len && !out.data) abort();
    oc_buf_free(&out);
    jinja_free(t);
    return 0;
}
