/* Unit tests of template analysis: Ollama's named template picked for each
 * GGUF chat template of the shared test vectors (templates.jsonl), the
 * thinking tags and tool-call tag read from Go templates, and the Jinja
 * text checks behind capabilities. */
#include <stdlib.h>
#include <string.h>

#include "chat/chat.h"
#include "check.h"

static void test_named(void) {
    char path[1024];
    if (!check_shared_path("testdata/templates/gotmpl/testdata/templates.jsonl", path, sizeof path)) {
        printf("templates.jsonl absent: named-template vectors skipped\n");
        return;
    }
    FILE *f = fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0;
    int cases = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        const char *want;
        json_t *jinja;
        json_object_foreach(o, want, jinja) {
            const char *name = NULL, *text = NULL, *stop = NULL;
            int hit = chat_named_template(json_string_value(jinja), &name, &text, &stop);
            CHECK_MSG(hit == 1 && !strcmp(name, want), "want %s, got %s", want, hit ? name : "(none)");
            if (hit) {
                oc_error err;
                gotmpl *t = gotmpl_parse(name, text, &err);
                CHECK_MSG(t != NULL, "%s does not parse", name);
                gotmpl_free(t);
            }
            cases++;
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    CHECK(cases >= 30);
    const char *name, *text, *stop;
    CHECK_EQ_INT(chat_named_template("{{ messages }} something else entirely, not a chat template at all", &name, &text, &stop), 0);
    CHECK_EQ_INT(chat_named_template("", &name, &text, &stop), 0);
}

static gotmpl *parse(const char *src) {
    oc_error err;
    gotmpl *t = gotmpl_parse("t", src, &err);
    CHECK_MSG(t != NULL, "parse: %s", t ? "" : err.msg);
    return t;
}

static void expect_tags(const char *src, const char *open, const char *close) {
    gotmpl *t = parse(src);
    if (!t) return;
    char *o, *c;
    gotmpl_think_tags(t, &o, &c);
    CHECK_EQ_STR(o, open);
    CHECK_EQ_STR(c, close);
    free(o), free(c);
    gotmpl_free(t);
}

static void expect_tool_tag(const char *src, const char *tag) {
    gotmpl *t = parse(src);
    if (!t) return;
    char *g = gotmpl_tool_tag(t);
    CHECK_EQ_STR(g, tag);
    free(g);
    gotmpl_free(t);
}

static void test_gotmpl(void) {
    expect_tags("{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ if .Thinking }}<think>{{ .Thinking }}</think>{{ end }}"
                "{{ .Content }}<|im_end|>\n{{ end }}",
                "<think>", "</think>");
    expect_tags("{{ range $i, $m := .Messages }}{{ if $m.Thinking }}\n  <thinking> {{ .Thinking }} </thinking>\n{{ end }}{{ end }}",
                "<thinking>", "</thinking>");
    expect_tags("{{ if .Thinking }}<think>{{ .Thinking }}</think>{{ end }}{{ .Prompt }}", "", "");
    expect_tags("{{ .Prompt }}", "", "");
    expect_tool_tag("{{ range .Messages }}{{ if .ToolCalls }}<tool_call>\n{{ range .ToolCalls }}{\"name\": \"{{ .Function.Name }}\"}"
                    "{{ end }}</tool_call>{{ end }}{{ end }}",
                    "<tool_call>");
    expect_tool_tag("{{ range .Messages }}{{- if .ToolCalls }}{{ range .ToolCalls }}{\"name\": \"{{ .Function.Name }}\", "
                    "\"parameters\": {{ .Function.Arguments }}}{{ end }}{{ end }}{{ end }}",
                    "{");
    expect_tool_tag("{{ range .Messages }}{{ if .ToolCalls }}[TOOL_CALLS] [{{ range .ToolCalls }}{\"name\": "
                    "\"{{ .Function.Name }}\"}{{ end }}]{{ end }}{{ end }}",
                    "[TOOL_CALLS] [");
    expect_tool_tag("{{ .Prompt }}", "{");
    gotmpl *t = parse("{{ if .Tools }}{{ .Tools }}{{ end }}{{ range .Messages }}{{ if .ToolCalls }}x{{ end }}"
                      "{{ if eq .Role \"tool\" }}<tool_response>{{ .Content }}{{ end }}{{ end }}");
    CHECK(t && gotmpl_tool_round_trip(t));
    gotmpl_free(t);
    t = parse("{{ if .Tools }}{{ .Tools }}{{ end }}{{ .Prompt }}");
    CHECK(t && !gotmpl_tool_round_trip(t));
    gotmpl_free(t);
}

static void test_jinja(void) {
    const char *qwen = "{% if tools %}<tools>{% endif %}{% for m in messages %}{% if m.role == 'tool' %}<tool_response>"
                       "{% endif %}{% if m.tool_calls %}<tool_call>{% endif %}{% endfor %}<think>\n\n</think>";
    CHECK(chat_jinja_has_tools(qwen));
    CHECK(chat_jinja_has_thinking(qwen));
    CHECK(chat_jinja_tool_round_trip(qwen));
    const char *tag;
    CHECK_EQ_INT(chat_jinja_tool_format(qwen, &tag), CHAT_TOOLS_TAG);
    CHECK_EQ_STR(tag, "<tool_call>");
    CHECK_EQ_INT(chat_jinja_tool_format("<function=x><parameter=y>", &tag), CHAT_TOOLS_QWEN3_CODER);
    CHECK_EQ_INT(chat_jinja_tool_format("[TOOL_CALLS]", &tag), CHAT_TOOLS_TAG);
    CHECK_EQ_STR(tag, "[TOOL_CALLS]");
    chat_jinja_tool_format("{{ messages }}", &tag);
    CHECK_EQ_STR(tag, "{");
    CHECK(!chat_jinja_has_tools("{{ messages }}"));
    CHECK(!chat_jinja_has_thinking("{{ content.split('</think>') }} reasoning_content"));
    CHECK(chat_jinja_has_thinking("{{ content.split('</think>')[-1] }}"));
}

int main(void) {
    test_named();
    test_gotmpl();
    test_jinja();
    return check_done();
}
