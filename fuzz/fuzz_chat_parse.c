/* libFuzzer target for the chat output parsers (model bytes are outside
 * input): the first byte picks the parser set-up (thinking tags, tool
 * format, harmony), the second the piece sizes; the rest is the output,
 * fed piece by piece. Nothing may crash or leak, calls must serialise, and
 * content plus thinking can never be longer than the output itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chat.h"

static const char TOOLS[] =
    "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\","
    "\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"type\":\"integer\"}}}}},"
    "{\"type\":\"function\",\"function\":{\"name\":\"get\",\"parameters\":{}}}]";
static const char *const TAGS[] = {"{", "[", "<tool_call>", "[TOOL_CALLS]"};

static json_t *tools;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tools && !(tools = json_loads(TOOLS, 0, NULL))) abort();
    if (size < 2) return 0;
    uint8_t cfg = data[0], split = data[1];
    const char *text = (const char *)data + 2;
    size_t n = size - 2;
    chat_parser_opts o = {.tool_list = tools, .harmony = (cfg & 7) == 7};
    if (cfg & 8) o.think_open = "<think>", o.think_close = "</think>";
    o.think_started = o.think_drop_stray = cfg & 16;
    if (cfg & 1) o.think_abort = "<tool_call>";
    o.tools = (cfg >> 5) % 4;
    o.tool_tag = TAGS[(cfg >> 1) & 3];
    if (o.tools == CHAT_TOOLS_PYTHON) o.tool_tag = cfg & 2 ? "<function_calls>" : "<|tool_call_start|>";
    chat_parser *p = chat_parser_new(&o);
    chat_delta d;
    chat_delta_init(&d);
    size_t produced = 0;
    for (size_t i = 0, k; i < n; i += k) {
        k = 1 + (split + i) % 5;
        if (k > n - i) k = n - i;
        chat_parser_add(p, text + i, k, &d);
        produced += d.content.len + d.thinking.len;
        chat_delta_clear(&d);
    }
    chat_parser_finish(p, &d);
    produced += d.content.len + d.thinking.len;
    char *calls = json_dumps(d.calls, JSON_COMPACT);
    if (!calls || produced > n) abort();
    free(calls);
    chat_delta_free(&d);
    chat_parser_free(p);
    return 0;
}
