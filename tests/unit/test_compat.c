/* Unit tests for compat: OpenAI and Anthropic requests translated into
 * native ones, and hand-written native answers (chunks with thinking and
 * tool calls, final objects, errors) rewritten into OpenAI / Anthropic
 * objects and SSE events. */
#include "compat/compat_internal.h"

#include "check.h"

static json_t *parse(const char *s) {
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);
    if (!v) fprintf(stderr, "bad test JSON: %s: %s\n", e.text, s);
    return v;
}

static char *text(const json_t *v) { return compat_json_text(v); }

/* Translates req with fn; want is the native JSON, or the error text
 * prefixed with "!". */
static void check_request(json_t *(*fn)(const json_t *, compat_state *, oc_error *), const char *req, const char *want) {
    json_t *in = parse(req);
    compat_state st = {0};
    oc_error err = {0};
    json_t *out = fn(in, &st, &err);
    if (want[0] == '!') {
        CHECK_MSG(!out && strcmp(err.msg, want + 1) == 0, "%s: error \"%s\", want \"%s\"", req, out ? "(none)" : err.msg, want + 1);
    } else {
        char *got = out ? text(out) : oc_strdup(err.msg);
        CHECK_MSG(out && strcmp(got, want) == 0, "%s\n got %s\nwant %s", req, got, want);
        free(got);
    }
    json_decref(out);
    json_decref(in);
    compat_state_clear(&st);
}

static void test_chat_requests(void) {
    check_request(compat_openai_chat_request, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                  "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"options\":{\"temperature\":1,\"top_p\":1},\"stream\":false}");
    check_request(compat_openai_chat_request,
                  "{\"model\":\"m\",\"stream\":true,\"max_tokens\":5,\"seed\":42,\"temperature\":0,\"stop\":\"x\",\"frequency_penalty\":0.5,"
                  "\"response_format\":{\"type\":\" JSON_Object \"},\"reasoning_effort\":\"minimal\",\"user\":\"u\",\"n\":1,"
                  "\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                  "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AAAA\"}}]}]}",
                  "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":\"a\"},"
                  "{\"role\":\"user\",\"content\":\"\",\"images\":[\"AAAA\"]}],\"format\":\"json\",\"options\":{\"stop\":[\"x\"],"
                  "\"num_predict\":5,\"temperature\":0,\"seed\":42,\"frequency_penalty\":0.5,\"top_p\":1},\"stream\":true,\"think\":\"low\"}");
    /* tool calls: arguments parsed, the tool's name found by its call id */
    check_request(compat_openai_chat_request,
                  "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null,\"reasoning\":\"r\",\"tool_calls\":[{\"id\":\"call_12345678\","
                  "\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
                  "{\"role\":\"tool\",\"tool_call_id\":\"call_12345678\",\"content\":\"sunny\"}],"
                  "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get\"}}],\"tool_choice\":\"auto\","
                  "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"object\"}}}}",
                  "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"r\",\"tool_calls\":[{\"id\":\"call_12345678\","
                  "\"function\":{\"name\":\"get\",\"arguments\":{\"city\":\"Paris\"}}}]},{\"role\":\"tool\",\"content\":\"sunny\","
                  "\"tool_name\":\"get\",\"tool_call_id\":\"call_12345678\"}],\"format\":{\"type\":\"object\"},\"options\":{\"temperature\":1,"
                  "\"top_p\":1},\"stream\":false,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get\"}}]}");
    check_request(compat_openai_chat_request, "{\"model\":\"m\",\"reasoning\":{\"effort\":\"none\"},\"reasoning_effort\":\"high\","
                  "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                  "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"options\":{\"temperature\":1,\"top_p\":1},"
                  "\"stream\":false,\"think\":false}");
    check_request(compat_openai_chat_request, "{\"model\":\"m\",\"messages\":[]}", "![] is too short - 'messages'");
    check_request(compat_openai_chat_request, "{\"model\":\"m\"}", "![] is too short - 'messages'");
    check_request(compat_openai_chat_request, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]}", "!invalid message content type: <nil>");
    check_request(compat_openai_chat_request, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":3}]}",
                  "!invalid message content type: float64");
    check_request(compat_openai_chat_request, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"video\"}]}]}",
                  "!invalid message format");
    check_request(compat_openai_chat_request, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
                  "\"image_url\":\"https://x/y.png\"}]}]}",
                  "!image URLs are not currently supported, please use base64 encoded data instead");
    check_request(compat_openai_chat_request, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
                  "\"image_url\":\"data:image/gif;base64,AAAA\"}]}]}", "!invalid image input");
    check_request(compat_openai_chat_request, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
                  "\"image_url\":\"data:image/png;base64,A*A=\"}]}]}", "!invalid image input");
    check_request(compat_openai_chat_request, "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":"
                  "[{\"function\":{\"name\":\"f\",\"arguments\":\"{bad\"}}]}]}", "!invalid tool call arguments");
    check_request(compat_openai_chat_request, "{\"model\":\"m\",\"reasoning_effort\":\"huge\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                  "!invalid reasoning value: \"huge\" (must be \"minimal\", \"low\", \"medium\", \"high\", \"xhigh\", \"ultra\", \"max\", or \"none\")");
    check_request(compat_openai_chat_request, "{\"model\":7,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                  "!json: cannot unmarshal number into Go struct field ChatCompletionRequest.model of type string");
}

static void test_other_requests(void) {
    check_request(compat_openai_completion_request, "{\"model\":\"m\",\"prompt\":\"p\",\"top_p\":0,\"stop\":[\"a\"],\"logprobs\":2}",
                  "{\"model\":\"m\",\"prompt\":\"p\",\"options\":{\"stop\":[\"a\"],\"temperature\":1,\"frequency_penalty\":0,"
                  "\"presence_penalty\":0,\"top_p\":1},\"stream\":false,\"logprobs\":true,\"top_logprobs\":2}");
    check_request(compat_openai_completion_request, "{\"model\":\"m\",\"prompt\":\"p\",\"stop\":[\"a\",1]}",
                  "!invalid type for 'stop' field: float64");
    check_request(compat_openai_completion_request, "{\"model\":\"m\",\"prompt\":[\"p\"]}",
                  "!json: cannot unmarshal array into Go struct field CompletionRequest.prompt of type string");
    check_request(compat_openai_embed_request, "{\"model\":\"e\",\"input\":\"\",\"encoding_format\":\"BASE64\"}",
                  "{\"model\":\"e\",\"input\":[\"\"]}");
    check_request(compat_openai_embed_request, "{\"model\":\"e\",\"input\":[\"a\",\"b\"],\"dimensions\":4}",
                  "{\"model\":\"e\",\"input\":[\"a\",\"b\"],\"dimensions\":4}");
    check_request(compat_openai_embed_request, "{\"model\":\"e\",\"input\":[]}", "!invalid input");
    check_request(compat_openai_embed_request, "{\"model\":\"e\",\"input\":\"x\",\"encoding_format\":\"hex\"}",
                  "!Invalid value for 'encoding_format' = hex. Supported values: ['float', 'base64'].");
    check_request(compat_anthropic_request,
                  "{\"model\":\"m\",\"max_tokens\":9,\"system\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}],"
                  "\"stop_sequences\":[\"z\"],\"top_k\":3,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":100},"
                  "\"tools\":[{\"name\":\"get\",\"description\":\"d\",\"input_schema\":{\"type\":\"object\"}}],"
                  "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
                  "\"thinking\":\"t\",\"signature\":\"s\"},{\"type\":\"tool_use\",\"id\":\"tu1\",\"name\":\"get\",\"input\":{\"x\":1}}]},"
                  "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"more\"},{\"type\":\"tool_result\",\"tool_use_id\":\"tu1\","
                  "\"content\":[{\"type\":\"text\",\"text\":\"42\"}]}]}]}",
                  "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"ab\"},{\"role\":\"user\",\"content\":\"hi\"},"
                  "{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"t\",\"tool_calls\":[{\"id\":\"tu1\",\"function\":{\"name\":\"get\","
                  "\"arguments\":{\"x\":1}}}]},{\"role\":\"tool\",\"content\":\"42\",\"tool_call_id\":\"tu1\"},{\"role\":\"user\","
                  "\"content\":\"more\"}],\"options\":{\"num_predict\":9,\"top_k\":3,\"stop\":[\"z\"]},\"stream\":false,"
                  "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get\",\"description\":\"d\",\"parameters\":{\"type\":\"object\"}}}],"
                  "\"think\":true}");
    check_request(compat_anthropic_request, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                  "!max_tokens is required and must be positive");
    check_request(compat_anthropic_request, "{\"model\":\"\",\"max_tokens\":1,\"messages\":[]}", "!model is required");
    check_request(compat_anthropic_request, "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[]}", "!messages is required");
    check_request(compat_anthropic_request, "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":"
                  "[{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"x\"}}]}]}",
                  "!invalid image source type: url. Only base64 images are supported.");
    check_request(compat_anthropic_request, "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"assistant\",\"content\":"
                  "[{\"type\":\"tool_use\",\"name\":\"f\"}]}]}", "!tool_use block missing required 'id' field");
}

/* Runs the filter on one output; returns the bytes (malloc'd). */
static char *run(compat_state *st, enum server_output_kind kind, int status, const char *value, int *status_out,
                 bool started) {
    json_t *v = value ? parse(value) : NULL;
    server_output o = {.kind = kind, .status = status, .value = v, .started = started};
    compat_filter(st, &o);
    if (status_out) *status_out = o.status;
    oc_buf_append(&o.out, "", 1);
    json_decref(v);
    return o.out.data;
}

/* Replaces the random parts (call_xxxxxxxx, req_/msg_ hex) with X. */
static void mask(char *s, const char *prefix, size_t n) {
    for (char *p = strstr(s, prefix); p; p = strstr(p + 1, prefix))
        for (size_t i = strlen(prefix); i < strlen(prefix) + n && p[i]; i++) p[i] = 'X';
}

static void check_out(char *got, const char *want_text) {
    char *want = oc_strdup(want_text);
    mask(got, "call_", 8), mask(want, "call_", 8);
    mask(got, "req_", 24);
    CHECK_MSG(strcmp(got, want) == 0, "\n got %s\nwant %s", got, want);
    free(got);
    free(want);
}

static const char *CREATED = "\"created_at\":\"2025-01-01T00:00:00.5Z\"";

static void test_chat_responses(void) {
    compat_state st = {.kind = COMPAT_CHAT};
    snprintf(st.id, sizeof st.id, "chatcmpl-7");
    char buf[1024];
    snprintf(buf, sizeof buf, "{\"model\":\"m\",%s,\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"hm\","
             "\"tool_calls\":[{\"function\":{\"index\":0,\"name\":\"get\",\"arguments\":{\"city\":\"<Tokyo>\"}}}]},\"done\":true,"
             "\"done_reason\":\"stop\",\"prompt_eval_count\":10,\"eval_count\":4}", CREATED);
    check_out(run(&st, SERVER_OUTPUT_WHOLE, 200, buf, NULL, false),
              "{\"id\":\"chatcmpl-7\",\"object\":\"chat.completion\",\"created\":1735689600,\"model\":\"m\",\"system_fingerprint\":"
              "\"fp_ollama\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"\",\"reasoning\":\"hm\","
              "\"tool_calls\":[{\"id\":\"call_XXXXXXXX\",\"index\":0,\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":"
              "\"{\\\"city\\\":\\\"\\\\u003cTokyo\\\\u003e\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":10,"
              "\"completion_tokens\":4,\"total_tokens\":14}}\n");
    snprintf(buf, sizeof buf, "{\"model\":\"m\",%s,\"message\":{\"role\":\"assistant\",\"content\":\"x\"},\"done\":true,"
             "\"done_reason\":\"length\"}", CREATED);
    check_out(run(&st, SERVER_OUTPUT_WHOLE, 200, buf, NULL, false),
              "{\"id\":\"chatcmpl-7\",\"object\":\"chat.completion\",\"created\":1735689600,\"model\":\"m\",\"system_fingerprint\":"
              "\"fp_ollama\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"x\"},\"finish_reason\":"
              "\"length\"}],\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0,\"total_tokens\":0}}\n");
    int status;
    check_out(run(&st, SERVER_OUTPUT_WHOLE, 404, "{\"error\":\"model 'x' not found\"}", &status, false),
              "{\"error\":{\"message\":\"model 'x' not found\",\"type\":\"not_found_error\",\"param\":null,\"code\":null}}\n");
    CHECK_EQ_INT(status, 404);
    check_out(run(&st, SERVER_OUTPUT_WHOLE, 500, "{\"error\":\"boom\"}", NULL, false),
              "{\"error\":{\"message\":\"boom\",\"type\":\"api_error\",\"param\":null,\"code\":null}}\n");
}

#define HDR "data: {\"id\":\"chatcmpl-7\",\"object\":\"chat.completion.chunk\",\"created\":1735689600,\"model\":\"m\",\"system_fingerprint\":\"fp_ollama\","

static void test_chat_stream(void) {
    compat_state st = {.kind = COMPAT_CHAT, .stream = true, .include_usage = true};
    snprintf(st.id, sizeof st.id, "chatcmpl-7");
    char buf[1024];
    snprintf(buf, sizeof buf, "{\"model\":\"m\",%s,\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"Count\"},"
             "\"done\":false}", CREATED);
    check_out(run(&st, SERVER_OUTPUT_CHUNK, 200, buf, NULL, false),
              HDR "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"reasoning\":\"Count\"},\"finish_reason\":null}]}\n\n");
    /* thinking and content together: split, the second without role; created stays pinned */
    check_out(run(&st, SERVER_OUTPUT_CHUNK, 200, "{\"model\":\"m\",\"created_at\":\"2025-01-01T00:00:09Z\",\"message\":{\"role\":"
                  "\"assistant\",\"content\":\"Three\",\"thinking\":\"!\"},\"done\":false}", NULL, false),
              HDR "\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"!\"},\"finish_reason\":null}]}\n\n"
              HDR "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Three\"},\"finish_reason\":null}]}\n\n");
    check_out(run(&st, SERVER_OUTPUT_CHUNK, 200, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":"
                  "[{\"id\":\"call_abcdefgh\",\"function\":{\"index\":0,\"name\":\"f\",\"arguments\":{}}}]},\"done\":false}", NULL, false),
              HDR "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\",\"tool_calls\":[{\"id\":\"call_XXXXXXXX\",\"index\":0,\"type\":"
              "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}\n\n");
    /* the empty trailer: finish chunk (tool_calls), usage chunk, [DONE] */
    check_out(run(&st, SERVER_OUTPUT_CHUNK, 200, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,"
                  "\"done_reason\":\"stop\",\"prompt_eval_count\":12,\"eval_count\":40}", NULL, false),
              HDR "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
              HDR "\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":40,\"total_tokens\":52}}\n\n"
              "data: [DONE]\n\n");
    check_out(run(&st, SERVER_OUTPUT_END, 200, NULL, NULL, false), "");
    /* errors: before the stream, OpenAI's object; after, an SSE error event */
    int status;
    check_out(run(&st, SERVER_OUTPUT_ERROR, 400, "{\"error\":\"bad\"}", &status, false),
              "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}\n");
    CHECK_EQ_INT(status, 400);
    check_out(run(&st, SERVER_OUTPUT_ERROR, 500, "{\"error\":\"gone\"}", NULL, true),
              "data: {\"error\":{\"message\":\"gone\",\"type\":\"api_error\",\"param\":null,\"code\":null}}\n\n");
    /* a lone final object (nothing sent yet) still opens with the role */
    compat_state s2 = {.kind = COMPAT_CHAT, .stream = true};
    snprintf(s2.id, sizeof s2.id, "chatcmpl-7");
    snprintf(buf, sizeof buf, "{\"model\":\"m\",%s,\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,"
             "\"done_reason\":\"load\"}", CREATED);
    json_t *v = parse(buf);
    server_output o = {.kind = SERVER_OUTPUT_WHOLE, .status = 200, .value = v};
    compat_filter(&s2, &o);
    oc_buf_append(&o.out, "", 1);
    CHECK_EQ_STR(o.content_type, "text/event-stream");
    check_out(o.out.data, HDR "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
                          HDR "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"load\"}]}\n\n" "data: [DONE]\n\n");
    json_decref(v);
}

static void test_completions_and_models(void) {
    compat_state st = {.kind = COMPAT_COMPLETE};
    snprintf(st.id, sizeof st.id, "cmpl-42");
    char buf[512];
    snprintf(buf, sizeof buf, "{\"model\":\"m\",%s,\"response\":\"abc\",\"done\":true,\"done_reason\":\"stop\","
             "\"prompt_eval_count\":5,\"eval_count\":20}", CREATED);
    check_out(run(&st, SERVER_OUTPUT_WHOLE, 200, buf, NULL, false),
              "{\"id\":\"cmpl-42\",\"object\":\"text_completion\",\"created\":1735689600,\"model\":\"m\",\"system_fingerprint\":"
              "\"fp_ollama\",\"choices\":[{\"text\":\"abc\",\"index\":0,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,"
              "\"completion_tokens\":20,\"total_tokens\":25}}\n");
    st.stream = true, st.include_usage = true;
    char *got = run(&st, SERVER_OUTPUT_CHUNK, 200, buf, NULL, false);
    CHECK_MSG(strstr(got, "\"choices\":[{\"text\":\"abc\",\"index\":0,\"finish_reason\":\"stop\"}],\"model\":\"m\",\"system_fingerprint\":"
                          "\"fp_ollama\",\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0,\"total_tokens\":0}}\n\n") != NULL, "%s", got);
    CHECK_MSG(strstr(got, "\"choices\":[],\"model\":\"m\",\"system_fingerprint\":\"fp_ollama\",\"usage\":{\"prompt_tokens\":5,"
                          "\"completion_tokens\":20,\"total_tokens\":25}}\n\ndata: [DONE]\n\n") != NULL, "%s", got);
    free(got);
    compat_state ls = {.kind = COMPAT_LIST};
    check_out(run(&ls, SERVER_OUTPUT_WHOLE, 200, "{\"models\":[{\"name\":\"me/x:latest\",\"model\":\"me/x:latest\",\"modified_at\":"
                  "\"2025-01-01T02:00:00+02:00\"},{\"name\":\"a:1\",\"model\":\"a:1\",\"modified_at\":\"2025-01-01T00:00:00Z\"}]}", NULL, false),
              "{\"object\":\"list\",\"data\":[{\"id\":\"me/x:latest\",\"object\":\"model\",\"created\":1735689600,\"owned_by\":\"me\"},"
              "{\"id\":\"a:1\",\"object\":\"model\",\"created\":1735689600,\"owned_by\":\"library\"}]}\n");
    check_out(run(&ls, SERVER_OUTPUT_WHOLE, 200, "{\"models\":[]}", NULL, false), "{\"object\":\"list\",\"data\":null}\n");
    compat_state rs = {.kind = COMPAT_RETRIEVE, .model = "stories"};
    check_out(run(&rs, SERVER_OUTPUT_WHOLE, 200, "{\"modified_at\":\"2025-01-01T00:00:00Z\",\"details\":{}}", NULL, false),
              "{\"id\":\"stories\",\"object\":\"model\",\"created\":1735689600,\"owned_by\":\"library\"}\n");
    compat_state es = {.kind = COMPAT_EMBED, .model = "e"};
    const char *emb = "{\"model\":\"e\",\"embeddings\":[[0.1,-1],[0.5]],\"prompt_eval_count\":3}";
    check_out(run(&es, SERVER_OUTPUT_WHOLE, 200, emb, NULL, false),
              "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"embedding\":[0.1,-1],\"index\":0},{\"object\":\"embedding\","
              "\"embedding\":[0.5],\"index\":1}],\"model\":\"e\",\"usage\":{\"prompt_tokens\":3,\"total_tokens\":3}}\n");
    es.base64 = true; /* 0.1f = cd cc cc 3d, -1 = 00 00 80 bf; 0.5 = 00 00 00 3f */
    check_out(run(&es, SERVER_OUTPUT_WHOLE, 200, emb, NULL, false),
              "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"embedding\":\"zczMPQAAgL8=\",\"index\":0},{\"object\":"
              "\"embedding\",\"embedding\":\"AAAAPw==\",\"index\":1}],\"model\":\"e\",\"usage\":{\"prompt_tokens\":3,\"total_tokens\":3}}\n");
}

#define EV(t) "event: " t "\ndata: "

static void test_anthropic_responses(void) {
    compat_state st = {.kind = COMPAT_MESSAGES, .id = "msg_1", .model = "m"};
    char buf[1024];
    snprintf(buf, sizeof buf, "{\"model\":\"m\",%s,\"message\":{\"role\":\"assistant\",\"content\":\"Hi!\",\"thinking\":\"t\","
             "\"tool_calls\":[{\"id\":\"call_k3j9x0ab\",\"function\":{\"name\":\"get\",\"arguments\":{\"city\":\"Tokyo\"}}}]},"
             "\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":12,\"eval_count\":6}", CREATED);
    check_out(run(&st, SERVER_OUTPUT_WHOLE, 200, buf, NULL, false),
              "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[{\"type\":\"thinking\","
              "\"thinking\":\"t\"},{\"type\":\"text\",\"text\":\"Hi!\"},{\"type\":\"tool_use\",\"id\":\"call_k3j9x0ab\",\"name\":\"get\","
              "\"input\":{\"city\":\"Tokyo\"}}],\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":12,\"output_tokens\":6}}\n");
    check_out(run(&st, SERVER_OUTPUT_WHOLE, 200, "{\"model\":\"m\",\"message\":{\"content\":\"x\"},\"done\":true,\"done_reason\":\"length\"}",
                  NULL, false),
              "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[{\"type\":\"text\",\"text\":\"x\"}],"
              "\"stop_reason\":\"max_tokens\",\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}\n");
    int status;
    check_out(run(&st, SERVER_OUTPUT_WHOLE, 404, "{\"error\":\"model 'x' not found\"}", &status, false),
              "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"model 'x' not found\"},\"request_id\":"
              "\"req_XXXXXXXXXXXXXXXXXXXXXXXX\"}\n");
    CHECK_EQ_INT(status, 404);

    compat_state ss = {.kind = COMPAT_MESSAGES, .stream = true, .id = "msg_1", .model = "m", .input_estimate = 3};
    check_out(run(&ss, SERVER_OUTPUT_CHUNK, 200, "{\"model\":\"m\",\"message\":{\"content\":\"\",\"thinking\":\"a\"},\"done\":false}", NULL, false),
              EV("message_start") "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
              "\"model\":\"m\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}}\n\n"
              EV("content_block_start") "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n"
              EV("content_block_delta") "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"a\"}}\n\n");
    check_out(run(&ss, SERVER_OUTPUT_CHUNK, 200, "{\"model\":\"m\",\"message\":{\"content\":\"B\",\"tool_calls\":[{\"id\":\"call_12345678\","
                  "\"function\":{\"name\":\"f\",\"arguments\":{\"q\":1}}}]},\"done\":false}", NULL, false),
              EV("content_block_stop") "{\"type\":\"content_block_stop\",\"index\":0}\n\n"
              EV("content_block_start") "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
              EV("content_block_delta") "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"B\"}}\n\n"
              EV("content_block_stop") "{\"type\":\"content_block_stop\",\"index\":1}\n\n"
              EV("content_block_start") "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":"
              "\"call_12345678\",\"name\":\"f\",\"input\":{}}}\n\n"
              EV("content_block_delta") "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\","
              "\"partial_json\":\"{\\\"q\\\":1}\"}}\n\n"
              EV("content_block_stop") "{\"type\":\"content_block_stop\",\"index\":2}\n\n");
    check_out(run(&ss, SERVER_OUTPUT_CHUNK, 200, "{\"model\":\"m\",\"message\":{\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\","
                  "\"prompt_eval_count\":7,\"eval_count\":2}", NULL, false),
              EV("message_delta") "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"input_tokens\":7,"
              "\"output_tokens\":2}}\n\n" EV("message_stop") "{\"type\":\"message_stop\"}\n\n");
}

static void test_helpers(void) {
    CHECK(compat_base64_valid(""));
    CHECK(compat_base64_valid("AAAA"));
    CHECK(compat_base64_valid("AA=="));
    CHECK(!compat_base64_valid("AAA"));
    CHECK(!compat_base64_valid("A=AA"));
    CHECK(!compat_base64_valid("AA*A"));
    oc_buf b = {0};
    compat_base64_encode("hello", 5, &b);
    oc_buf_append(&b, "", 1);
    CHECK_EQ_STR(b.data, "aGVsbG8=");
    oc_buf_free(&b);
    json_t *t = json_string("2025-01-01T00:00:00.123456789-01:30");
    CHECK_EQ_INT(compat_unix_time(t), 1735689600 + 5400);
    json_decref(t);
    char id[32];
    compat_tool_call_id(id, sizeof id);
    CHECK_EQ_INT(strlen(id), 13);
    CHECK(strncmp(id, "call_", 5) == 0);
}

static void test_responses(void) {
    check_request(compat_responses_request,
                  "{\"model\":\"m\",\"instructions\":\"be brief\",\"max_output_tokens\":7,\"reasoning\":{\"effort\":\"xhigh\"},"
                  "\"text\":{\"format\":{\"type\":\"json_schema\",\"name\":\"n\",\"schema\":{\"type\":\"object\"}}},"
                  "\"tools\":[{\"type\":\"function\",\"name\":\"get\",\"description\":null,\"parameters\":{\"type\":\"object\"}},"
                  "{\"type\":\"namespace\",\"name\":\"ns\",\"tools\":[{\"type\":\"function\",\"name\":\"f\"}]}],"
                  "\"input\":[{\"role\":\"user\",\"content\":\"hi\"},{\"type\":\"reasoning\",\"encrypted_content\":\"hm\"},"
                  "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"get\",\"arguments\":\"{\\\"a\\\":1}\"},"
                  "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":[{\"type\":\"input_text\",\"text\":\"42\"}]},"
                  "{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"a\"},{\"type\":\"input_text\",\"text\":\"b\"}]}]}",
                  "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"hi\"},"
                  "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\"c1\",\"function\":{\"name\":\"get\",\"arguments\":{\"a\":1}}}],"
                  "\"thinking\":\"hm\"},{\"role\":\"tool\",\"content\":\"42\",\"tool_call_id\":\"c1\"},{\"role\":\"user\",\"content\":\"ab\"}],"
                  "\"options\":{\"temperature\":1,\"num_predict\":7},\"stream\":false,\"tools\":[{\"type\":\"function\",\"function\":"
                  "{\"name\":\"get\",\"description\":\"\",\"parameters\":{\"type\":\"object\"}}},{\"type\":\"function\",\"function\":"
                  "{\"name\":\"ns.f\",\"description\":\"\"}}],\"format\":{\"type\":\"object\"},\"think\":\"max\"}");
    /* an assistant message between a call and its output joins the call's message */
    check_request(compat_responses_request,
                  "{\"model\":\"m\",\"input\":[{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"\"},"
                  "{\"role\":\"assistant\",\"content\":\"checking\"},{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":\"ok\"}]}",
                  "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":\"checking\",\"tool_calls\":[{\"id\":\"c1\","
                  "\"function\":{\"name\":\"f\",\"arguments\":{}}}]},{\"role\":\"tool\",\"content\":\"ok\",\"tool_call_id\":\"c1\"}],"
                  "\"options\":{\"temperature\":1},\"stream\":false}");
    check_request(compat_responses_request, "{\"model\":\"m\",\"input\":[{\"content\":\"x\"}]}",
                  "!input[0]: input item missing required 'type' field");
    check_request(compat_responses_request, "{\"model\":\"m\",\"input\":[{\"type\":\"bogus\"}]}",
                  "!input[0]: unknown input item type: \"bogus\"");
    check_request(compat_responses_request, "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_file\"}]}]}",
                  "!file inputs are not currently supported");
    check_request(compat_responses_request, "{\"model\":\"m\",\"input\":[{\"type\":\"function_call\",\"arguments\":\"{x\"}]}",
                  "!failed to parse function call arguments: string or '}' expected near 'x'");

    /* not streamed: reasoning item, then the function calls instead of a message */
    json_t *req = parse("{\"model\":\"m\",\"input\":\"q\",\"reasoning\":{\"summary\":\"auto\"},\"top_p\":0.5}");
    compat_state st = {0};
    oc_error err;
    json_t *native = compat_responses_request(req, &st, &err);
    json_decref(native), json_decref(req);
    snprintf(st.id, sizeof st.id, "resp_1");
    char *got = run(&st, SERVER_OUTPUT_WHOLE, 200, "{\"model\":\"m\",\"created_at\":\"2025-01-01T00:00:00Z\",\"message\":{\"content\":\"\","
                    "\"thinking\":\"t\",\"tool_calls\":[{\"id\":\"call_12345678\",\"function\":{\"name\":\"f\",\"arguments\":{\"a\":1}}}]},"
                    "\"done\":true,\"prompt_eval_count\":3,\"eval_count\":2}", NULL, false);
    CHECK_MSG(strstr(got, "\"output\":[{\"id\":\"rs_resp_1\",\"type\":\"reasoning\",\"summary\":[{\"type\":\"summary_text\",\"text\":\"t\"}],"
                          "\"encrypted_content\":\"t\"},{\"id\":\"fc_resp_1_0\",\"type\":\"function_call\",\"status\":\"completed\",\"call_id\":"
                          "\"call_12345678\",\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}]") != NULL, "%s", got);
    CHECK_MSG(strstr(got, "\"top_p\":0.5,") && strstr(got, "\"reasoning\":{\"summary\":\"auto\"}") &&
              strstr(got, "\"usage\":{\"input_tokens\":3,\"output_tokens\":2,\"total_tokens\":5,") &&
              strstr(got, "{\"id\":\"resp_1\",\"object\":\"response\",\"created_at\":1735689600,\"completed_at\":"), "%s", got);
    free(got);

    /* streamed: reasoning, then text; sequence numbers count every event */
    st.stream = true;
    got = run(&st, SERVER_OUTPUT_CHUNK, 200, "{\"model\":\"m\",\"message\":{\"content\":\"\",\"thinking\":\"a\"},\"done\":false}", NULL, false);
    CHECK_MSG(strstr(got, "event: response.created\ndata: {\"response\":{\"background\":false,") &&
              strstr(got, "\"sequence_number\":0,\"type\":\"response.created\"}") &&
              strstr(got, "\"reasoning\":{\"effort\":null,\"summary\":\"auto\"}") &&
              strstr(got, "event: response.reasoning_summary_text.delta\ndata: {\"delta\":\"a\",\"item_id\":\"rs_") &&
              strstr(got, "\"sequence_number\":3,\"summary_index\":0,\"type\":\"response.reasoning_summary_text.delta\"}"), "%s", got);
    free(got);
    got = run(&st, SERVER_OUTPUT_CHUNK, 200, "{\"model\":\"m\",\"message\":{\"content\":\"Hi\"},\"done\":false}", NULL, false);
    CHECK_MSG(strstr(got, "event: response.reasoning_summary_text.done\n") && strstr(got, "event: response.output_item.done\n") &&
              strstr(got, "event: response.output_item.added\ndata: {\"item\":{\"content\":[],\"id\":\"msg_") &&
              strstr(got, "\"output_index\":1,\"sequence_number\":8,\"type\":\"response.output_text.delta\"}"), "%s", got);
    free(got);
    got = run(&st, SERVER_OUTPUT_CHUNK, 200, "{\"model\":\"m\",\"message\":{\"content\":\"\"},\"done\":true,\"prompt_eval_count\":3,"
              "\"eval_count\":2}", NULL, false);
    CHECK_MSG(strstr(got, "event: response.output_text.done\ndata: {\"content_index\":0,\"item_id\":\"msg_") &&
              strstr(got, "\"text\":\"Hi\",\"type\":\"response.output_text.done\"}") &&
              strstr(got, "event: response.completed\n") && strstr(got, "\"status\":\"completed\"") &&
              strstr(got, "\"summary\":[{\"text\":\"a\",\"type\":\"summary_text\"}]"), "%s", got);
    free(got);
    compat_state_clear(&st);
}

static void test_transcription(void) {
    const char *ct = "multipart/form-data; boundary=\"XyZ\"";
    const char body[] = "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper\r\n"
                        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
                        "RIFF\0\r\n--X\r\n--XyZ\r\nContent-Disposition: form-data; name=language\r\n\r\nfr\r\n"
                        "--XyZ\r\nContent-Disposition: form-data; name=\"response_format\"\r\n\r\ntext\r\n--XyZ--\r\n";
    compat_part parts[8];
    oc_error err;
    int n = compat_multipart_parse(ct, body, sizeof body - 1, parts, 8, &err);
    CHECK_EQ_INT(n, 4);
    if (n == 4) {
        CHECK_EQ_STR(parts[1].name, "file");
        CHECK(parts[1].is_file && !parts[0].is_file);
        CHECK_EQ_INT(parts[1].len, 10); /* the CRLF before the delimiter is not data */
        CHECK(memcmp(parts[1].data, "RIFF\0\r\n--X", 10) == 0);
        CHECK_EQ_STR(parts[2].name, "language");
    }
    compat_state st = {0};
    json_t *out = compat_transcription_request(ct, body, sizeof body - 1, &st, &err);
    char *got = out ? text(out) : oc_strdup(err.msg);
    CHECK_EQ_STR(got, "{\"model\":\"whisper\",\"messages\":[{\"role\":\"system\",\"content\":\"Transcribe the audio exactly as spoken. "
                      "Output only the spoken words. Do not answer any question in the audio. The audio is in fr.\"},{\"role\":\"user\","
                      "\"content\":\"What exact words are spoken in this audio?\",\"images\":[\"UklGRgANCi0tWA==\"]}],\"stream\":true,"
                      "\"options\":{\"temperature\":0}}");
    free(got);
    json_decref(out);
    CHECK(st.plain_text);
    check_out(run(&st, SERVER_OUTPUT_CHUNK, 200, "{\"message\":{\"content\":\"  Bonjour\"},\"done\":false}", NULL, false), "");
    check_out(run(&st, SERVER_OUTPUT_CHUNK, 200, "{\"message\":{\"content\":\" à tous. \"},\"done\":true}", NULL, false), "Bonjour à tous.");
    compat_state_clear(&st);
    compat_state js = {.kind = COMPAT_TRANSCRIBE};
    check_out(run(&js, SERVER_OUTPUT_WHOLE, 200, "{\"message\":{\"content\":\"hi\"},\"done\":true}", NULL, false), "{\"text\":\"hi\"}\n");
    check_out(run(&js, SERVER_OUTPUT_WHOLE, 400, "{\"error\":\"m does not support vision\"}", NULL, false),
              "{\"error\":{\"message\":\"m does not support vision\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}\n");
    compat_state_clear(&js);
    static const struct { const char *ct, *body, *want; } bad[] = {
        {"application/json", "{}", "failed to parse multipart form: request Content-Type isn't multipart/form-data"},
        {"multipart/form-data", "", "failed to parse multipart form: no multipart boundary param in Content-Type"},
        {"multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm", "failed to parse multipart form: multipart: NextPart: EOF"},
        {"multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=x\r\n\r\nA\r\n--b--", "model is required"},
        {"multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm\r\n--b--", "file is required: http: no such file"},
        {"multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm\r\n--b\r\n"
         "Content-Disposition: form-data; name=\"file\"; filename=x\r\n\r\n\r\n--b--", "audio file is empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        compat_state s2 = {0};
        json_t *o = compat_transcription_request(bad[i].ct, bad[i].body, strlen(bad[i].body), &s2, &err);
        CHECK_MSG(!o && !strcmp(err.msg, bad[i].want), "%zu: %s", i, o ? "(accepted)" : err.msg);
        json_decref(o);
    }
}

int main(void) {
    test_helpers();
    test_chat_requests();
    test_other_requests();
    test_chat_responses();
    test_chat_stream();
    test_completions_and_models();
    test_anthropic_responses();
    test_responses();
    test_transcription();
    return check_done();
}
