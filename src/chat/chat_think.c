/* chat_think: separating a reasoning block (<think>…</think> or the tags a
 * template implies) from the answer, as upstream's thinking parser does:
 * leading whitespace before the opening tag is skipped, whitespace right
 * after either tag is dropped, output that does not start with the tag has
 * no thinking at all, and a partial closing tag at a piece's end is held
 * back. */
#include <stdlib.h>
#include <string.h>

#include "chat/chat_parse_internal.h"

enum { LOOKING, STARTED_EATING, THINKING, DONE_EATING, DONE };

void cp_think_init(cp_think *p, const char *open, const char *close, bool started) {
    memset(p, 0, sizeof *p);
    p->open = oc_strdup(open);
    p->close = oc_strdup(close);
    p->state = started ? STARTED_EATING : LOOKING;
}

void cp_think_free(cp_think *p) {
    free(p->open);
    free(p->close);
    free(p->abort);
    oc_buf_free(&p->acc);
}

static size_t leading_space(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && cp_is_space((unsigned char)s[i])) i++;
    return i;
}

/* One step of the state machine; true when another step may make progress. */
static bool eat(cp_think *p, oc_buf *thinking, oc_buf *content) {
    const char *a = p->acc.data ? p->acc.data : "";
    size_t n = p->acc.len, ws = leading_space(a, n), lo = strlen(p->open), lc = strlen(p->close);
    switch (p->state) {
    case LOOKING:
        if (n - ws >= lo && memcmp(a + ws, p->open, lo) == 0) {
            cp_buf_drop(&p->acc, ws + lo);
            p->state = STARTED_EATING;
            return true;
        }
        if (n - ws < lo && memcmp(a + ws, p->open, n - ws) == 0) return false; /* partial tag or spaces */
        oc_buf_append(content, a, n); /* no thinking block: keep the text as it was */
        oc_buf_clear(&p->acc);
        p->state = DONE;
        return false;
    case STARTED_EATING:
    case DONE_EATING:
        cp_buf_drop(&p->acc, ws);
        if (!p->acc.len) return false;
        if (p->state == STARTED_EATING && p->drop_stray) { /* a repeated opening tag is no thinking */
            size_t k = p->acc.len < lo ? p->acc.len : lo;
            if (memcmp(p->acc.data, p->open, k) == 0) {
                if (k < lo) return false;
                cp_buf_drop(&p->acc, lo);
                p->drop_stray = false;
                return true;
            }
            p->drop_stray = false;
        }
        p->state = p->state == STARTED_EATING ? THINKING : DONE;
        return true;
    case THINKING: {
        long at = cp_find(a, n, p->close), ab = p->abort ? cp_find(a, n, p->abort) : -1;
        if (ab >= 0 && (at < 0 || ab < at)) { /* e.g. a tool call before </think> */
            oc_buf_append(thinking, a, (size_t)ab);
            cp_buf_drop(&p->acc, (size_t)ab);
            p->state = DONE;
            return true;
        }
        if (at >= 0) {
            oc_buf_append(thinking, a, (size_t)at);
            cp_buf_drop(&p->acc, (size_t)at + lc);
            p->state = DONE_EATING;
            return true;
        }
        size_t keep = cp_overlap(a, n, p->close), ka = p->abort ? cp_overlap(a, n, p->abort) : 0;
        if (ka > keep) keep = ka;
        oc_buf_append(thinking, a, n - keep);
        cp_buf_drop(&p->acc, n - keep);
        return false;
    }
    default:
        oc_buf_append(content, a, n);
        oc_buf_clear(&p->acc);
        return false;
    }
}

void cp_think_add(cp_think *p, const char *s, size_t n, oc_buf *thinking, oc_buf *content) {
    oc_buf_append(&p->acc, s, n);
    while (eat(p, thinking, content)) {
    }
}

void cp_think_flush(cp_think *p, oc_buf *thinking, oc_buf *content) {
    if (p->acc.len) {
        /* A partial closing tag inside thinking stays thinking (so does a
         * partial repeated opening tag once started); a partial opening
         * tag (or bare whitespace) before any thinking was never thinking. */
        if (p->state == THINKING || p->state == STARTED_EATING) oc_buf_append(thinking, p->acc.data, p->acc.len);
        else if (p->state == LOOKING || p->state == DONE) oc_buf_append(content, p->acc.data, p->acc.len);
        oc_buf_clear(&p->acc);
    }
}
