/* gguf internals shared by the reader (gguf_read.c), the writer
 * (gguf_write.c) and the common helpers (gguf.c). Not a public interface. */
#ifndef OLLAMA_GGUF_INTERNAL_H
#define OLLAMA_GGUF_INTERNAL_H

#include "gguf/gguf.h"

/* The format is little-endian; numeric array data is copied to and from the
 * file as raw bytes, so the host must be little-endian too. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "gguf needs a little-endian host");

/* Bytes of one scalar of type t; 0 for STRING, ARRAY and unknown types. */
size_t gguf_type_size(enum gguf_type t);
bool gguf_type_is_int(enum gguf_type t); /* UINT8..INT64 and BOOL */

/* Decodes one little-endian scalar of type t (gguf_type_size(t) bytes). */
void gguf_decode_scalar(enum gguf_type t, const uint8_t *p, gguf_value *out);

/* Size in bytes of a tensor of the given type and shape (unused dims 1);
 * fails naming the field when the type is unknown, a dim is negative,
 * ne[0] is not a whole number of blocks, or the size overflows. */
int gguf_tensor_nbytes(uint32_t type, uint32_t n_dims, const int64_t ne[GGUF_MAX_DIMS],
                       uint64_t *out, oc_error *err);

static inline bool gguf_is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

/* Rounds v up to a multiple of align (a power of two); false on overflow. */
static inline bool gguf_align_up(uint64_t v, uint64_t align, uint64_t *out) {
    if (!oc_add_u64(v, align - 1, out)) return false;
    *out &= ~(align - 1);
    return true;
}

#endif
