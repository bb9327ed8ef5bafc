/* base: the small things every module needs.
 * Owns: the error type (a message buffer), logging, the monotonic clock,
 * checked allocation and overflow-safe size arithmetic, a growable string
 * builder, whole-file reads and atomic file writes (tmp + fsync + rename). */
#ifndef OLLAMA_BASE_H
#define OLLAMA_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An error is a message; functions that can fail take `oc_error *err`
 * (may be NULL), fill it and return -1 / NULL. */
typedef struct oc_error {
    char msg[512];
} oc_error;

/* Formats the message into err (if not NULL) and returns -1. */
int oc_fail(oc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends "prefix: " to an existing message. */
void oc_error_prefix(oc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logging to stderr; level from OLLAMA_DEBUG (1 = debug). */
enum oc_log_level { OC_LOG_DEBUG, OC_LOG_INFO, OC_LOG_WARN, OC_LOG_ERROR };
void oc_log(enum oc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Monotonic clock in nanoseconds. */
uint64_t oc_now_ns(void);

/* Allocation that aborts on out-of-memory (the only abort we allow: there is
 * no useful recovery and no outside input decides the size unchecked). */
void *oc_malloc(size_t n);
void *oc_calloc(size_t n, size_t size);
void *oc_realloc(void *p, size_t n);
char *oc_strdup(const char *s);
char *oc_strndup(const char *s, size_t n);
/* 64-byte aligned allocation for SIMD buffers; free with oc_aligned_free. */
void *oc_aligned_alloc(size_t n);
void oc_aligned_free(void *p);

/* Overflow-safe arithmetic: return false on overflow. */
static inline bool oc_add_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_add_overflow(a, b, out); }
static inline bool oc_mul_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_mul_overflow(a, b, out); }

/* Growable NUL-terminated byte string. */
typedef struct oc_buf {
    char *data;
    size_t len, cap;
} oc_buf;
void oc_buf_append(oc_buf *b, const void *data, size_t n);
void oc_buf_puts(oc_buf *b, const char *s);
void oc_buf_printf(oc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void oc_buf_clear(oc_buf *b);
void oc_buf_free(oc_buf *b);

/* Reads a whole file; returns NULL on error. *len excludes the added NUL. */
char *oc_read_file(const char *path, size_t *len, oc_error *err);
/* Writes data to path atomically: a temp file beside it, fsync, rename. */
int oc_write_file_atomic(const char *path, const void *data, size_t len, oc_error *err);

/* Number of physical cores (falls back to online CPUs). */
int oc_physical_cores(void);

#endif
