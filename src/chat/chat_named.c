/* chat_named: picking Ollama's named Go template for a GGUF chat template
 * (upstream's template.Named): the index entry at the smallest Levenshtein
 * distance over code points, if that distance is under 100. The distance
 * is computed in a band of ±100 around the diagonal, which is exact for
 * every distance that can match. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chat.h"
#include "chat/chat_named.h"

enum { LIMIT = 100 };

/* UTF-8 to code points (a bad byte counts as U+FFFD, as Go's range does). */
static uint32_t *runes(const char *s, size_t *n) {
    size_t len = strlen(s), k = 0;
    uint32_t *r = oc_malloc((len + 1) * sizeof *r);
    const unsigned char *p = (const unsigned char *)s, *e = p + len;
    while (p < e) {
        uint32_t c = *p;
        int extra = c >= 0xF0 && c < 0xF8 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
        if (c >= 0x80 && (c < 0xC0 || c >= 0xF8 || p + extra >= e)) extra = -1; /* bad lead or cut short */
        if (extra > 0) {
            c &= 0x3Fu >> extra;
            for (int i = 1; i <= extra; i++) {
                if ((p[i] & 0xC0) != 0x80) { extra = -1; break; }
                c = c << 6 | (p[i] & 0x3F);
            }
        }
        if (extra < 0) r[k++] = 0xFFFD, p++;
        else r[k++] = c, p += extra + 1;
    }
    *n = k;
    return r;
}

/* Levenshtein distance of a and b if below LIMIT, else LIMIT. */
static int distance(const uint32_t *a, size_t na, const uint32_t *b, size_t nb) {
    if ((na > nb ? na - nb : nb - na) >= LIMIT) return LIMIT;
    int *prev = oc_malloc((nb + 1) * sizeof *prev), *cur = oc_malloc((nb + 1) * sizeof *cur);
    for (size_t j = 0; j <= nb; j++) prev[j] = j < LIMIT ? (int)j : LIMIT;
    int best = 0;
    for (size_t i = 1; i <= na; i++) {
        size_t lo = i > LIMIT ? i - LIMIT : 1, hi = i + LIMIT < nb ? i + LIMIT : nb;
        cur[0] = i < LIMIT ? (int)i : LIMIT;
        if (lo > 1) cur[lo - 1] = LIMIT;
        best = cur[0];
        for (size_t j = lo; j <= hi; j++) {
            int del = prev[j] + 1, ins = cur[j - 1] + 1, sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int v = del < ins ? del : ins;
            if (sub < v) v = sub;
            cur[j] = v < LIMIT ? v : LIMIT;
            if (cur[j] < best) best = cur[j];
        }
        if (hi < nb) cur[hi + 1] = LIMIT;
        int *t = prev;
        prev = cur, cur = t;
        if (best >= LIMIT) break; /* every path is already too long */
    }
    int d = best >= LIMIT ? LIMIT : prev[nb];
    free(prev), free(cur);
    return d;
}

int chat_named_template(const char *chat_template, const char **name, const char **text, const char **stop) {
    size_t na;
    uint32_t *a = runes(chat_template, &na);
    int best = LIMIT, at = -1;
    for (int i = 0; i < chat_named_n_index; i++) {
        size_t nb;
        uint32_t *b = runes(chat_named_index[i].jinja, &nb);
        int d = distance(a, na, b, nb);
        free(b);
        if (d < best) best = d, at = i;
    }
    free(a);
    if (at < 0) return 0;
    for (int i = 0; i < chat_named_n_templates; i++)
        if (!strcmp(chat_named_templates[i].name, chat_named_index[at].name)) {
            *name = chat_named_templates[i].name;
            *text = chat_named_templates[i].text;
            *stop = chat_named_templates[i].stop_json;
            return 1;
        }
    return 0;
}
