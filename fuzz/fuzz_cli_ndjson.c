/* libFuzzer target for what the command line reads from a server: NDJSON
 * progress/answer streams cut into arbitrary chunks (the framing must see
 * the same lines whatever the cuts), each line's JSON shown as the CLI
 * shows it (times, sizes, table cells with any UTF-8), never a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_internal.h"

typedef struct seen {
    oc_buf all;
    size_t lines;
} seen;

/* What list/ps/progress do with an object's fields. */
static void render(json_t *obj) {
    char buf[256];
    const char *s = json_string_value(json_object_get(obj, "modified_at"));
    double when = fmt_parse_time(s);
    fmt_human_time(when, 1.7e9, "Never", buf, sizeof buf);
    int64_t total = json_integer_value(json_object_get(obj, "total"));
    int64_t done = json_integer_value(json_object_get(obj, "completed"));
    fmt_bytes(total, buf, sizeof buf);
    fmt_go_duration(done, buf, sizeof buf);
    fmt_number((uint64_t)done, buf, sizeof buf);
    if (total > 0 && done >= 0 && done <= total)
        progress_render_bar(buf, sizeof buf, 80, json_string_value(json_object_get(obj, "status")), total, done, 0,
                            done == total);
    const char *name = json_string_value(json_object_get(obj, "name"));
    fmt_table t;
    fmt_table_init(&t, 2, true);
    const char *head[] = {"NAME", "ID"}, *row[] = {name ? name : "", s ? s : ""};
    fmt_table_add(&t, head);
    fmt_table_add(&t, row);
    oc_buf out = {0};
    fmt_table_print(&t, &out);
    fmt_table_free(&t);
    oc_buf_free(&out);
}

static int on_line(void *ud, const char *line, size_t len) {
    seen *s = ud;
    oc_buf_append(&s->all, line, len);
    oc_buf_puts(&s->all, "\n");
    s->lines++;
    json_t *obj = json_loadb(line, len, 0, NULL);
    if (obj) render(obj);
    json_decref(obj);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t step = data[0] % 7 + 1; /* chunk size from the first byte */
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    seen whole = {0}, cut = {0};
    oc_buf p1 = {0}, p2 = {0};
    client_ndjson_feed(&p1, text, n, on_line, &whole);
    for (size_t off = 0; off < n; off += step)
        client_ndjson_feed(&p2, text + off, off + step > n ? n - off : step, on_line, &cut);
    if (whole.lines != cut.lines || whole.all.len != cut.all.len || p1.len != p2.len) abort();
    if (whole.all.len && memcmp(whole.all.data, cut.all.data, whole.all.len) != 0) abort();
    oc_buf_free(&whole.all), oc_buf_free(&cut.all), oc_buf_free(&p1), oc_buf_free(&p2);
    return 0;
}
