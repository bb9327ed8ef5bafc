/* jinja_ops: Python's operators over Jinja values as the immutable
 * sandbox sees them — attribute and item access (each falling back to the
 * other, Undefined when both miss), slicing, arithmetic, comparison,
 * membership, iteration and str() — with Python's TypeError messages. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chat/jinja_internal.h"

static int undef_or_type(jr *r, jv a, jv b) {
    if (a.kind == JV_UNDEF) return jr_undef_fail(r, a);
    if (b.kind == JV_UNDEF) return jr_undef_fail(r, b);
    return 0;
}

/* ---- attributes and items ---- */

static bool loop_attr(jloop *lp, const char *name, jv *out);

/* Python getattr(obj, name) for the attributes our values have; false when
 * there is none (AttributeError). */
bool jr_pyattr(jv obj, const char *name, jv *out) {
    if (obj.kind == JV_NS) {
        jv *v = jd_get_str(obj.d, name);
        if (v) *out = jv_retain(*v);
        return v != NULL;
    }
    if (obj.kind == JV_LOOP) return loop_attr(obj.lp, name, out);
    bool found = false;
    jinja_find_method(obj, name, out, &found);
    return found;
}

int jr_getattr(jr *r, jv obj, const char *name, jv *out) {
    if (obj.kind == JV_UNDEF) return jr_undef_fail(r, obj);
    if (jr_pyattr(obj, name, out)) return 0;
    if (obj.kind == JV_DICT) {
        jv *v = jd_get_str(obj.d, name);
        if (v) {
            *out = jv_retain(*v);
            return 0;
        }
    }
    *out = jv_undef_attr(obj, name);
    return 0;
}

/* A Python index into a sequence of n items; false when out of range. */
static bool seq_index(jv key, size_t n, size_t *at) {
    int64_t i;
    if (!jv_as_int(key, &i)) return false;
    if (i < 0) i += (int64_t)n;
    if (i < 0 || (uint64_t)i >= n) return false;
    *at = (size_t)i;
    return true;
}

static bool py_getitem(jv obj, jv key, jv *out) {
    size_t at;
    switch (obj.kind) {
    case JV_DICT: {
        jv *v = jd_get(obj.d, key);
        if (v) *out = jv_retain(*v);
        return v != NULL;
    }
    case JV_LIST:
        if (obj.l->view || !seq_index(key, obj.l->n, &at)) return false;
        *out = jv_retain(obj.l->v[at]);
        return true;
    case JV_STR: {
        if (key.kind != JV_INT && key.kind != JV_BOOL) return false;
        size_t n = u8_count(obj.s->p, obj.s->len);
        if (!seq_index(key, n, &at)) return false;
        size_t b = u8_offset(obj.s->p, obj.s->len, at);
        uint32_t cp;
        size_t l = u8_decode(obj.s->p, obj.s->len, b, &cp);
        *out = jv_str_markup(obj.s->p + b, l, obj.s->markup);
        return true;
    }
    default: return false;
    }
}

int jr_getitem(jr *r, jv obj, jv key, jv *out) {
    if (obj.kind == JV_UNDEF) return jr_undef_fail(r, obj);
    if (py_getitem(obj, key, out)) return 0;
    if (key.kind == JV_STR && jr_pyattr(obj, key.s->p, out)) return 0;
    *out = jv_undef_item(obj, key);
    return 0;
}

/* ---- slicing ---- */

typedef struct slice {
    int64_t start, stop, step;
} slice;

/* PySlice_Unpack + PySlice_AdjustIndices for a sequence of n items:
 * returns the number of items selected, or -1 when a part is neither None
 * nor an int (a TypeError, which Jinja's getitem turns into Undefined). */
static int64_t slice_adjust(jv a, jv b, jv c, int64_t n, slice *s) {
    jv parts[3] = {a, b, c};
    int64_t v[3];
    bool given[3];
    for (int k = 0; k < 3; k++) {
        given[k] = parts[k].kind != JV_NONE && parts[k].kind != JV_MISSING;
        if (given[k] && !jv_as_int(parts[k], &v[k])) return -1;
    }
    int64_t step = given[2] ? v[2] : 1;
    if (step == INT64_MIN) step = -INT64_MAX;
    int64_t ends[2] = {given[0] ? v[0] : step < 0 ? INT64_MAX : 0, given[1] ? v[1] : step < 0 ? INT64_MIN : INT64_MAX};
    for (int k = 0; k < 2; k++) {
        if (ends[k] < 0) {
            ends[k] += n;
            if (ends[k] < 0) ends[k] = step < 0 ? -1 : 0;
        } else if (ends[k] >= n) {
            ends[k] = step < 0 ? n - 1 : n;
        }
    }
    s->start = ends[0];
    s->stop = ends[1];
    s->step = step;
    if (step < 0) return s->stop < s->start ? (s->start - s->stop - 1) / -step + 1 : 0;
    return s->start < s->stop ? (s->stop - s->start - 1) / step + 1 : 0;
}

static void str_slice(jv obj, slice s, int64_t count, jv *out) {
    const char *p = obj.s->p;
    size_t len = obj.s->len, n = u8_count(p, len);
    size_t *off = oc_malloc((n + 1) * sizeof(size_t));
    uint32_t cp;
    for (size_t i = 0, b = 0; i <= n; i++) {
        off[i] = b;
        if (b < len) b += u8_decode(p, len, b, &cp);
    }
    oc_buf b = {0};
    oc_buf_append(&b, "", 0);
    for (int64_t k = 0, i = s.start; k < count; k++, i += s.step) oc_buf_append(&b, p + off[i], off[i + 1] - off[i]);
    free(off);
    *out = jv_str_buf(&b, obj.s->markup);
}

/* obj[a:b:c]: Jinja compiles slices to a plain Python subscript, so,
 * unlike item access, a bad one raises instead of giving Undefined. */
int jr_slice(jr *r, jv obj, jv a, jv b, jv c, jv *out) {
    if (obj.kind == JV_UNDEF) return jr_undef_fail(r, obj);
    if (obj.kind == JV_DICT) return jr_fail(r, "TypeError", "unhashable type: 'slice'");
    if (obj.kind != JV_STR && !(obj.kind == JV_LIST && !obj.l->view))
        return jr_fail(r, "TypeError", "'%s' object is not subscriptable", jv_type_name(obj));
    int64_t step;
    if (c.kind != JV_MISSING && c.kind != JV_NONE && jv_as_int(c, &step) && step == 0)
        return jr_fail(r, "ValueError", "slice step cannot be zero");
    int64_t n = obj.kind == JV_LIST ? (int64_t)obj.l->n : (int64_t)u8_count(obj.s->p, obj.s->len);
    slice s;
    int64_t count = slice_adjust(a, b, c, n, &s);
    if (count < 0) return jr_fail(r, "TypeError", "slice indices must be integers or None or have an __index__ method");
    if (obj.kind == JV_STR) {
        str_slice(obj, s, count, out);
        return 0;
    }
    jv l = obj.l->tuple ? jv_tuple((size_t)count) : jv_list((size_t)count);
    for (int64_t k = 0, i = s.start; k < count; k++, i += s.step) jl_push(l.l, jv_retain(obj.l->v[i]));
    *out = l;
    return 0;
}

/* ---- the loop object ---- */

static bool loop_attr(jloop *lp, const char *name, jv *out) {
    int64_t n = (int64_t)lp->items->n, i = (int64_t)lp->i;
    if (!strcmp(name, "index"))
        *out = jv_int(i + 1);
    else if (!strcmp(name, "index0"))
        *out = jv_int(i);
    else if (!strcmp(name, "revindex"))
        *out = jv_int(n - i);
    else if (!strcmp(name, "revindex0"))
        *out = jv_int(n - i - 1);
    else if (!strcmp(name, "first"))
        *out = jv_bool(i == 0);
    else if (!strcmp(name, "last"))
        *out = jv_bool(i == n - 1);
    else if (!strcmp(name, "length"))
        *out = jv_int(n);
    else if (!strcmp(name, "depth"))
        *out = jv_int(lp->depth0 + 1);
    else if (!strcmp(name, "depth0"))
        *out = jv_int(lp->depth0);
    else if (!strcmp(name, "previtem"))
        *out = i > 0 ? jv_retain(lp->items->v[i - 1]) : jv_undef_msg("UndefinedError", "there is no previous item");
    else if (!strcmp(name, "nextitem"))
        *out = i + 1 < n ? jv_retain(lp->items->v[i + 1]) : jv_undef_msg("UndefinedError", "there is no next item");
    else {
        bool found = false;
        jinja_find_method((jv){.kind = JV_LOOP, .lp = lp}, name, out, &found);
        return found;
    }
    return true;
}

/* ---- arithmetic ---- */

static const char *OPNAME[] = {[OP_ADD] = "+",       [OP_SUB] = "-", [OP_MUL] = "*",          [OP_DIV] = "/",
                               [OP_FLOORDIV] = "//", [OP_MOD] = "%", [OP_POW] = "** or pow()"};

static int unsupported(jr *r, int op, jv a, jv b) {
    return jr_fail(r, "TypeError", "unsupported operand type(s) for %s: '%s' and '%s'", OPNAME[op], jv_type_name(a),
                   jv_type_name(b));
}

static bool as_double(jv v, double *f) {
    if (v.kind == JV_FLOAT)
        *f = v.f;
    else if (v.kind == JV_INT)
        *f = (double)v.i;
    else if (v.kind == JV_BOOL)
        *f = v.b;
    else
        return false;
    return true;
}

static int64_t floordiv_i(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

static int int_pow(jr *r, int64_t a, int64_t e, jv *out) {
    int64_t acc = 1;
    while (e > 0) {
        if (e & 1 && __builtin_mul_overflow(acc, a, &acc)) goto big;
        e >>= 1;
        if (e && __builtin_mul_overflow(a, a, &a)) goto big;
    }
    *out = jv_int(acc);
    return 0;
big:
    return jr_fail(r, "OverflowError", "integer result too large");
}

static int int_arith(jr *r, int op, int64_t a, int64_t b, jv *out) {
    int64_t v = 0;
    bool ovf = false;
    switch (op) {
    case OP_ADD: ovf = __builtin_add_overflow(a, b, &v); break;
    case OP_SUB: ovf = __builtin_sub_overflow(a, b, &v); break;
    case OP_MUL: ovf = __builtin_mul_overflow(a, b, &v); break;
    case OP_DIV:
        if (!b) return jr_fail(r, "ZeroDivisionError", "division by zero");
        *out = jv_float((double)a / (double)b);
        return 0;
    case OP_FLOORDIV:
    case OP_MOD:
        if (!b)
            return jr_fail(r, "ZeroDivisionError",
                           op == OP_MOD ? "integer modulo by zero" : "integer division or modulo by zero");
        if (a == INT64_MIN && b == -1)
            return op == OP_MOD ? (*out = jv_int(0), 0) : jr_fail(r, "OverflowError", "integer result too large");
        v = op == OP_FLOORDIV ? floordiv_i(a, b) : a - floordiv_i(a, b) * b;
        break;
    case OP_POW:
        if (b < 0) {
            if (!a) return jr_fail(r, "ZeroDivisionError", "0.0 cannot be raised to a negative power");
            *out = jv_float(pow((double)a, (double)b));
            return 0;
        }
        return int_pow(r, a, b, out);
    }
    if (ovf) return jr_fail(r, "OverflowError", "integer result too large");
    *out = jv_int(v);
    return 0;
}

static int float_arith(jr *r, int op, double a, double b, jv *out) {
    double v;
    switch (op) {
    case OP_ADD: v = a + b; break;
    case OP_SUB: v = a - b; break;
    case OP_MUL: v = a * b; break;
    case OP_DIV:
        if (b == 0) return jr_fail(r, "ZeroDivisionError", "float division by zero");
        v = a / b;
        break;
    case OP_FLOORDIV:
        if (b == 0) return jr_fail(r, "ZeroDivisionError", "float floor division by zero");
        v = floor(a / b);
        break;
    case OP_MOD:
        if (b == 0) return jr_fail(r, "ZeroDivisionError", "float modulo");
        v = fmod(a, b);
        if (v != 0 && ((v < 0) != (b < 0))) v += b;
        break;
    default:
        if (a == 0 && b < 0) return jr_fail(r, "ZeroDivisionError", "0.0 cannot be raised to a negative power");
        v = pow(a, b);
        break;
    }
    *out = jv_float(v);
    return 0;
}

/* markupsafe: Markup + str escapes the str; the result is Markup. */
static int str_concat(jr *r, jv a, jv b, jv *out) {
    bool markup = a.s->markup || b.s->markup;
    if (a.s->len + b.s->len > J_MAX_STR) return jr_fail(r, "MemoryError", "string too long");
    oc_buf o = {0};
    oc_buf_append(&o, "", 0);
    if (markup && !a.s->markup)
        jinja_html_escape(a.s->p, a.s->len, &o);
    else
        oc_buf_append(&o, a.s->p, a.s->len);
    if (markup && !b.s->markup)
        jinja_html_escape(b.s->p, b.s->len, &o);
    else
        oc_buf_append(&o, b.s->p, b.s->len);
    *out = jv_str_buf(&o, markup);
    return 0;
}

static int list_concat(jr *r, jv a, jv b, jv *out) {
    if (a.l->n + b.l->n > J_MAX_LIST) return jr_fail(r, "MemoryError", "list too long");
    jv l = a.l->tuple ? jv_tuple(a.l->n + b.l->n) : jv_list(a.l->n + b.l->n);
    for (size_t i = 0; i < a.l->n; i++) jl_push(l.l, jv_retain(a.l->v[i]));
    for (size_t i = 0; i < b.l->n; i++) jl_push(l.l, jv_retain(b.l->v[i]));
    *out = l;
    return 0;
}

static int repeat(jr *r, jv seq, int64_t times, jv *out) {
    if (times < 0) times = 0;
    size_t unit = seq.kind == JV_STR ? seq.s->len : seq.l->n;
    size_t limit = seq.kind == JV_STR ? J_MAX_STR : J_MAX_LIST;
    if (unit && (uint64_t)times > limit / unit) return jr_fail(r, "MemoryError", "repeated sequence too long");
    if (seq.kind == JV_STR) {
        oc_buf o = {0};
        oc_buf_append(&o, "", 0);
        for (int64_t k = 0; k < times; k++) oc_buf_append(&o, seq.s->p, seq.s->len);
        *out = jv_str_buf(&o, seq.s->markup);
        return 0;
    }
    jv l = seq.l->tuple ? jv_tuple(unit * (size_t)times) : jv_list(unit * (size_t)times);
    for (int64_t k = 0; k < times; k++)
        for (size_t i = 0; i < unit; i++) jl_push(l.l, jv_retain(seq.l->v[i]));
    *out = l;
    return 0;
}

static int binop_seq(jr *r, int op, jv a, jv b, jv *out) {
    int64_t times;
    if (op == OP_ADD) {
        if (a.kind == JV_STR && b.kind == JV_STR) return str_concat(r, a, b, out);
        if (a.kind == JV_LIST && b.kind == JV_LIST && a.l->tuple == b.l->tuple && !a.l->view && !b.l->view)
            return list_concat(r, a, b, out);
        if (a.kind == JV_STR && !a.s->markup)
            return jr_fail(r, "TypeError", "can only concatenate str (not \"%s\") to str", jv_type_name(b));
        if (a.kind == JV_LIST && !a.l->view)
            return jr_fail(r, "TypeError", "can only concatenate %s (not \"%s\") to %s", jv_type_name(a),
                           jv_type_name(b), jv_type_name(a));
    }
    if (op == OP_MUL) {
        if ((a.kind == JV_STR || (a.kind == JV_LIST && !a.l->view)) && b.kind != JV_FLOAT && jv_as_int(b, &times))
            return repeat(r, a, times, out);
        if ((b.kind == JV_STR || (b.kind == JV_LIST && !b.l->view)) && a.kind != JV_FLOAT && jv_as_int(a, &times))
            return repeat(r, b, times, out);
    }
    if (op == OP_MOD && a.kind == JV_STR) return jinja_str_percent(r, a, b, out);
    bool seq_a = a.kind == JV_STR || (a.kind == JV_LIST && !a.l->view),
         seq_b = b.kind == JV_STR || (b.kind == JV_LIST && !b.l->view);
    if (op == OP_MUL && (seq_a || seq_b))
        return jr_fail(r, "TypeError", "can't multiply sequence by non-int of type '%s'", jv_type_name(seq_a ? b : a));
    return unsupported(r, op, a, b);
}

int jr_binop(jr *r, int op, jv a, jv b, jv *out) {
    /* str % x formats whatever x is (str.__mod__ runs before any __rmod__) */
    if (op == OP_MOD && a.kind == JV_STR) return jinja_str_percent(r, a, b, out);
    if (undef_or_type(r, a, b)) return -1;
    if ((a.kind == JV_INT || a.kind == JV_BOOL) && (b.kind == JV_INT || b.kind == JV_BOOL)) {
        int64_t x = a.kind == JV_INT ? a.i : a.b, y = b.kind == JV_INT ? b.i : b.b;
        return int_arith(r, op, x, y, out);
    }
    double fa, fb;
    if (as_double(a, &fa) && as_double(b, &fb)) return float_arith(r, op, fa, fb, out);
    return binop_seq(r, op, a, b, out);
}

/* ---- comparison and membership ---- */

int jr_compare(jr *r, int op, jv a, jv b, bool *out) {
    if (op == OP_EQ || op == OP_NE) {
        *out = jv_eq(a, b) == (op == OP_EQ);
        return 0;
    }
    if (op == OP_IN || op == OP_NOTIN) {
        if (jr_contains(r, b, a, out)) return -1;
        if (op == OP_NOTIN) *out = !*out;
        return 0;
    }
    if (undef_or_type(r, a, b)) return -1;
    int c;
    if (jv_cmp(a, b, &c)) {
        /* Python names the first pair of items that failed to compare */
        while (a.kind == JV_LIST && b.kind == JV_LIST && a.l->tuple == b.l->tuple && !a.l->view && !b.l->view) {
            size_t i = 0;
            while (i < a.l->n && i < b.l->n && jv_eq(a.l->v[i], b.l->v[i])) i++;
            if (i == a.l->n || i == b.l->n) break;
            a = a.l->v[i];
            b = b.l->v[i];
        }
        return jr_fail(r, "TypeError", "'%s' not supported between instances of '%s' and '%s'", jinja_op_str(op),
                       jv_type_name(a), jv_type_name(b));
    }
    if (c == 2)
        *out = false; /* NaN */
    else
        *out = op == OP_LT ? c < 0 : op == OP_LE ? c <= 0 : op == OP_GT ? c > 0 : c >= 0;
    return 0;
}

int jr_contains(jr *r, jv container, jv item, bool *out) {
    *out = false;
    switch (container.kind) {
    case JV_STR:
        if (item.kind != JV_STR)
            return jr_fail(r, "TypeError", "'in <string>' requires string as left operand, not %s", jv_type_name(item));
        size_t at;
        jv_work += container.s->len;
        *out = py_str_find(container.s->p, container.s->len, item.s->p, item.s->len, 0, &at);
        return 0;
    case JV_DICT:
        if (!jv_hashable(item)) return jr_fail(r, "TypeError", "unhashable type: '%s'", jv_type_name(item));
        *out = jd_get(container.d, item) != NULL;
        return 0;
    case JV_UNDEF: return 0;
    case JV_LIST:
    case JV_GEN: {
        jlist *l;
        if (jr_iter(r, container, &l)) return -1;
        for (size_t i = 0; i < l->n && !*out; i++) *out = jv_eq(l->v[i], item);
        jv_release((jv){.kind = JV_LIST, .l = l});
        return 0;
    }
    default: return jr_fail(r, "TypeError", "argument of type '%s' is not iterable", jv_type_name(container));
    }
}

/* ---- iteration ---- */

static jlist *chars_of(jv s) {
    jv l = jv_list(0);
    uint32_t cp;
    for (size_t i = 0; i < s.s->len;) {
        size_t n = u8_decode(s.s->p, s.s->len, i, &cp);
        jl_push(l.l, jv_str(s.s->p + i, n));
        i += n;
    }
    return l.l;
}

int jr_iter(jr *r, jv v, jlist **out) {
    switch (v.kind) {
    case JV_LIST: /* walking the items is work even when none is built */
        jv_work += 8 * v.l->n;
        v.l->rc++;
        *out = v.l;
        return 0;
    case JV_UNDEF: *out = jv_list(0).l; return 0;
    case JV_STR: *out = chars_of(v); return 0;
    case JV_DICT: {
        jv l = jv_list(v.d->n);
        for (size_t i = 0; i < v.d->n; i++) jl_push(l.l, jv_retain(v.d->k[i]));
        *out = l.l;
        return 0;
    }
    case JV_GEN: { /* a generator yields its remaining items once */
        jgen *g = v.g;
        jv l = jv_list(g->items->n - g->pos);
        for (; g->pos < g->items->n; g->pos++) jl_push(l.l, jv_retain(g->items->v[g->pos]));
        *out = l.l;
        return 0;
    }
    default: return jr_fail(r, "TypeError", "'%s' object is not iterable", jv_type_name(v));
    }
}

bool jv_as_int(jv v, int64_t *out) {
    if (v.kind == JV_INT)
        *out = v.i;
    else if (v.kind == JV_BOOL)
        *out = v.b;
    else
        return false;
    return true;
}

int jr_to_str(jr *r, jv v, oc_buf *b) {
    size_t before = b->len;
    jv_to_str(v, b);
    jv_work += b->len - before;
    if (b->len > J_MAX_STR) return jr_fail(r, "MemoryError", "string too long");
    return 0;
}
