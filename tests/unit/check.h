/* Minimal assertion helpers for the unit tests: each CHECK counts, failures
 * print file:line and the values, and check_done() prints
 * "N passed, N failed" and returns the exit code. */
#ifndef OLLAMA_TEST_CHECK_H
#define OLLAMA_TEST_CHECK_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_passed, check_failed;

/* Test data from a seeded xorshift64: the same seed, the same data. */
static inline uint64_t check_xorshift(uint64_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

#define CHECK(cond) do { \
    if (cond) check_passed++; \
    else { check_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_MSG(cond, ...) do { \
    if (cond) check_passed++; \
    else { check_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
           fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
} while (0)

#define CHECK_EQ_INT(a, b) do { \
    long long va_ = (long long)(a), vb_ = (long long)(b); \
    if (va_ == vb_) check_passed++; \
    else { check_failed++; fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, va_, vb_); } \
} while (0)

#define CHECK_EQ_STR(a, b) do { \
    const char *sa_ = (a), *sb_ = (b); \
    if (sa_ && sb_ && strcmp(sa_, sb_) == 0) check_passed++; \
    else { check_failed++; fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)"); } \
} while (0)

#define CHECK_NEAR(a, b, tol) do { \
    double va_ = (double)(a), vb_ = (double)(b); \
    if (fabs(va_ - vb_) <= (tol)) check_passed++; \
    else { check_failed++; fprintf(stderr, "%s:%d: |%s - %s| <= %g failed: %.9g vs %.9g\n", __FILE__, __LINE__, #a, #b, (double)(tol), va_, vb_); } \
} while (0)

/* Path of a file under the shared test data folder, or NULL (test skipped)
 * when that folder is absent. */
static inline const char *check_shared_path(const char *rel, char *buf, size_t n) {
    const char *dir = getenv("OLLAMA_SHARED");
    if (!dir || !*dir) dir = "../shared";
    snprintf(buf, n, "%s/%s", dir, rel);
    FILE *f = fopen(buf, "rb");
    if (!f) return NULL;
    fclose(f);
    return buf;
}

static inline int check_done(void) {
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
