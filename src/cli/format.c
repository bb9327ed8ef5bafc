/* cli: upstream's human texts for sizes, counts, times and durations
 * (format/ in Go) and Go tablewriter's borderless table with its
 * minimum-raggedness word wrap, byte for byte. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "cli/cli_internal.h"

void fmt_bytes(int64_t b, char *buf, size_t n) {
    static const struct { double unit; const char *name; } units[] = {
        {1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "KB"}};
    for (size_t i = 0; i < 4; i++) {
        if ((double)b < units[i].unit) continue;
        double v = (double)b / units[i].unit;
        if (v >= 10 || v == trunc(v)) snprintf(buf, n, "%lld %s", (long long)v, units[i].name);
        else snprintf(buf, n, "%.1f %s", v, units[i].name);
        return;
    }
    snprintf(buf, n, "%lld B", (long long)b);
}

void fmt_number(uint64_t v, char *buf, size_t n) {
    double d = (double)v;
    if (v >= 1000000000ull) {
        if (fmod(d, 1e9) == 0) snprintf(buf, n, "%.0fB", d / 1e9);
        else snprintf(buf, n, "%.1fB", d / 1e9);
    } else if (v >= 1000000ull) {
        if (fmod(d, 1e6) == 0) snprintf(buf, n, "%.0fM", d / 1e6);
        else snprintf(buf, n, "%.2fM", d / 1e6);
    } else if (v >= 1000ull) {
        snprintf(buf, n, "%.0fK", d / 1e3);
    } else {
        snprintf(buf, n, "%llu", (unsigned long long)v);
    }
}

/* Go's fmtFrac: value/unit with up to prec fraction digits, zeros dropped. */
static void frac(oc_buf *b, uint64_t v, int prec) {
    uint64_t p = 1;
    for (int i = 0; i < prec; i++) p *= 10;
    uint64_t whole = v / p, f = v % p;
    oc_buf_printf(b, "%llu", (unsigned long long)whole);
    if (!f) return;
    char digits[16];
    snprintf(digits, sizeof digits, "%0*llu", prec, (unsigned long long)f);
    size_t len = strlen(digits);
    while (len && digits[len - 1] == '0') len--;
    oc_buf_printf(b, ".%.*s", (int)len, digits);
}

void fmt_go_duration(int64_t ns, char *buf, size_t n) {
    oc_buf b = {0};
    uint64_t u = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
    if (ns < 0) oc_buf_puts(&b, "-");
    if (u == 0) oc_buf_puts(&b, "0s");
    else if (u < 1000) oc_buf_printf(&b, "%lluns", (unsigned long long)u);
    else if (u < 1000000) frac(&b, u, 3), oc_buf_puts(&b, "\xc2\xb5s");
    else if (u < 1000000000) frac(&b, u, 6), oc_buf_puts(&b, "ms");
    else {
        uint64_t s = u / 1000000000, h = s / 3600, m = s / 60 % 60;
        if (h) oc_buf_printf(&b, "%lluh", (unsigned long long)h);
        if (h || m) oc_buf_printf(&b, "%llum", (unsigned long long)m);
        frac(&b, u % 60000000000ull, 9);
        oc_buf_puts(&b, "s");
    }
    snprintf(buf, n, "%s", b.data);
    oc_buf_free(&b);
}

void fmt_human_duration(double sec, char *buf, size_t n) {
    long s = (long)sec, m = (long)(sec / 60);
    long h = lround(sec / 3600);
    if (s < 1) snprintf(buf, n, "Less than a second");
    else if (s == 1) snprintf(buf, n, "1 second");
    else if (s < 60) snprintf(buf, n, "%ld seconds", s);
    else if (m == 1) snprintf(buf, n, "About a minute");
    else if (m < 60) snprintf(buf, n, "%ld minutes", m);
    else if (h == 1) snprintf(buf, n, "About an hour");
    else if (h < 48) snprintf(buf, n, "%ld hours", h);
    else if (h < 24 * 7 * 2) snprintf(buf, n, "%ld days", h / 24);
    else if (h < 24 * 30 * 2) snprintf(buf, n, "%ld weeks", h / 24 / 7);
    else if (h < 24 * 365 * 2) snprintf(buf, n, "%ld months", h / 24 / 30);
    else snprintf(buf, n, "%ld years", (long)(sec / 3600) / 24 / 365);
}

void fmt_human_time(double t, double now, const char *zero_text, char *buf, size_t n) {
    if (t == 0) {
        snprintf(buf, n, "%s", zero_text);
        return;
    }
    double delta = now - t;
    char d[64];
    if ((long)(delta / 3600) / 24 / 365 < -20) {
        snprintf(buf, n, "Forever");
    } else if (delta < 0) {
        fmt_human_duration(-delta, d, sizeof d);
        snprintf(buf, n, "%s from now", d);
    } else {
        fmt_human_duration(delta, d, sizeof d);
        snprintf(buf, n, "%s ago", d);
    }
}

double fmt_parse_time(const char *s) {
    int Y, M, D, h, m, sec, used = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &used) != 6) return 0;
    if (Y <= 1) return 0; /* Go's zero time, 0001-01-01 */
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec};
    double t = (double)timegm(&tm);
    const char *p = s + used;
    if (*p == '.') {
        double scale = 0.1;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10) t += (*p - '0') * scale;
    }
    int oh, om;
    if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2)
        t -= (*p == '+' ? 1 : -1) * (oh * 3600.0 + om * 60.0);
    return t;
}

int fmt_width(const char *s) {
    int w = 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    while (*p) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p, -1, &cp);
        if (k <= 0) {
            p++, w++;
            continue;
        }
        int cw = utf8proc_charwidth(cp);
        w += cw < 0 ? 0 : cw;
        p += k;
    }
    return w;
}

/* ---- tables ---- */

void fmt_table_init(fmt_table *t, size_t n_cols, bool header) {
    memset(t, 0, sizeof *t);
    t->n_cols = n_cols;
    t->header = header;
    t->wrap = 30;
}

void fmt_table_add_n(fmt_table *t, const char *const *cells, size_t n) {
    t->rows = oc_realloc(t->rows, (t->n_rows + 1) * sizeof *t->rows);
    t->row_cells = oc_realloc(t->row_cells, (t->n_rows + 1) * sizeof *t->row_cells);
    char **row = oc_calloc(t->n_cols, sizeof *row);
    for (size_t i = 0; i < t->n_cols; i++) row[i] = oc_strdup(i < n && cells[i] ? cells[i] : "");
    t->row_cells[t->n_rows] = n < t->n_cols ? n : t->n_cols;
    t->rows[t->n_rows++] = row;
}

void fmt_table_add(fmt_table *t, const char *const *cells) { fmt_table_add_n(t, cells, t->n_cols); }

void fmt_table_free(fmt_table *t) {
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t i = 0; i < t->n_cols; i++) free(t->rows[r][i]);
        free(t->rows[r]);
    }
    free(t->rows);
    free(t->row_cells);
    t->rows = NULL;
    t->row_cells = NULL;
}

typedef struct lines {
    char **v;
    size_t n;
} lines;

static void lines_add(lines *l, const char *s, size_t len) {
    l->v = oc_realloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = oc_strndup(s, len);
}

static void lines_free(lines *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

/* tablewriter's WrapWords: breaks minimising the squared slack of every
 * line but the last, lines over the limit penalised. */
static void wrap_words(char **words, size_t n, int lim, lines *out) {
    int *w = oc_calloc(n, sizeof *w), *cost = oc_calloc(n + 1, sizeof *cost);
    size_t *brk = oc_calloc(n + 1, sizeof *brk);
    for (size_t i = 0; i < n; i++) w[i] = fmt_width(words[i]);
    for (size_t i = n; i-- > 0;) {
        long len = -1;
        for (size_t j = i; j < n; j++) len += 1 + w[j];
        cost[i] = 0x7fffffff;
        if (len <= lim) {
            cost[i] = 0, brk[i] = n;
            continue;
        }
        len = -1;
        for (size_t j = i + 1; j < n; j++) {
            len += 1 + w[j - 1]; /* words i..j-1 */
            long d = lim - len;
            long c = d * d + cost[j];
            if (len > lim) c += 100000;
            if (c < cost[i]) cost[i] = (int)(c > 0x7fffffff ? 0x7fffffff : c), brk[i] = j;
        }
    }
    for (size_t i = 0; i < n;) {
        oc_buf b = {0};
        for (size_t j = i; j < brk[i]; j++) {
            if (j > i) oc_buf_puts(&b, " ");
            oc_buf_puts(&b, words[j]);
        }
        lines_add(out, b.data ? b.data : "", b.len);
        oc_buf_free(&b);
        i = brk[i] > i ? brk[i] : n;
    }
    free(w), free(cost), free(brk);
}

/* A cell's lines after wrapping; *width gets their widest. */
static void cell_lines(const char *cell, int limit, lines *out, int *width) {
    char *text = oc_strdup(cell);
    int maxw = 0;
    for (char *p = text; *p; p++)
        if (*p == '\n') *p = ' ';
    maxw = fmt_width(text);
    if (maxw > limit) maxw = limit;
    char **words = NULL;
    size_t n = 0;
    for (char *p = text;;) {
        char *sp = strchr(p, ' ');
        words = oc_realloc(words, (n + 1) * sizeof *words);
        words[n++] = p;
        if (!sp) break;
        *sp = 0;
        p = sp + 1;
    }
    for (size_t i = 0; i < n; i++)
        if (fmt_width(words[i]) > maxw) maxw = fmt_width(words[i]);
    wrap_words(words, n, maxw, out);
    *width = maxw;
    for (size_t i = 0; i < out->n; i++)
        if (fmt_width(out->v[i]) > *width) *width = fmt_width(out->v[i]);
    free(words);
    free(text);
}

static void pad(oc_buf *out, const char *s, int width, int extra) {
    oc_buf_puts(out, s);
    for (int k = fmt_width(s); k < width + extra; k++) oc_buf_puts(out, " ");
}

void fmt_table_print(const fmt_table *t, oc_buf *out) {
    size_t nc = t->n_cols;
    lines *cells = oc_calloc(t->n_rows * nc + 1, sizeof *cells);
    int *widths = oc_calloc(nc + 1, sizeof *widths);
    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t i = 0; i < t->row_cells[r]; i++) {
            int w;
            if (r == 0 && t->header) {
                lines_add(&cells[i], t->rows[0][i], strlen(t->rows[0][i]));
                w = fmt_width(t->rows[0][i]);
            } else {
                cell_lines(t->rows[r][i], t->wrap, &cells[r * nc + i], &w);
            }
            if (w > widths[i]) widths[i] = w;
        }
    for (size_t r = 0; r < t->n_rows; r++) {
        size_t height = 1;
        size_t rc = t->row_cells[r];
        for (size_t i = 0; i < rc; i++)
            if (cells[r * nc + i].n > height) height = cells[r * nc + i].n;
        bool head = r == 0 && t->header;
        for (size_t l = 0; l < height; l++) {
            for (size_t i = 0; i < rc; i++) {
                lines *c = &cells[r * nc + i];
                pad(out, l < c->n ? c->v[l] : "", widths[i], head && i == rc - 1 ? 1 : 4);
            }
            oc_buf_puts(out, "\n");
        }
    }
    for (size_t k = 0; k < t->n_rows * nc; k++) lines_free(&cells[k]);
    free(cells);
    free(widths);
}
