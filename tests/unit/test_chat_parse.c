/* Unit tests of the chat output parsers (thinking, tool calls in each
 * format, harmony): every case is fed whole, one byte at a time, and in
 * random splits, and must give the same content, thinking and calls each
 * time — so no partial tag ever leaks — with calls emitted before the end
 * of output once complete. */
#include <stdlib.h>
#include <string.h>

#include "chat/chat.h"
#include "check.h"

static const char TOOLS[] =
    "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\","
    "\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"type\":\"integer\"},\"metric\":{\"type\":\"boolean\"}}}}},"
    "{\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}}]";

typedef struct result {
    oc_buf content, thinking;
    json_t *calls;
    size_t calls_before_end;
} result;

/* Feeds text split at the given cut sizes (0: whole). */
static void run(const chat_parser_opts *o, const char *text, int mode, unsigned seed, result *r) {
    chat_parser *p = chat_parser_new(o);
    chat_delta d;
    chat_delta_init(&d);
    memset(r, 0, sizeof *r);
    r->calls = json_array();
    size_t n = strlen(text);
    srand(seed);
    for (size_t i = 0; i < n;) {
        size_t k = mode == 0 ? n : mode == 1 ? 1 : 1 + (size_t)rand() % 7;
        if (k > n - i) k = n - i;
        chat_parser_add(p, text + i, k, &d);
        i += k;
    }
    r->calls_before_end = json_array_size(d.calls);
    chat_parser_finish(p, &d);
    oc_buf_append(&r->content, d.content.data, d.content.len);
    oc_buf_append(&r->thinking, d.thinking.data, d.thinking.len);
    json_array_extend(r->calls, d.calls);
    chat_delta_free(&d);
    chat_parser_free(p);
}

/* Calls without their random ids, as compact JSON. */
static char *calls_text(json_t *calls) {
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c) {
        const char *id = json_string_value(json_object_get(c, "id"));
        CHECK(id && strlen(id) == 13 && strncmp(id, "call_", 5) == 0);
        json_object_del(c, "id");
    }
    return json_dumps(calls, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

static void expect_case(const char *label, const chat_parser_opts *o, const char *text, const char *content,
                        const char *thinking, const char *calls, size_t early_calls) {
    for (int mode = 0; mode < 3; mode++)
        for (unsigned seed = 1; seed <= (mode == 2 ? 25u : 1u); seed++) {
            result r;
            run(o, text, mode, seed, &r);
            char *ct = calls_text(r.calls);
            CHECK_MSG(strcmp(r.content.data ? r.content.data : "", content) == 0, "%s mode %d: content [%s]", label,
                      mode, r.content.data);
            CHECK_MSG(strcmp(r.thinking.data ? r.thinking.data : "", thinking) == 0, "%s mode %d: thinking [%s]",
                      label, mode, r.thinking.data);
            CHECK_MSG(strcmp(ct, calls) == 0, "%s mode %d: calls %s", label, mode, ct);
            CHECK_MSG(r.calls_before_end >= early_calls, "%s mode %d: %zu calls before the end", label, mode,
                      r.calls_before_end);
            free(ct);
            oc_buf_free(&r.content);
            oc_buf_free(&r.thinking);
            json_decref(r.calls);
        }
}

#define WEATHER_PARIS "[{\"function\":{\"index\":0,\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}}]"

static void test_thinking(void) {
    chat_parser_opts o = {.think_open = "<think>", .think_close = "</think>"};
    expect_case("think", &o, "<think>\nI should greet.</think>\n\nHello!", "Hello!", "I should greet.", "[]", 0);
    expect_case("think-lead-space", &o, "  \n<think>a<b</think>c", "c", "a<b", "[]", 0);
    expect_case("no-think", &o, "  Hello <think>x</think>", "  Hello <think>x</think>", "", "[]", 0);
    expect_case("think-unclosed", &o, "<think>still going </thi", "", "still going </thi", "[]", 0);
    expect_case("think-partial-open", &o, "<thi", "<thi", "", "[]", 0);
    o.think_started = true;
    expect_case("think-started", &o, "reasoning</think>answer", "answer", "reasoning", "[]", 0);
    chat_parser_opts q = {.think_open = "<think>", .think_close = "</think>", .think_started = true,
                          .think_drop_stray = true, .think_abort = "<tool_call>"};
    expect_case("qwen3-stray-open", &q, "\n<think>\nhmm</think>ok", "ok", "hmm", "[]", 0);
    expect_case("qwen3-no-stray", &q, "hmm <thin</think>ok", "ok", "hmm <thin", "[]", 0);
    expect_case("qwen3-partial-stray-at-end", &q, "<thi", "", "<thi", "[]", 0);
    expect_case("qwen3-abort", &q, "hmm<tool_call>{}", "<tool_call>{}", "hmm", "[]", 0);
    chat_parser_opts m = {.think_open = "[THINK]", .think_close = "[/THINK]"};
    expect_case("think-mistral", &m, "[THINK]x y[/THINK] z", "z", "x y", "[]", 0);
}

static void test_tag_tools(json_t *tools) {
    chat_parser_opts o = {.tools = CHAT_TOOLS_TAG, .tool_tag = "<tool_call>", .tool_list = tools};
    expect_case("tool_call", &o, "Sure.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
                "Sure.", "", WEATHER_PARIS, 1);
    expect_case("tool_call-two", &o,
                "<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}</tool_call>\n"
                "<tool_call>{\"name\":\"get_time\",\"arguments\":{}}</tool_call>",
                "", "",
                "[{\"function\":{\"index\":0,\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}},"
                "{\"function\":{\"index\":1,\"name\":\"get_time\",\"arguments\":{}}}]", 2);
    expect_case("tool_call-none", &o, "Just <b>text</b> here <tool", "Just <b>text</b> here <tool", "", "[]", 0);
    expect_case("tool_call-string-args", &o,
                "<tool_call>{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}</tool_call>", "",
                "", WEATHER_PARIS, 1);

    chat_parser_opts j = {.tools = CHAT_TOOLS_TAG, .tool_tag = "{", .tool_list = tools};
    expect_case("llama3-json", &j, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", "", "",
                WEATHER_PARIS, 1);
    expect_case("llama3-python-tag-json", &j,
                "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", "", "", WEATHER_PARIS,
                1);
    expect_case("json-after-text", &j, "The answer is {\"name\":\"get_weather\"}",
                "The answer is {\"name\":\"get_weather\"}", "", "[]", 0);
    expect_case("json-not-a-call", &j, "{\"answer\": 42} done", "{\"answer\": 42} done", "", "[]", 0);
    expect_case("python-tag-builtin", &j, "<|python_tag|>brave_search.call(query=\"weather in Paris\", n=3)", "", "",
                "[{\"function\":{\"index\":0,\"name\":\"brave_search\",\"arguments\":{\"query\":\"weather in Paris\",\"n\":3}}}]",
                0);
    expect_case("html-not-python-tag", &j, "<b>bold</b>", "<b>bold</b>", "", "[]", 0);

    chat_parser_opts m = {.tools = CHAT_TOOLS_TAG, .tool_tag = "[TOOL_CALLS]", .tool_list = tools};
    expect_case("mistral", &m, "[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]", "", "",
                WEATHER_PARIS, 1);
    chat_parser_opts c = {.think_open = "<|START_THINKING|>", .think_close = "<|END_THINKING|>", .tools = CHAT_TOOLS_TAG,
                          .tool_tag = "<|START_ACTION|>", .tool_list = tools};
    expect_case("cohere", &c,
                "<|START_THINKING|>Look it up.<|END_THINKING|><|START_ACTION|>[{\"tool_call_id\": \"0\", \"tool_name\": "
                "\"get_weather\", \"parameters\": {\"city\": \"Paris\"}}]<|END_ACTION|>",
                "", "Look it up.", WEATHER_PARIS, 1);
    expect_case("ministral", &m, "[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}", "", "", WEATHER_PARIS, 1);
}

static void test_coder(json_t *tools) {
    chat_parser_opts o = {.tools = CHAT_TOOLS_QWEN3_CODER, .tool_list = tools};
    expect_case("qwen3-coder", &o,
                "Let me check.\n<tool_call>\n<function=get_weather>\n<parameter=city>\nNew York\n</parameter>\n"
                "<parameter=days>\n3\n</parameter>\n<parameter=metric>\ntrue\n</parameter>\n</function>\n</tool_call>\n"
                "<tool_call>\n<function=get_time>\n</function>\n</tool_call>",
                "Let me check.\n", "",
                "[{\"function\":{\"index\":0,\"name\":\"get_weather\",\"arguments\":{\"city\":\"New York\",\"days\":3,"
                "\"metric\":true}}},{\"function\":{\"index\":1,\"name\":\"get_time\",\"arguments\":{}}}]", 2);
    expect_case("qwen3-coder-string-number", &o,
                "<tool_call><function=get_weather><parameter=city>42</parameter></function></tool_call>", "", "",
                "[{\"function\":{\"index\":0,\"name\":\"get_weather\",\"arguments\":{\"city\":\"42\"}}}]", 1);
}

static void test_glm(json_t *tools) {
    chat_parser_opts o = {.think_open = "<think>", .think_close = "</think>", .think_started = true,
                          .tools = CHAT_TOOLS_QWEN3_CODER, .tool_list = tools};
    expect_case("glm-4.7", &o,
                "Need weather.</think>Checking.<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value>"
                "<arg_key>days</arg_key><arg_value>2</arg_value></tool_call>",
                "Checking.", "Need weather.",
                "[{\"function\":{\"index\":0,\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\",\"days\":2}}}]", 1);
    expect_case("glm-no-args", &o, "</think><tool_call>get_time</tool_call>", "", "",
                "[{\"function\":{\"index\":0,\"name\":\"get_time\",\"arguments\":{}}}]", 1);
}

static void test_python(json_t *tools) {
    chat_parser_opts o = {.tools = CHAT_TOOLS_PYTHON, .tool_tag = "<|tool_call_start|>", .tool_list = tools};
    expect_case("lfm2", &o,
                "Sure. <|tool_call_start|>[get_weather(city='Paris', days=2), get_time()]<|tool_call_end|>Done.",
                "Sure. Done.", "",
                "[{\"function\":{\"index\":0,\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\",\"days\":2}}},"
                "{\"function\":{\"index\":1,\"name\":\"get_time\",\"arguments\":{}}}]", 2);
    chat_parser_opts m = {.tools = CHAT_TOOLS_PYTHON, .tool_tag = "<function_calls>", .tool_list = tools};
    expect_case("olmo3", &m, "<function_calls>get_weather(city=\"Paris\")\nget_time()\n</function_calls>", "", "",
                "[{\"function\":{\"index\":0,\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}},"
                "{\"function\":{\"index\":1,\"name\":\"get_time\",\"arguments\":{}}}]", 2);
}

static void test_combined(json_t *tools) {
    chat_parser_opts q = {.think_open = "<think>", .think_close = "</think>", .think_started = true,
                          .think_drop_stray = true, .think_abort = "<tool_call>", .tools = CHAT_TOOLS_TAG,
                          .tool_tag = "<tool_call>", .tool_list = tools};
    expect_case("qwen3-thinking tool call before </think>", &q,
                "Need weather.\n<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}</tool_call>",
                "", "Need weather.\n", WEATHER_PARIS, 1);
    chat_parser_opts o = {.think_open = "<think>", .think_close = "</think>", .tools = CHAT_TOOLS_TAG,
                          .tool_tag = "<tool_call>", .tool_list = tools};
    expect_case("think+tool", &o,
                "<think>Need weather.</think>\n<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}</tool_call>",
                "", "Need weather.", WEATHER_PARIS, 1);
}

static void test_harmony(json_t *tools) {
    chat_parser_opts o = {.harmony = true, .tool_list = tools};
    expect_case("harmony", &o,
                "<|channel|>analysis<|message|>User says hi.<|end|><|start|>assistant<|channel|>final<|message|>Hi there!",
                "Hi there!", "User says hi.", "[]", 0);
    expect_case("harmony-return", &o, "<|channel|>final<|message|>Done.<|return|>", "Done.", "", "[]", 0);
    expect_case("harmony-tool", &o,
                "<|channel|>analysis<|message|>Check weather.<|end|><|start|>assistant<|channel|>commentary "
                "to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>",
                "", "Check weather.", WEATHER_PARIS, 1);
    expect_case("harmony-tool-recipient-first", &o,
                "<|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>{\"city\":\"Paris\"}",
                "", "", WEATHER_PARIS, 0);
}

int main(void) {
    json_t *tools = json_loads(TOOLS, 0, NULL);
    CHECK(tools != NULL);
    test_thinking();
    test_tag_tools(tools);
    test_coder(tools);
    test_glm(tools);
    test_python(tools);
    test_combined(tools);
    test_harmony(tools);
    json_decref(tools);
    return check_done();
}
