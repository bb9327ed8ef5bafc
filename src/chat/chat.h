/* chat: turning a chat request into the exact prompt a model was trained
 * on, and the model's output back into content, thinking and tool calls.
 * Owns the template engines — Go text/template (Ollama's templates) and
 * Jinja2 with Hugging Face chat-template semantics (GGUF
 * tokenizer.chat_template) — and, later, the output parsers. Pure
 * functions, no I/O. Values passed to templates are Jansson JSON values. */
#ifndef OLLAMA_CHAT_H
#define OLLAMA_CHAT_H

#include <jansson.h>

#include "base/base.h"

/* ---- Go text/template ----
 * Field access `.Name` on an object looks up "Name", then its snake_case
 * form ("ToolCalls" -> "tool_calls"), so API JSON (role, content,
 * tool_calls ...) can be passed as it is, as upstream's Go structs with
 * JSON tags are. */
typedef struct gotmpl gotmpl;
/* Parses a template; errors name the template and the line:column. */
gotmpl *gotmpl_parse(const char *name, const char *text, oc_error *err);
void gotmpl_free(gotmpl *t);
/* Executes t with dot = data, appending to out. On error out is left as it
 * was. Data types follow upstream: "Messages" and "Tools" of the data
 * object act as upstream's template message and tool types (JSON output
 * in their field order, Arguments/Properties/Tools printing as JSON);
 * other values act as decoded JSON (numbers are float64). Missing struct
 * fields are zero values; a missing map key prints "<no value>". */
int gotmpl_execute(const gotmpl *t, json_t *data, oc_buf *out, oc_error *err);
/* Upstream's Template.Vars: the field and variable names used anywhere
 * ("$x" for variables), lower-cased, sorted, unique. Fails, as upstream's
 * Parse does, with "undefined template specified" on a {{template}} call
 * without a pipeline. Free with gotmpl_vars_free. */
int gotmpl_vars(const gotmpl *t, char ***names, size_t *n, oc_error *err);
void gotmpl_vars_free(char **names, size_t n);
/* Appends {{ .Response }} to the end of t, as upstream's Parse does for
 * templates that use neither Messages nor Response. */
int gotmpl_append_response(gotmpl *t, oc_error *err);
/* A copy of t whose main template keeps nothing after the first field
 * naming Response (document order; if/range/with conditions are not
 * looked at): the template of upstream's final legacy pass. Free with
 * gotmpl_free. */
gotmpl *gotmpl_cut_after_response(const gotmpl *t);

/* Upstream's reading of a Go template (chat_detect.c): the tags around
 * .Thinking inside a range over .Messages ("" when not inferable; free
 * both), the text that starts tool calls ("{" when none; free it), and
 * whether it renders a tool round trip (tool calls and tool results). */
void gotmpl_think_tags(const gotmpl *t, char **open, char **close);
char *gotmpl_tool_tag(const gotmpl *t);
bool gotmpl_tool_round_trip(const gotmpl *t);

/* ---- Jinja2 (chat templates) ----
 * Configured as transformers' apply_chat_template: trim_blocks,
 * lstrip_blocks, loop controls, tojson keeping non-ASCII,
 * raise_exception, strftime_now. */
typedef struct jinja_template jinja_template;
jinja_template *jinja_parse(const char *text, oc_error *err);
void jinja_free(jinja_template *t);
/* Renders with the variables of context (an object: messages, tools,
 * add_generation_prompt, bos_token ...), appending to out. A template's
 * raise_exception fails with its message. */
int jinja_render(const jinja_template *t, json_t *context, oc_buf *out, oc_error *err);
/* Fixes the time strftime_now sees (seconds since the epoch, local time);
 * 0 = the real clock. For reproducible tests. */
void jinja_set_fixed_time(int64_t epoch_seconds);

/* What a GGUF chat template offers, by upstream's text search: tools,
 * thinking (<think>…</think>), a tool round trip; and the tool-call format
 * its output will use (CHAT_TOOLS_*, with the tag for CHAT_TOOLS_TAG). */
bool chat_jinja_has_tools(const char *t);
bool chat_jinja_has_thinking(const char *t);
bool chat_jinja_tool_round_trip(const char *t);
int chat_jinja_tool_format(const char *t, const char **tag);

/* Ollama's named template whose Jinja source is nearest to chat_template
 * (Levenshtein distance over code points < 100, first on ties), as
 * upstream's template.Named: 1 with the name, the Go template and its stop
 * list as JSON (NULL if none; all static), 0 when none matches. */
int chat_named_template(const char *chat_template, const char **name, const char **gotmpl_text, const char **stop_json);

/* ---- output parsers (chat_parser.c and the files it drives) ----
 * Model output in, content / thinking / tool calls out, streaming: feed
 * each piece of engine text as it comes; a delta receives only what is
 * already unambiguous (partial tags are held back), and chat_parser_finish
 * settles the rest at the end. Tool calls are objects
 * {"id":"call_…","function":{"index":N,"name":…,"arguments":{…}}}. */
/* TAG: a tag then JSON (generic); QWEN3_CODER: <tool_call> blocks of
 * <function=…> XML or GLM's <arg_key> pairs; PYTHON: Python-style calls
 * `name(k="v", n=1)` listed between tool_tag and its closing tag
 * (LFM2's <|tool_call_start|>[…], OLMo 3's <function_calls>). */
enum { CHAT_TOOLS_NONE, CHAT_TOOLS_TAG, CHAT_TOOLS_QWEN3_CODER, CHAT_TOOLS_PYTHON };
typedef struct chat_parser_opts {
    const char *think_open, *think_close; /* both non-empty: thinking is separated */
    bool think_started;                    /* the prompt already ends with think_open */
    bool think_drop_stray;                 /* started: one repeated think_open is dropped */
    const char *think_abort;               /* also ends thinking, and stays in the output
                                              (qwen3: a <tool_call> before </think>) */
    bool harmony;                          /* gpt-oss channels (ignores the rest) */
    int tools;                             /* CHAT_TOOLS_* */
    const char *tool_tag;                  /* CHAT_TOOLS_TAG: "{", "[", "<tool_call>" ... */
    json_t *tool_list;                     /* the declared tools (names, parameter types) */
} chat_parser_opts;
typedef struct chat_delta {
    oc_buf content, thinking;
    json_t *calls; /* array */
} chat_delta;
typedef struct chat_parser chat_parser;
chat_parser *chat_parser_new(const chat_parser_opts *o);
void chat_parser_free(chat_parser *p);
void chat_parser_add(chat_parser *p, const char *s, size_t n, chat_delta *d);
void chat_parser_finish(chat_parser *p, chat_delta *d);
void chat_delta_init(chat_delta *d);
void chat_delta_clear(chat_delta *d);
void chat_delta_free(chat_delta *d);

#endif
