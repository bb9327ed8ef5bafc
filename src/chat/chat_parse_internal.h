/* chat_parse_internal: what the output parsers share — the streaming
 * thinking parser, the tool-call parsers (generic tag/JSON, Qwen3-Coder XML,
 * Llama 3 python_tag calls), the harmony parser, and small buffer helpers.
 * Every parser takes model text in arbitrary pieces and appends to its
 * outputs only what is unambiguous; a possible partial tag at the end of a
 * piece is held back until the next piece (or the end) settles it. Not a
 * public interface: chat.h's chat_parser drives them. */
#ifndef OLLAMA_CHAT_PARSE_INTERNAL_H
#define OLLAMA_CHAT_PARSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "chat/chat.h"

/* ---- helpers (chat_parser.c) ---- */
/* Removes the first n bytes of b. */
void cp_buf_drop(oc_buf *b, size_t n);
/* Longest k such that s ends with the first k bytes of tag (k < strlen(tag)
 * unless the whole tag is there). */
size_t cp_overlap(const char *s, size_t n, const char *tag);
/* Index of needle in s[0..n), or -1. */
long cp_find(const char *s, size_t n, const char *needle);
bool cp_is_space(unsigned char c);
/* A tool call object {"id","function":{"index","name","arguments"}}; takes
 * over args (NULL: {}). */
json_t *cp_tool_call(const char *name, json_t *args, int index);
/* The declared parameter type of tool `name`'s argument `arg` ("" if not
 * declared). */
const char *cp_param_type(const json_t *tools, const char *name, const char *arg);
/* A parameter value converted by its declared JSON type (strings raw; other
 * types parsed, falling back to the string). */
json_t *cp_typed_value(const char *type, const char *s, size_t n);

/* ---- thinking (chat_think.c): upstream's generic tag parser ---- */
typedef struct cp_think {
    char *open, *close, *abort; /* abort: NULL or a tag that ends thinking and stays */
    int state;
    bool drop_stray;
    oc_buf acc;
} cp_think;
void cp_think_init(cp_think *p, const char *open, const char *close, bool started);
void cp_think_free(cp_think *p);
void cp_think_add(cp_think *p, const char *s, size_t n, oc_buf *thinking, oc_buf *content);
/* End of output: what is still held back goes where it was heading. */
void cp_think_flush(cp_think *p, oc_buf *thinking, oc_buf *content);

/* ---- tool calls (chat_tools.c) ---- */
typedef enum { CP_TOOLS_TAG, CP_TOOLS_QWEN3_CODER, CP_TOOLS_PYTHON } cp_tools_kind;
typedef struct cp_tools {
    cp_tools_kind kind;
    char *tag;          /* CP_TOOLS_TAG: "{", "[", "<tool_call>", "[TOOL_CALLS]" ... */
    char *end;          /* block kinds: the closing tag ("" = the end of output) */
    json_t *tools;      /* declared tools (owned reference) */
    int state, n;
    oc_buf buf;
    struct { /* where the argument scan of buf stopped, so a growing buffer */
        size_t pos;   /* is not rescanned (and re-parsed) from its start */
        long start;
        int braces;
        bool in_str, esc;
    } scan, bal; /* bal: the bracket count of bare-JSON tags, likewise */
} cp_tools;
void cp_tools_init(cp_tools *p, cp_tools_kind kind, const char *tag, json_t *tools);
void cp_tools_free(cp_tools *p);
/* Appends content to *content and complete calls to calls (an array). */
void cp_tools_add(cp_tools *p, const char *s, size_t n, oc_buf *content, json_t *calls);
void cp_tools_flush(cp_tools *p, oc_buf *content, json_t *calls);

/* ---- harmony (harmony.c): gpt-oss channels ---- */
typedef struct cp_harmony {
    int state;          /* header, body, between messages */
    int channel;        /* of the current body: content, thinking, tool */
    char *recipient;    /* tool name of the current body, if any */
    oc_buf acc, body;
    json_t *tools;
    int n;
} cp_harmony;
void cp_harmony_init(cp_harmony *p, json_t *tools);
void cp_harmony_free(cp_harmony *p);
void cp_harmony_add(cp_harmony *p, const char *s, size_t n, oc_buf *thinking, oc_buf *content, json_t *calls);
void cp_harmony_flush(cp_harmony *p, oc_buf *thinking, oc_buf *content, json_t *calls);

#endif
