/* gguf: the facts shared by reader and writer — value type names and sizes,
 * little-endian scalar decoding, tensor byte sizes — and the conversions
 * behind the typed getters and array accessors. */
#include "gguf/gguf_internal.h"

#include <stdlib.h>
#include <string.h>

#include "tensor/tensor.h"

static const struct {
    const char *name;
    size_t size;
} TYPES[GGUF_TYPE_COUNT] = {
    [GGUF_TYPE_UINT8] = {"uint8", 1},     [GGUF_TYPE_INT8] = {"int8", 1},
    [GGUF_TYPE_UINT16] = {"uint16", 2},   [GGUF_TYPE_INT16] = {"int16", 2},
    [GGUF_TYPE_UINT32] = {"uint32", 4},   [GGUF_TYPE_INT32] = {"int32", 4},
    [GGUF_TYPE_FLOAT32] = {"float32", 4}, [GGUF_TYPE_BOOL] = {"bool", 1},
    [GGUF_TYPE_STRING] = {"string", 0},   [GGUF_TYPE_ARRAY] = {"array", 0},
    [GGUF_TYPE_UINT64] = {"uint64", 8},   [GGUF_TYPE_INT64] = {"int64", 8},
    [GGUF_TYPE_FLOAT64] = {"float64", 8},
};

const char *gguf_type_name(enum gguf_type t) {
    return (unsigned)t < GGUF_TYPE_COUNT ? TYPES[t].name : "unknown";
}

size_t gguf_type_size(enum gguf_type t) { return (unsigned)t < GGUF_TYPE_COUNT ? TYPES[t].size : 0; }

bool gguf_type_is_int(enum gguf_type t) {
    return (unsigned)t < GGUF_TYPE_COUNT && t != GGUF_TYPE_FLOAT32 && t != GGUF_TYPE_FLOAT64 &&
           t != GGUF_TYPE_STRING && t != GGUF_TYPE_ARRAY;
}

void gguf_decode_scalar(enum gguf_type t, const uint8_t *p, gguf_value *out) {
    size_t n = gguf_type_size(t);
    uint64_t u = 0;
    for (size_t i = 0; i < n; i++) u |= (uint64_t)p[i] << (8 * i);
    memset(out, 0, sizeof *out);
    out->type = t;
    switch (t) {
    case GGUF_TYPE_INT8: out->i64 = (int8_t)u; break;
    case GGUF_TYPE_INT16: out->i64 = (int16_t)u; break;
    case GGUF_TYPE_INT32: out->i64 = (int32_t)u; break;
    case GGUF_TYPE_INT64: out->i64 = (int64_t)u; break;
    case GGUF_TYPE_FLOAT32: {
        uint32_t bits = (uint32_t)u;
        float f;
        memcpy(&f, &bits, sizeof f);
        out->f64 = f;
        break;
    }
    case GGUF_TYPE_FLOAT64: memcpy(&out->f64, &u, sizeof u); break;
    default: out->u64 = u; break;
    }
}

/* ne[0] beyond this cannot be a real row, and keeping it this small makes
 * tensor_row_size's arithmetic safe from overflow. */
#define MAX_ROW_ELEMS ((int64_t)1 << 48)

int gguf_tensor_nbytes(uint32_t type, uint32_t n_dims, const int64_t ne[GGUF_MAX_DIMS],
                       uint64_t *out, oc_error *err) {
    if (!tensor_type_valid(type)) return oc_fail(err, "unknown tensor type %u", type);
    if (n_dims > GGUF_MAX_DIMS) return oc_fail(err, "n_dims %u exceeds %d", n_dims, GGUF_MAX_DIMS);
    uint64_t nel = 1;
    for (int j = 0; j < GGUF_MAX_DIMS; j++) {
        if (ne[j] < 0) return oc_fail(err, "ne[%d] = %lld is negative", j, (long long)ne[j]);
        if (!oc_mul_u64(nel, (uint64_t)ne[j], &nel) || nel > INT64_MAX)
            return oc_fail(err, "element count overflows (ne[%d] = %lld)", j, (long long)ne[j]);
    }
    if (ne[0] > MAX_ROW_ELEMS) return oc_fail(err, "ne[0] = %lld is too large", (long long)ne[0]);
    uint64_t bytes = tensor_row_size((enum tensor_type)type, ne[0]);
    if (bytes == 0 && ne[0] != 0)
        return oc_fail(err, "ne[0] = %lld is not a multiple of the %s block size", (long long)ne[0],
                       tensor_type_name((enum tensor_type)type));
    for (int j = 1; j < GGUF_MAX_DIMS; j++)
        if (!oc_mul_u64(bytes, (uint64_t)ne[j], &bytes))
            return oc_fail(err, "byte size overflows (ne[%d] = %lld)", j, (long long)ne[j]);
    *out = bytes;
    return 0;
}

/* ---- conversions ---- */

static bool value_to_int(const gguf_value *v, int64_t *out) {
    if (!v || !gguf_type_is_int(v->type)) return false;
    switch (v->type) {
    case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
        *out = v->i64;
        return true;
    default:
        /* A uint64 that does not fit is not convertible, not silently negative. */
        if (v->u64 > INT64_MAX) return false;
        *out = (int64_t)v->u64;
        return true;
    }
}

static bool value_to_float(const gguf_value *v, double *out) {
    if (!v) return false;
    if (v->type == GGUF_TYPE_FLOAT32 || v->type == GGUF_TYPE_FLOAT64) {
        *out = v->f64;
        return true;
    }
    if (!gguf_type_is_int(v->type)) return false;
    bool is_signed = v->type == GGUF_TYPE_INT8 || v->type == GGUF_TYPE_INT16 ||
                     v->type == GGUF_TYPE_INT32 || v->type == GGUF_TYPE_INT64;
    *out = is_signed ? (double)v->i64 : (double)v->u64;
    return true;
}

int64_t gguf_get_int(const gguf_file *f, const char *key, int64_t def) {
    int64_t v;
    return value_to_int(gguf_get(f, key), &v) ? v : def;
}

double gguf_get_float(const gguf_file *f, const char *key, double def) {
    double v;
    return value_to_float(gguf_get(f, key), &v) ? v : def;
}

bool gguf_get_bool(const gguf_file *f, const char *key, bool def) {
    int64_t v;
    return value_to_int(gguf_get(f, key), &v) ? v != 0 : def;
}

char *gguf_get_string(const gguf_file *f, const char *key) {
    const gguf_value *v = gguf_get(f, key);
    if (!v || v->type != GGUF_TYPE_STRING) return NULL;
    return oc_strndup(v->str.data ? v->str.data : "", (size_t)v->str.len);
}

/* Element i of a numeric array, decoded; false if there is none. */
static bool arr_elem(const gguf_value *v, uint64_t i, gguf_value *out) {
    if (!v || v->type != GGUF_TYPE_ARRAY || i >= v->arr.n || !v->arr.data) return false;
    size_t size = gguf_type_size(v->arr.type);
    if (size == 0) return false;
    gguf_decode_scalar(v->arr.type, (const uint8_t *)v->arr.data + i * size, out);
    return true;
}

double gguf_arr_get_float(const gguf_value *v, uint64_t i) {
    gguf_value e;
    double d;
    return arr_elem(v, i, &e) && value_to_float(&e, &d) ? d : 0.0;
}

int64_t gguf_arr_get_int(const gguf_value *v, uint64_t i) {
    gguf_value e;
    int64_t d;
    return arr_elem(v, i, &e) && value_to_int(&e, &d) ? d : 0;
}
