/* cli: how a streamed answer reaches stdout: upstream's word wrap at the
 * terminal width (a word that would cross the margin is moved to the next
 * line, never split), the dimmed "Thinking..." block, and the --verbose
 * statistics (cli.md §12.3, §12.5, §12.6). */
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <utf8proc.h>

#include "cli/cli_internal.h"

#define GREY "\x1b[38;5;245m"
#define BOLD "\x1b[1m"
#define RESET "\x1b[0m"

void out_init(out_writer *w, bool wordwrap) {
    memset(w, 0, sizeof *w);
    w->tty = isatty(1);
    w->wordwrap = wordwrap && w->tty;
    w->width = 80;
    struct winsize ws;
    if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) w->width = ws.ws_col;
    w->last_nl = true;
}

void out_free(out_writer *w) { oc_buf_free(&w->word); }

/* One character (UTF-8 bytes s[0..n)) through the word wrapper. */
static void put_char(out_writer *w, const char *s, size_t n, int cw) {
    if (w->line_len + cw > w->width - 5) {
        int a = fmt_width(w->word.data ? w->word.data : "");
        if (a > w->width - 10) {
            /* a word longer than a line: let the terminal wrap it */
            fwrite(s, 1, n, stdout);
            oc_buf_clear(&w->word);
            w->line_len = 0;
            return;
        }
        if (a > 0) printf("\x1b[%dD", a);
        printf("\x1b[K\n%s", w->word.data ? w->word.data : "");
        fwrite(s, 1, n, stdout);
        w->line_len = a + cw;
        if (n == 1 && (*s == ' ' || *s == '\t')) oc_buf_clear(&w->word);
        else oc_buf_append(&w->word, s, n);
        return;
    }
    fwrite(s, 1, n, stdout);
    w->line_len += cw;
    if (cw >= 2) oc_buf_clear(&w->word);
    else if (n == 1 && (*s == ' ' || *s == '\t')) oc_buf_clear(&w->word);
    else if (n == 1 && (*s == '\n' || *s == '\r')) oc_buf_clear(&w->word), w->line_len = 0;
    else oc_buf_append(&w->word, s, n);
}

static void write_text(out_writer *w, const char *text) {
    size_t len = strlen(text);
    if (!len) return;
    w->last_nl = text[len - 1] == '\n';
    if (!w->wordwrap || w->width < 10) {
        fputs(text, stdout);
        fflush(stdout);
        return;
    }
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
    while (*p) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p, -1, &cp);
        if (k <= 0) k = 1, cp = '?';
        int cw = (cp == '\n' || cp == '\r') ? 0 : utf8proc_charwidth(cp);
        put_char(w, (const char *)p, (size_t)k, cw < 0 ? 0 : cw);
        p += k;
    }
    fflush(stdout);
}

void out_content(out_writer *w, const char *text) {
    if (text && *text) out_end_thinking(w);
    if (text) write_text(w, text);
}

void out_thinking(out_writer *w, const char *text) {
    if (w->hide_thinking || !text || !*text) return;
    if (!w->thinking) {
        if (!w->last_nl) write_text(w, "\n");
        fputs(w->tty ? GREY BOLD "Thinking...\n" RESET GREY : "Thinking...\n", stdout);
        w->line_len = 0;
        w->last_nl = true;
        w->thinking = w->saw_thinking = true;
    }
    write_text(w, text);
}

void out_end_thinking(out_writer *w) {
    if (!w->thinking) return;
    w->thinking = false;
    if (!w->last_nl) fputs("\n", stdout);
    fputs(w->tty ? GREY BOLD "...done thinking.\n\n" RESET : "...done thinking.\n\n", stdout);
    w->line_len = 0;
    oc_buf_clear(&w->word);
    w->last_nl = true;
    fflush(stdout);
}

static int64_t jint(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

void out_stats(json_t *final) {
    char d[64];
    int64_t v;
    if ((v = jint(final, "total_duration"))) fmt_go_duration(v, d, sizeof d), fprintf(stderr, "total duration:       %s\n", d);
    if ((v = jint(final, "load_duration"))) fmt_go_duration(v, d, sizeof d), fprintf(stderr, "load duration:        %s\n", d);
    int64_t pc = jint(final, "prompt_eval_count"), pd = jint(final, "prompt_eval_duration");
    if (pc) fprintf(stderr, "prompt eval count:    %lld token(s)\n", (long long)pc);
    if (pd) {
        fmt_go_duration(pd, d, sizeof d);
        fprintf(stderr, "prompt eval duration: %s\n", d);
        fprintf(stderr, "prompt eval rate:     %.2f tokens/s\n", (double)pc / ((double)pd / 1e9));
    }
    int64_t ec = jint(final, "eval_count"), ed = jint(final, "eval_duration");
    if (ec) fprintf(stderr, "eval count:           %lld token(s)\n", (long long)ec);
    if (ed) {
        fmt_go_duration(ed, d, sizeof d);
        fprintf(stderr, "eval duration:        %s\n", d);
        fprintf(stderr, "eval rate:            %.2f tokens/s\n", (double)ec / ((double)ed / 1e9));
    }
}
