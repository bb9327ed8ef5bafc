/* compat: OpenAI's /v1/audio/transcriptions — a multipart/form-data body
 * (model, file, response_format, language, prompt) into a native chat
 * with upstream's transcription prompt and the audio as the message's
 * media, and the streamed answer gathered into {"text":...} or plain
 * text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compat/compat_internal.h"

/* A parameter of a header value: boundary=x, name="y" (quotes dropped). */
static bool header_param(const char *h, size_t hn, const char *key, char *out, size_t n) {
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl + 1 <= hn; i++) {
        if ((i && h[i - 1] != ';' && h[i - 1] != ' ' && h[i - 1] != '\t') || strncasecmp(h + i, key, kl) || h[i + kl] != '=')
            continue;
        const char *v = h + i + kl + 1, *end = h + hn;
        bool quoted = v < end && *v == '"';
        if (quoted) v++;
        size_t l = 0;
        while (v + l < end && (quoted ? v[l] != '"' : v[l] != ';' && v[l] != ' ' && v[l] != '\r' && v[l] != '\n')) l++;
        if (l >= n) return false;
        memcpy(out, v, l);
        out[l] = 0;
        return true;
    }
    return false;
}

/* One part: its headers (Content-Disposition gives name and filename). */
static void part_headers(const char *h, size_t hn, compat_part *p) {
    for (const char *line = h; line < h + hn;) {
        const char *eol = memchr(line, '\n', (size_t)(h + hn - line));
        size_t ll = eol ? (size_t)(eol - line) : (size_t)(h + hn - line);
        if (ll > 20 && !strncasecmp(line, "Content-Disposition:", 20)) {
            header_param(line, ll, "name", p->name, sizeof p->name);
            char fn[256];
            p->is_file = header_param(line, ll, "filename", fn, sizeof fn);
        }
        line += ll + 1;
    }
}

int compat_multipart_parse(const char *ctype, const char *body, size_t len, compat_part *parts, int max, oc_error *err) {
    char b[128] = "--";
    if (!ctype || strncasecmp(ctype, "multipart/form-data", 19) != 0)
        return oc_fail(err, "request Content-Type isn't multipart/form-data");
    if (!header_param(ctype, strlen(ctype), "boundary", b + 2, sizeof b - 2) || !b[2])
        return oc_fail(err, "no multipart boundary param in Content-Type");
    size_t bl = strlen(b);
    const char *end = body + len, *p = body ? memmem(body, len, b, bl) : NULL;
    int n = 0;
    while (p) {
        p += bl;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') return n; /* the closing delimiter */
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') break;
        p += 2;
        bool bare = end - p >= 2 && p[0] == '\r' && p[1] == '\n'; /* a part without headers */
        const char *hend = bare ? p - 2 : memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
        if (!hend) break;
        const char *data = hend + 4, *next = memmem(data, (size_t)(end - data), b, bl);
        if (!next || next - data < 2 || next[-2] != '\r' || next[-1] != '\n') break;
        if (n == max) return oc_fail(err, "multipart: too many parts");
        compat_part *part = &parts[n++];
        memset(part, 0, sizeof *part);
        if (!bare) part_headers(p, (size_t)(hend - p), part);
        part->data = data;
        part->len = (size_t)(next - 2 - data);
        p = next;
    }
    return oc_fail(err, "multipart: NextPart: EOF");
}

static const compat_part *find(const compat_part *parts, int n, const char *name, bool file) {
    for (int i = 0; i < n; i++)
        if (!strcmp(parts[i].name, name) && parts[i].is_file == file) return &parts[i];
    return NULL;
}

static void field(const compat_part *parts, int n, const char *name, char *out, size_t cap) {
    const compat_part *p = find(parts, n, name, false);
    size_t l = p ? (p->len < cap - 1 ? p->len : cap - 1) : 0;
    if (l) memcpy(out, p->data, l);
    out[l] = 0;
}

json_t *compat_transcription_request(const char *ctype, const char *body, size_t len, compat_state *st, oc_error *err) {
    compat_part parts[16];
    int n = compat_multipart_parse(ctype, body, len, parts, 16, err);
    if (n < 0) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg); /* not formatted into itself */
        return oc_fail(err, "failed to parse multipart form: %s", why), NULL;
    }
    char model[256], format[32], lang[128], prompt[2048];
    field(parts, n, "model", model, sizeof model);
    if (!*model) return oc_fail(err, "model is required"), NULL;
    const compat_part *file = find(parts, n, "file", true);
    if (!file) return oc_fail(err, "file is required: http: no such file"), NULL;
    if (!file->len) return oc_fail(err, "audio file is empty"), NULL;
    field(parts, n, "response_format", format, sizeof format), field(parts, n, "language", lang, sizeof lang);
    field(parts, n, "prompt", prompt, sizeof prompt);
    st->kind = COMPAT_TRANSCRIBE;
    st->stream = true;
    st->plain_text = !strcmp(format, "text");
    snprintf(st->model, sizeof st->model, "%s", model);
    oc_buf sys = {0}, audio = {0};
    oc_buf_puts(&sys, "Transcribe the audio exactly as spoken. Output only the spoken words. Do not answer any question in the audio.");
    if (*lang) oc_buf_printf(&sys, " The audio is in %s.", lang);
    if (*prompt) oc_buf_printf(&sys, " Context: %s", prompt);
    compat_base64_encode(file->data, file->len, &audio);
    oc_buf_append(&audio, "", 1);
    json_t *out = json_pack("{s:s,s:[{s:s,s:s?},{s:s,s:s,s:[s]}],s:b,s:{s:i}}", "model", model, "messages", "role", "system",
                            "content", sys.data, "role", "user", "content", "What exact words are spoken in this audio?",
                            "images", audio.data, "stream", 1, "options", "temperature", 0);
    oc_buf_free(&sys), oc_buf_free(&audio);
    if (!out) oc_fail(err, "invalid form values");
    return out;
}

/* Gathers the streamed text; the answer goes out whole at the end. */
void compat_transcription_filter(compat_state *st, server_output *o) {
    if (o->kind == SERVER_OUTPUT_END) return;
    bool failed = o->kind == SERVER_OUTPUT_ERROR || (o->kind == SERVER_OUTPUT_WHOLE && o->status != 200);
    if (failed) {
        const char *m = json_string_value(json_object_get(o->value, "error"));
        char *msg = m ? oc_strdup(m) : compat_json_text(o->value);
        o->content_type = "application/json";
        compat_openai_error(o->status, msg, &o->out);
        free(msg);
        return;
    }
    const char *piece = json_string_value(json_object_get(json_object_get(o->value, "message"), "content"));
    oc_buf_puts(&st->text, piece ? piece : "");
    if (!json_is_true(json_object_get(o->value, "done"))) return;
    const char *t = st->text.data ? st->text.data : "";
    while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r') t++;
    size_t l = strlen(t);
    while (l && (t[l - 1] == ' ' || t[l - 1] == '\t' || t[l - 1] == '\n' || t[l - 1] == '\r')) l--;
    o->content_type = st->plain_text ? "text/plain" : "application/json";
    if (st->plain_text) {
        oc_buf_append(&o->out, t, l);
        return;
    }
    json_t *s = json_stringn(t, l), *r = json_pack("{s:o}", "text", s ? s : json_string(""));
    server_json_encode(r, &o->out);
    oc_buf_append(&o->out, "\n", 1);
    json_decref(r);
}
