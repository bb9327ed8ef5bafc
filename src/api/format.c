/* api: the `format` field of /api/generate and /api/chat (api.md §2.4):
 * absent, null or "" = none, "json" = any JSON object, an object = a JSON
 * Schema; compiled here into the grammar the engine samples under. */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

/* Go's %q of the raw JSON bytes (printable UTF-8 kept, the rest escaped),
 * as upstream's error quotes them. */
static void go_quote(oc_buf *b, const char *s) {
    oc_buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') oc_buf_printf(b, "\\%c", *p);
        else if (*p == '\n') oc_buf_puts(b, "\\n");
        else if (*p == '\t') oc_buf_puts(b, "\\t");
        else if (*p == '\r') oc_buf_puts(b, "\\r");
        else if (*p < 0x20 || *p == 0x7F) oc_buf_printf(b, "\\x%02x", *p);
        else oc_buf_append(b, p, 1);
    }
    oc_buf_puts(b, "\"");
}

int api_format_grammar(const json_t *format, grammar **out, int *status, oc_error *err) {
    *out = NULL;
    if (!format || json_is_null(format)) return 0;
    const char *s = json_string_value(format);
    if (s && !*s) return 0;
    if (s && strcmp(s, "json") == 0) {
        *out = grammar_json_object();
        return 0;
    }
    if (!json_is_object(format)) {
        char *raw = json_dumps(format, JSON_COMPACT | JSON_ENCODE_ANY);
        oc_buf q = {0};
        go_quote(&q, raw ? raw : "");
        *status = 500;
        oc_fail(err, "invalid format: %s; expected \"json\" or a valid JSON Schema object", q.data);
        free(raw);
        oc_buf_free(&q);
        return -1;
    }
    oc_error why;
    *out = grammar_from_schema(format, &why);
    if (*out) return 0;
    *status = 400;
    return oc_fail(err, "invalid JSON schema in format: %s", why.msg);
}
