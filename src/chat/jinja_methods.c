/* jinja_methods: the Python methods templates call on values — str
 * (strip, split, startswith, replace, find, join, format ...), dict (get,
 * items, keys, values), list and tuple (count, index), the loop object
 * (cycle, changed) — with the immutable sandbox's refusal of mutating
 * ones (append, pop, update ...: an Undefined raising SecurityError), and
 * the template globals (range, dict, namespace, joiner, raise_exception,
 * strftime_now). String formatting lives in jinja_format.c. */
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat/jinja_internal.h"

#define BIND(fname, ...)                                                                                               \
    static const char *const names_[] = {__VA_ARGS__};                                                                 \
    jv p[sizeof names_ / sizeof names_[0]];                                                                            \
    if (jargs_bind(r, fname, a, names_, sizeof names_ / sizeof names_[0], p)) return -1

static bool given(jv v) { return v.kind != JV_MISSING && v.kind != JV_NONE; }

/* Python's "must be str, not int" (what: the argument's name, or NULL). */
static int need_str(jr *r, jv v, const char *what) {
    if (v.kind == JV_STR) return 0;
    if (v.kind == JV_UNDEF) return jr_undef_fail(r, v);
    return jr_fail(r, "TypeError", "%s%smust be str, not %s", what ? what : "", what ? " " : "", jv_type_name(v));
}

static jv sub_str(jv self, size_t a, size_t b) { return jv_str_markup(self.s->p + a, b - a, self.s->markup); }

/* ---- str: whitespace, case, predicates ---- */

static int strip_common(jr *r, jv self, jargs *a, jv *out, int which) {
    BIND("strip", "chars");
    if (given(p[0]) && need_str(r, p[0], "strip arg")) return -1;
    size_t st, en;
    py_strip(self.s->p, self.s->len, given(p[0]) ? p[0].s->p : NULL, given(p[0]) ? p[0].s->len : 0, which, &st, &en);
    *out = sub_str(self, st, en);
    return 0;
}

static int m_strip(jr *r, jv s, jargs *a, jv *out) { return strip_common(r, s, a, out, 3); }
static int m_lstrip(jr *r, jv s, jargs *a, jv *out) { return strip_common(r, s, a, out, 1); }
static int m_rstrip(jr *r, jv s, jargs *a, jv *out) { return strip_common(r, s, a, out, 2); }

static int case_common(jv self, int mode, jv *out) {
    oc_buf b = {0};
    oc_buf_append(&b, "", 0);
    py_case(self.s->p, self.s->len, mode, &b);
    *out = jv_str_buf(&b, self.s->markup);
    return 0;
}

static int m_lower(jr *r, jv s, jargs *a, jv *out) {
    (void)r, (void)a;
    return case_common(s, 0, out);
}
static int m_upper(jr *r, jv s, jargs *a, jv *out) {
    (void)r, (void)a;
    return case_common(s, 1, out);
}
static int m_title(jr *r, jv s, jargs *a, jv *out) {
    (void)r, (void)a;
    return case_common(s, 2, out);
}
static int m_capitalize(jr *r, jv s, jargs *a, jv *out) {
    (void)r, (void)a;
    return case_common(s, 3, out);
}
static int m_swapcase(jr *r, jv s, jargs *a, jv *out) {
    (void)r, (void)a;
    return case_common(s, 4, out);
}

/* str.isdigit and friends: every character passes, and there is one. */
static int pred_common(jv self, bool (*pred)(uint32_t), jv *out) {
    bool ok = self.s->len > 0;
    uint32_t c;
    for (size_t i = 0; i < self.s->len && ok;) {
        i += u8_decode(self.s->p, self.s->len, i, &c);
        ok = pred(c);
    }
    *out = jv_bool(ok);
    return 0;
}

static int m_isdigit(jr *r, jv s, jargs *a, jv *out) {
    (void)r, (void)a;
    return pred_common(s, py_isdigit, out);
}
static int m_isalpha(jr *r, jv s, jargs *a, jv *out) {
    (void)r, (void)a;
    return pred_common(s, py_isalpha, out);
}
static int m_isalnum(jr *r, jv s, jargs *a, jv *out) {
    (void)r, (void)a;
    return pred_common(s, py_isalnum, out);
}
static int m_isspace(jr *r, jv s, jargs *a, jv *out) {
    (void)r, (void)a;
    return pred_common(s, py_isspace, out);
}

static int cased_common(jv self, bool upper, jv *out) {
    bool cased = false, ok = true;
    uint32_t c;
    for (size_t i = 0; i < self.s->len && ok;) {
        i += u8_decode(self.s->p, self.s->len, i, &c);
        if (upper ? py_islower_cp(c) : py_isupper_cp(c))
            ok = false;
        else if (upper ? py_isupper_cp(c) : py_islower_cp(c))
            cased = true;
    }
    *out = jv_bool(ok && cased);
    return 0;
}

static int m_islower(jr *r, jv s, jargs *a, jv *out) {
    (void)r, (void)a;
    return cased_common(s, false, out);
}
static int m_isupper(jr *r, jv s, jargs *a, jv *out) {
    (void)r, (void)a;
    return cased_common(s, true, out);
}

/* ---- str: searching ---- */

/* Byte range of the code-point slice [start:end] of self (Python slice
 * clamping); false when start lies past the end. */
static bool cp_range(jr *r, jv self, jv start, jv end, size_t *b0, size_t *b1, int *err) {
    int64_t n = (int64_t)u8_count(self.s->p, self.s->len), s = 0, e = n;
    *err = 0;
    if (given(start) && !jv_as_int(start, &s)) *err = jr_fail(r, "TypeError", "slice indices must be integers or None");
    if (given(end) && !jv_as_int(end, &e)) *err = jr_fail(r, "TypeError", "slice indices must be integers or None");
    if (*err) return false;
    if (s < 0) s = s + n < 0 ? 0 : s + n;
    if (e < 0) e = e + n < 0 ? 0 : e + n;
    if (e > n) e = n;
    if (s > n) return false;
    if (e < s) e = s;
    *b0 = u8_offset(self.s->p, self.s->len, (size_t)s);
    *b1 = u8_offset(self.s->p, self.s->len, (size_t)e);
    return true;
}

static int affix_common(jr *r, jv self, jargs *a, jv *out, bool suffix) {
    BIND(suffix ? "endswith" : "startswith", "prefix", "start", "end");
    if (!given(p[0])) return jr_fail(r, "TypeError", "startswith() takes at least 1 argument (0 given)");
    size_t b0, b1;
    int err;
    *out = jv_bool(false);
    if (!cp_range(r, self, p[1], p[2], &b0, &b1, &err)) return err;
    jv one = p[0];
    size_t count = one.kind == JV_LIST && one.l->tuple ? one.l->n : 1;
    for (size_t k = 0; k < count; k++) {
        jv x = one.kind == JV_LIST && one.l->tuple ? one.l->v[k] : one;
        if (x.kind != JV_STR)
            return jr_fail(r, "TypeError", "%s first arg must be str or a tuple of str, not %s",
                           suffix ? "endswith" : "startswith", jv_type_name(x));
        size_t n = x.s->len;
        if (n <= b1 - b0 && !memcmp(self.s->p + (suffix ? b1 - n : b0), x.s->p, n)) {
            *out = jv_bool(true);
            return 0;
        }
    }
    return 0;
}

static int m_startswith(jr *r, jv s, jargs *a, jv *out) { return affix_common(r, s, a, out, false); }
static int m_endswith(jr *r, jv s, jargs *a, jv *out) { return affix_common(r, s, a, out, true); }

/* find / rfind / index / rindex / count over self[start:end]. */
static int find_common(jr *r, jv self, jargs *a, jv *out, bool reverse, bool raise, bool count) {
    BIND(count ? "count" : reverse ? "rfind" : "find", "sub", "start", "end");
    if (need_str(r, p[0], NULL)) return -1;
    size_t b0, b1, at, found = SIZE_MAX;
    int64_t hits = 0;
    int err;
    if (cp_range(r, self, p[1], p[2], &b0, &b1, &err)) {
        const char *h = self.s->p + b0;
        size_t hn = b1 - b0, from = 0;
        while (py_str_find(h, hn, p[0].s->p, p[0].s->len, from, &at)) {
            if (found == SIZE_MAX || reverse) found = at;
            hits++;
            if (!reverse && !count) break;
            uint32_t c;
            from = at + (p[0].s->len ? p[0].s->len : (at < hn ? u8_decode(h, hn, at, &c) : 1));
            if (from > hn) break;
        }
        if (found != SIZE_MAX) found = u8_count(self.s->p, b0 + found);
    } else if (err) {
        return -1;
    }
    if (count) return *out = jv_int(hits), 0;
    if (found == SIZE_MAX && raise) return jr_fail(r, "ValueError", "substring not found");
    *out = jv_int(found == SIZE_MAX ? -1 : (int64_t)found);
    return 0;
}

static int m_find(jr *r, jv s, jargs *a, jv *out) { return find_common(r, s, a, out, false, false, false); }
static int m_rfind(jr *r, jv s, jargs *a, jv *out) { return find_common(r, s, a, out, true, false, false); }
static int m_index(jr *r, jv s, jargs *a, jv *out) { return find_common(r, s, a, out, false, true, false); }
static int m_rindex(jr *r, jv s, jargs *a, jv *out) { return find_common(r, s, a, out, true, true, false); }
static int m_count(jr *r, jv s, jargs *a, jv *out) { return find_common(r, s, a, out, false, false, true); }

static int m_replace(jr *r, jv self, jargs *a, jv *out) {
    BIND("replace", "old", "new", "count");
    if (need_str(r, p[0], "replace() argument 1") || need_str(r, p[1], "replace() argument 2")) return -1;
    int64_t count = -1;
    if (given(p[2]) && !jv_as_int(p[2], &count)) return jr_fail(r, "TypeError", "count must be an integer");
    return jinja_replace(r, self, p[0], p[1], count, self.s->markup, out);
}

/* ---- str: splitting and joining ---- */

static void split_ws(jv self, int64_t max, bool reverse, jlist *l) {
    const char *s = self.s->p;
    size_t n = self.s->len;
    uint32_t c;
    if (!reverse) {
        size_t i = 0;
        while (i < n) {
            while (i < n && (u8_decode(s, n, i, &c), py_isspace(c))) i += u8_decode(s, n, i, &c);
            if (i >= n) break;
            if (max >= 0 && (int64_t)l->n >= max) {
                jl_push(l, sub_str(self, i, n));
                break;
            }
            size_t j = i;
            while (i < n && (u8_decode(s, n, i, &c), !py_isspace(c))) i += u8_decode(s, n, i, &c);
            jl_push(l, sub_str(self, j, i));
        }
        return;
    }
    /* rsplit: collect from the right, then put back in order */
    jv tmp = jv_list(0);
    size_t e = n;
    while (e > 0) {
        size_t st, en;
        py_strip(s, e, NULL, 0, 2, &st, &en);
        e = en;
        if (e == 0) break;
        if (max >= 0 && (int64_t)tmp.l->n >= max) {
            jl_push(tmp.l, sub_str(self, 0, e));
            break;
        }
        size_t b = e;
        while (b > 0) {
            size_t q = b - 1;
            while (q > 0 && ((unsigned char)s[q] & 0xc0) == 0x80) q--;
            u8_decode(s, n, q, &c);
            if (py_isspace(c)) break;
            b = q;
        }
        jl_push(tmp.l, sub_str(self, b, e));
        e = b;
    }
    for (size_t k = tmp.l->n; k > 0; k--) jl_push(l, jv_retain(tmp.l->v[k - 1]));
    jv_release(tmp);
}

static void split_sep(jv self, jv sep, int64_t max, bool reverse, jlist *l) {
    const char *s = self.s->p, *t = sep.s->p;
    size_t n = self.s->len, m = sep.s->len;
    if (!reverse) {
        size_t i = 0, at;
        while ((max < 0 || (int64_t)l->n < max) && py_str_find(s, n, t, m, i, &at)) {
            jl_push(l, sub_str(self, i, at));
            i = at + m;
        }
        jl_push(l, sub_str(self, i, n));
        return;
    }
    jv tmp = jv_list(0);
    size_t e = n;
    while (max < 0 || (int64_t)tmp.l->n < max) {
        size_t k = e >= m ? e - m + 1 : 0;
        bool hit = false;
        while (k-- > 0)
            if (!memcmp(s + k, t, m)) {
                hit = true;
                break;
            }
        if (!hit) break;
        jl_push(tmp.l, sub_str(self, k + m, e));
        e = k;
    }
    jl_push(tmp.l, sub_str(self, 0, e));
    for (size_t k = tmp.l->n; k > 0; k--) jl_push(l, jv_retain(tmp.l->v[k - 1]));
    jv_release(tmp);
}

static int split_common(jr *r, jv self, jargs *a, jv *out, bool reverse) {
    BIND(reverse ? "rsplit" : "split", "sep", "maxsplit");
    int64_t max = -1;
    if (given(p[1]) && !jv_as_int(p[1], &max)) return jr_fail(r, "TypeError", "maxsplit must be an integer");
    if (given(p[0]) && need_str(r, p[0], "sep")) return -1;
    if (given(p[0]) && !p[0].s->len) return jr_fail(r, "ValueError", "empty separator");
    jv l = jv_list(0);
    if (given(p[0]))
        split_sep(self, p[0], max, reverse, l.l);
    else
        split_ws(self, max, reverse, l.l);
    *out = l;
    return 0;
}

static int m_split(jr *r, jv s, jargs *a, jv *out) { return split_common(r, s, a, out, false); }
static int m_rsplit(jr *r, jv s, jargs *a, jv *out) { return split_common(r, s, a, out, true); }

static bool line_break(uint32_t c) {
    return c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e || c == 0x85 ||
           c == 0x2028 || c == 0x2029;
}

static int m_splitlines(jr *r, jv self, jargs *a, jv *out) {
    BIND("splitlines", "keepends");
    bool keep = jv_truthy(p[0]);
    const char *s = self.s->p;
    size_t n = self.s->len, i = 0;
    jv l = jv_list(0);
    while (i < n) {
        size_t e = i, next = n;
        uint32_t c;
        while (e < n) {
            size_t len = u8_decode(s, n, e, &c);
            if (line_break(c)) {
                next = e + len;
                if (c == '\r' && next < n && s[next] == '\n') next++;
                break;
            }
            e += len;
        }
        if (e >= n) next = n;
        jl_push(l.l, sub_str(self, i, keep ? next : e));
        i = next;
    }
    *out = l;
    return 0;
}

static int m_join(jr *r, jv self, jargs *a, jv *out) {
    BIND("join", "iterable");
    jlist *l;
    if (jr_iter(r, p[0], &l)) return -1;
    oc_buf b = {0};
    oc_buf_append(&b, "", 0);
    int rc = 0;
    for (size_t i = 0; i < l->n && !rc; i++) {
        if (l->v[i].kind != JV_STR) {
            rc =
                jr_fail(r, "TypeError", "sequence item %zu: expected str instance, %s found", i, jv_type_name(l->v[i]));
            break;
        }
        if (i) oc_buf_append(&b, self.s->p, self.s->len);
        if (self.s->markup && !l->v[i].s->markup)
            jinja_html_escape(l->v[i].s->p, l->v[i].s->len, &b);
        else
            oc_buf_append(&b, l->v[i].s->p, l->v[i].s->len);
        if (b.len > J_MAX_STR) rc = jr_fail(r, "MemoryError", "string too long");
    }
    jv_release((jv){.kind = JV_LIST, .l = l});
    if (rc) return oc_buf_free(&b), -1;
    *out = jv_str_buf(&b, self.s->markup);
    return 0;
}

static int partition_common(jr *r, jv self, jargs *a, jv *out, bool reverse) {
    BIND(reverse ? "rpartition" : "partition", "sep");
    if (need_str(r, p[0], "sep")) return -1;
    if (!p[0].s->len) return jr_fail(r, "ValueError", "empty separator");
    size_t at = SIZE_MAX, k, from = 0;
    while (py_str_find(self.s->p, self.s->len, p[0].s->p, p[0].s->len, from, &k)) {
        at = k;
        if (!reverse) break;
        from = k + 1;
    }
    jv t = jv_tuple(3), e = jv_str_markup("", 0, self.s->markup);
    if (at == SIZE_MAX) {
        jl_push(t.l, reverse ? jv_retain(e) : jv_retain(self));
        jl_push(t.l, jv_retain(e));
        jl_push(t.l, reverse ? jv_retain(self) : jv_retain(e));
    } else {
        jl_push(t.l, sub_str(self, 0, at));
        jl_push(t.l, jv_retain(p[0]));
        jl_push(t.l, sub_str(self, at + p[0].s->len, self.s->len));
    }
    jv_release(e);
    *out = t;
    return 0;
}

static int m_partition(jr *r, jv s, jargs *a, jv *out) { return partition_common(r, s, a, out, false); }
static int m_rpartition(jr *r, jv s, jargs *a, jv *out) { return partition_common(r, s, a, out, true); }

static int affix_remove(jr *r, jv self, jargs *a, jv *out, bool suffix) {
    BIND(suffix ? "removesuffix" : "removeprefix", "affix");
    if (need_str(r, p[0], "argument")) return -1;
    size_t n = p[0].s->len, len = self.s->len;
    if (n <= len && !memcmp(self.s->p + (suffix ? len - n : 0), p[0].s->p, n))
        *out = suffix ? sub_str(self, 0, len - n) : sub_str(self, n, len);
    else
        *out = jv_retain(self);
    return 0;
}

static int m_removeprefix(jr *r, jv s, jargs *a, jv *out) { return affix_remove(r, s, a, out, false); }
static int m_removesuffix(jr *r, jv s, jargs *a, jv *out) { return affix_remove(r, s, a, out, true); }

/* center / ljust / rjust / zfill */
static int pad_common(jr *r, jv self, jargs *a, jv *out, int mode) {
    BIND(mode == 3 ? "zfill" : "center", "width", "fillchar");
    int64_t w;
    if (!jv_as_int(p[0], &w))
        return jr_fail(r, "TypeError", "'%s' object cannot be interpreted as an integer", jv_type_name(p[0]));
    const char *fill = " ";
    size_t fl = 1;
    if (given(p[1])) {
        if (p[1].kind != JV_STR || u8_count(p[1].s->p, p[1].s->len) != 1)
            return jr_fail(r, "TypeError", "The fill character must be exactly one character long");
        fill = p[1].s->p;
        fl = p[1].s->len;
    }
    if (w > (int64_t)(J_MAX_STR / 4)) return jr_fail(r, "MemoryError", "string too long");
    int64_t n = (int64_t)u8_count(self.s->p, self.s->len), marg, left;
    if (w <= n) return *out = jv_retain(self), 0;
    marg = w - n;
    left = mode == 0 ? marg / 2 + (marg & w & 1) : mode == 1 ? 0 : marg;
    oc_buf b = {0};
    size_t skip = 0;
    if (mode == 3) {
        fill = "0";
        if (self.s->len && (self.s->p[0] == '+' || self.s->p[0] == '-')) oc_buf_append(&b, self.s->p, skip = 1);
    }
    for (int64_t i = 0; i < left; i++) oc_buf_append(&b, fill, fl);
    oc_buf_append(&b, self.s->p + skip, self.s->len - skip);
    for (int64_t i = 0; i < marg - left; i++) oc_buf_append(&b, fill, fl);
    *out = jv_str_buf(&b, self.s->markup);
    return 0;
}

static int m_center(jr *r, jv s, jargs *a, jv *out) { return pad_common(r, s, a, out, 0); }
static int m_ljust(jr *r, jv s, jargs *a, jv *out) { return pad_common(r, s, a, out, 1); }
static int m_rjust(jr *r, jv s, jargs *a, jv *out) { return pad_common(r, s, a, out, 2); }
static int m_zfill(jr *r, jv s, jargs *a, jv *out) { return pad_common(r, s, a, out, 3); }

static int m_format(jr *r, jv s, jargs *a, jv *out) { return jinja_str_format(r, s, a, out); }

/* ---- dict ---- */

static int m_get(jr *r, jv self, jargs *a, jv *out) {
    BIND("get", "key", "default");
    if (p[0].kind == JV_MISSING) return jr_fail(r, "TypeError", "get expected at least 1 argument, got 0");
    if (!jv_hashable(p[0])) return jr_fail(r, "TypeError", "unhashable type: '%s'", jv_type_name(p[0]));
    jv *v = jd_get(self.d, p[0]);
    *out = v ? jv_retain(*v) : p[1].kind == JV_MISSING ? jv_none() : jv_retain(p[1]);
    return 0;
}

static int dict_view(jv self, int which, jv *out) {
    jdict *d = self.d;
    jv l = jv_list(d->n);
    for (size_t i = 0; i < d->n; i++) {
        if (which == 0)
            jl_push(l.l, jv_retain(d->k[i]));
        else if (which == 1)
            jl_push(l.l, jv_retain(d->v[i]));
        else {
            jv t = jv_tuple(2);
            jl_push(t.l, jv_retain(d->k[i]));
            jl_push(t.l, jv_retain(d->v[i]));
            jl_push(l.l, t);
        }
    }
    l.l->view = (uint8_t)(which + 1);
    *out = l;
    return 0;
}

static int m_keys(jr *r, jv s, jargs *a, jv *out) {
    (void)r, (void)a;
    return dict_view(s, 0, out);
}
static int m_values(jr *r, jv s, jargs *a, jv *out) {
    (void)r, (void)a;
    return dict_view(s, 1, out);
}
static int m_items(jr *r, jv s, jargs *a, jv *out) {
    (void)r, (void)a;
    return dict_view(s, 2, out);
}

static int m_dict_copy(jr *r, jv self, jargs *a, jv *out) {
    (void)r, (void)a;
    jv d = jv_dict();
    for (size_t i = 0; i < self.d->n; i++) jd_set(d.d, jv_retain(self.d->k[i]), jv_retain(self.d->v[i]));
    *out = d;
    return 0;
}

/* ---- list / tuple ---- */

static int m_list_count(jr *r, jv self, jargs *a, jv *out) {
    BIND("count", "value");
    int64_t n = 0;
    for (size_t i = 0; i < self.l->n; i++) n += jv_eq(self.l->v[i], p[0]);
    *out = jv_int(n);
    return 0;
}

static int m_list_index(jr *r, jv self, jargs *a, jv *out) {
    BIND("index", "value", "start", "stop");
    int64_t n = (int64_t)self.l->n, s = 0, e = n;
    if (given(p[1]) && !jv_as_int(p[1], &s)) return jr_fail(r, "TypeError", "slice indices must be integers");
    if (given(p[2]) && !jv_as_int(p[2], &e)) return jr_fail(r, "TypeError", "slice indices must be integers");
    if (s < 0) s = s + n < 0 ? 0 : s + n;
    if (e < 0) e = e + n < 0 ? 0 : e + n;
    for (int64_t i = s; i < e && i < n; i++)
        if (jv_eq(self.l->v[i], p[0])) return *out = jv_int(i), 0;
    oc_buf m = {0};
    jv_repr(p[0], &m);
    int rc = jr_fail(r, "ValueError", "%.200s is not in %s", m.data ? m.data : "", self.l->tuple ? "tuple" : "list");
    oc_buf_free(&m);
    return rc;
}

static int m_list_copy(jr *r, jv self, jargs *a, jv *out) {
    (void)r, (void)a;
    jv l = jv_list(self.l->n);
    for (size_t i = 0; i < self.l->n; i++) jl_push(l.l, jv_retain(self.l->v[i]));
    *out = l;
    return 0;
}

/* ---- loop ---- */

static int m_cycle(jr *r, jv self, jargs *a, jv *out) {
    if (!a->npos) return jr_fail(r, "TypeError", "no items for cycling given");
    *out = jv_retain(a->pos[self.lp->i % a->npos]);
    return 0;
}

static int m_changed(jr *r, jv self, jargs *a, jv *out) {
    (void)r;
    jv t = jv_tuple(a->npos);
    for (size_t i = 0; i < a->npos; i++) jl_push(t.l, jv_retain(a->pos[i]));
    jloop *lp = self.lp;
    bool changed = lp->changed_last.kind == JV_MISSING || !jv_eq(lp->changed_last, t);
    if (changed) {
        jv_release(lp->changed_last);
        lp->changed_last = t;
    } else {
        jv_release(t);
    }
    *out = jv_bool(changed);
    return 0;
}

/* ---- method tables ---- */

typedef struct method {
    const char *name;
    jbuiltin_fn fn;
} method;

static const method STR_METHODS[] = {{"strip", m_strip},
                                     {"lstrip", m_lstrip},
                                     {"rstrip", m_rstrip},
                                     {"lower", m_lower},
                                     {"upper", m_upper},
                                     {"title", m_title},
                                     {"capitalize", m_capitalize},
                                     {"swapcase", m_swapcase},
                                     {"casefold", m_lower},
                                     {"isdigit", m_isdigit},
                                     {"isdecimal", m_isdigit},
                                     {"isnumeric", m_isdigit},
                                     {"isalpha", m_isalpha},
                                     {"isalnum", m_isalnum},
                                     {"isspace", m_isspace},
                                     {"islower", m_islower},
                                     {"isupper", m_isupper},
                                     {"startswith", m_startswith},
                                     {"endswith", m_endswith},
                                     {"find", m_find},
                                     {"rfind", m_rfind},
                                     {"index", m_index},
                                     {"rindex", m_rindex},
                                     {"count", m_count},
                                     {"replace", m_replace},
                                     {"split", m_split},
                                     {"rsplit", m_rsplit},
                                     {"splitlines", m_splitlines},
                                     {"join", m_join},
                                     {"partition", m_partition},
                                     {"rpartition", m_rpartition},
                                     {"removeprefix", m_removeprefix},
                                     {"removesuffix", m_removesuffix},
                                     {"center", m_center},
                                     {"ljust", m_ljust},
                                     {"rjust", m_rjust},
                                     {"zfill", m_zfill},
                                     {"format", m_format},
                                     {NULL, NULL}};
static const method DICT_METHODS[] = {{"get", m_get},     {"keys", m_keys},      {"values", m_values},
                                      {"items", m_items}, {"copy", m_dict_copy}, {NULL, NULL}};
static const method LIST_METHODS[] = {
    {"count", m_list_count}, {"index", m_list_index}, {"copy", m_list_copy}, {NULL, NULL}};
static const method TUPLE_METHODS[] = {{"count", m_list_count}, {"index", m_list_index}, {NULL, NULL}};
static const method LOOP_METHODS[] = {{"cycle", m_cycle}, {"changed", m_changed}, {NULL, NULL}};

/* Methods that mutate; the immutable sandbox hides them. */
static const char *const DICT_UNSAFE[] = {"clear", "pop", "popitem", "setdefault", "update", NULL};
static const char *const LIST_UNSAFE[] = {"append", "clear",  "pop",    "reverse", "insert",
                                          "sort",   "extend", "remove", NULL};

static jv bound(jv self, const method *m) {
    jfunc *f = oc_calloc(1, sizeof *f);
    f->rc = 1;
    f->type = FN_METHOD;
    f->name = m->name;
    f->self = jv_retain(self);
    f->fn = m->fn;
    return (jv){.kind = JV_FUNC, .fn = f};
}

static bool in_names(const char *const *list, const char *name) {
    for (; *list; list++)
        if (!strcmp(*list, name)) return true;
    return false;
}

void jinja_find_method(jv obj, const char *name, jv *out, bool *found) {
    const method *table = NULL;
    const char *const *unsafe = NULL;
    switch (obj.kind) {
    case JV_STR: table = STR_METHODS; break;
    case JV_DICT: table = DICT_METHODS, unsafe = DICT_UNSAFE; break;
    case JV_LIST:
        if (obj.l->view) break;
        table = obj.l->tuple ? TUPLE_METHODS : LIST_METHODS, unsafe = obj.l->tuple ? NULL : LIST_UNSAFE;
        break;
    case JV_LOOP: table = LOOP_METHODS; break;
    default: break;
    }
    *found = false;
    for (const method *m = table; m && m->name; m++)
        if (!strcmp(m->name, name)) {
            *out = bound(obj, m);
            *found = true;
            return;
        }
    if (unsafe && in_names(unsafe, name)) {
        *out = jv_undef_msg("SecurityError", "access to attribute '%s' of '%s' object is unsafe.", name,
                            jv_type_name(obj));
        *found = true;
    }
}

/* ---- globals ---- */

static int g_range(jr *r, jv self, jargs *a, jv *out) {
    (void)self;
    int64_t v[3] = {0, 0, 1};
    if (a->nkw || a->npos < 1 || a->npos > 3) return jr_fail(r, "TypeError", "range expected 1 to 3 arguments");
    for (size_t i = 0; i < a->npos; i++)
        if (!jv_as_int(a->pos[i], &v[i]))
            return jr_fail(r, "TypeError", "'%s' object cannot be interpreted as an integer", jv_type_name(a->pos[i]));
    int64_t start = a->npos == 1 ? 0 : v[0], stop = a->npos == 1 ? v[0] : v[1], step = a->npos == 3 ? v[2] : 1;
    if (!step) return jr_fail(r, "ValueError", "range() arg 3 must not be zero");
    __int128 n = step > 0 ? (stop > start ? ((__int128)stop - start - 1) / step + 1 : 0)
                          : (start > stop ? ((__int128)start - stop - 1) / -(__int128)step + 1 : 0);
    if (n > J_MAX_RANGE)
        return jr_fail(r, "OverflowError", "Range too big. The sandbox blocks ranges larger than MAX_RANGE (%d).",
                       J_MAX_RANGE);
    jv l = jv_list((size_t)n);
    for (int64_t i = 0; i < (int64_t)n; i++) jl_push(l.l, jv_int((int64_t)(start + (__int128)i * step)));
    *out = l;
    return 0;
}

/* dict(mapping or pairs, **kwargs), and namespace() on top of it. */
static int build_dict(jr *r, jargs *a, jv d) {
    if (a->npos > 1) return jr_fail(r, "TypeError", "dict expected at most 1 argument, got %zu", a->npos);
    if (a->npos) {
        jv src = a->pos[0];
        if (src.kind == JV_UNDEF) return jr_undef_fail(r, src); /* dict() asks it for .keys */
        if (src.kind == JV_DICT) {
            for (size_t i = 0; i < src.d->n; i++) jd_set(d.d, jv_retain(src.d->k[i]), jv_retain(src.d->v[i]));
        } else {
            jlist *l;
            if (jr_iter(r, src, &l)) return -1;
            int rc = 0;
            for (size_t i = 0; i < l->n && !rc; i++) {
                jlist *pair;
                if ((rc = jr_iter(r, l->v[i], &pair))) break;
                if (pair->n != 2)
                    rc = jr_fail(r, "ValueError",
                                 "dictionary update sequence element #%zu has length %zu; 2 is required", i, pair->n);
                else if (!jv_hashable(pair->v[0]))
                    rc = jr_fail(r, "TypeError", "unhashable type: '%s'", jv_type_name(pair->v[0]));
                else
                    jd_set(d.d, jv_retain(pair->v[0]), jv_retain(pair->v[1]));
                jv_release((jv){.kind = JV_LIST, .l = pair});
            }
            jv_release((jv){.kind = JV_LIST, .l = l});
            if (rc) return -1;
        }
    }
    for (size_t k = 0; k < a->nkw; k++) jd_set_str(d.d, a->kwn[k], jv_retain(a->kwv[k]));
    return 0;
}

static int g_dict(jr *r, jv self, jargs *a, jv *out) {
    (void)self;
    jv d = jv_dict();
    if (build_dict(r, a, d)) return jv_release(d), -1;
    *out = d;
    return 0;
}

static int g_namespace(jr *r, jv self, jargs *a, jv *out) {
    (void)self;
    jv d = jv_ns();
    if (build_dict(r, a, d)) return jv_release(d), -1;
    jr_track(r, d);
    *out = d;
    return 0;
}

static int g_raise_exception(jr *r, jv self, jargs *a, jv *out) {
    (void)self, (void)out;
    oc_buf m = {0};
    if (a->npos)
        jv_to_str(a->pos[0], &m);
    else if (a->nkw)
        jv_to_str(a->kwv[0], &m);
    int rc = jr_fail(r, "TemplateError", "%s", m.data ? m.data : "None");
    oc_buf_free(&m);
    return rc;
}

/* datetime.strftime: %f, %z and %Z are Python's own (a naive datetime:
 * microseconds 0 here, no zone); the rest is C's strftime in the C locale. */
static int g_strftime_now(jr *r, jv self, jargs *a, jv *out) {
    (void)self;
    if (a->npos != 1 || a->pos[0].kind != JV_STR)
        return jr_fail(r, "TypeError", "strftime_now() takes one string argument");
    int64_t fixed = jinja_fixed_time();
    time_t now = fixed ? (time_t)fixed : time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    jv fmt = a->pos[0];
    oc_buf f = {0}, b = {0};
    for (size_t i = 0; i < fmt.s->len; i++) {
        char c = fmt.s->p[i], n = i + 1 < fmt.s->len ? fmt.s->p[i + 1] : 0;
        if (c == '%' && (n == 'f' || n == 'z' || n == 'Z')) {
            if (n == 'f') oc_buf_puts(&f, "000000");
            i++;
        } else {
            oc_buf_append(&f, &c, 1);
            if (c == '%' && n) oc_buf_append(&f, &fmt.s->p[++i], 1);
        }
    }
    oc_buf_append(&f, "", 0);
    locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    size_t cap = 256 + f.len * 4, n = 0;
    char *tmp = oc_malloc(cap);
    if (f.len) n = c_loc ? strftime_l(tmp, cap, f.data, &tm, c_loc) : strftime(tmp, cap, f.data, &tm);
    if (c_loc) freelocale(c_loc);
    oc_buf_append(&b, tmp, n);
    oc_buf_append(&b, "", 0);
    free(tmp);
    oc_buf_free(&f);
    *out = jv_str_buf(&b, false);
    return 0;
}

/* joiner(sep): a callable returning "" the first time, sep after. */
static int g_joiner_call(jr *r, jv self, jargs *a, jv *out) {
    (void)r, (void)a;
    jlist *st = self.l; /* [sep, used] */
    bool used = jv_truthy(st->v[1]);
    st->v[1] = jv_bool(true);
    *out = used ? jv_retain(st->v[0]) : jv_strz("");
    return 0;
}

static int g_joiner(jr *r, jv self, jargs *a, jv *out) {
    (void)self;
    BIND("joiner", "sep");
    jv st = jv_list(2);
    jl_push(st.l, p[0].kind == JV_MISSING ? jv_strz(", ") : jv_retain(p[0]));
    jl_push(st.l, jv_bool(false));
    static const method m = {"joiner", g_joiner_call};
    *out = bound(st, &m);
    jv_release(st);
    return 0;
}

void jinja_add_globals(jdict *g) {
    static const method G[] = {{"range", g_range},
                               {"dict", g_dict},
                               {"namespace", g_namespace},
                               {"raise_exception", g_raise_exception},
                               {"strftime_now", g_strftime_now},
                               {"joiner", g_joiner},
                               {NULL, NULL}};
    for (const method *m = G; m->name; m++) {
        jv f = bound(jv_none(), m);
        f.fn->type = FN_BUILTIN;
        jd_set_str(g, m->name, f);
    }
}
