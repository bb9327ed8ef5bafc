/* tensor: the type traits table (one source of truth for block sizes and
 * bytes), kernel selection from CPUID, and half/bfloat16 conversion. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tensor/quants.h"

typedef struct type_info {
    const char *name;
    int blck_size;
    size_t type_size;
    bool is_quantized;
    enum tensor_type vec_dot_type;
} type_info;

static const type_info TYPE_INFO[TENSOR_TYPE_COUNT] = {
    [TENSOR_F32] = {"F32", 1, 4, false, TENSOR_F32},
    [TENSOR_F16] = {"F16", 1, 2, false, TENSOR_F16},
    [TENSOR_BF16] = {"BF16", 1, 2, false, TENSOR_BF16},
    [TENSOR_Q4_0] = {"Q4_0", QK4_0, sizeof(block_q4_0), true, TENSOR_Q8_0},
    [TENSOR_Q4_1] = {"Q4_1", QK4_1, sizeof(block_q4_1), true, TENSOR_Q8_1},
    [TENSOR_Q5_0] = {"Q5_0", QK5_0, sizeof(block_q5_0), true, TENSOR_Q8_0},
    [TENSOR_Q5_1] = {"Q5_1", QK5_1, sizeof(block_q5_1), true, TENSOR_Q8_1},
    [TENSOR_Q8_0] = {"Q8_0", QK8_0, sizeof(block_q8_0), true, TENSOR_Q8_0},
    [TENSOR_Q8_1] = {"Q8_1", QK8_1, sizeof(block_q8_1), true, TENSOR_Q8_1},
    [TENSOR_Q2_K] = {"Q2_K", QK_K, sizeof(block_q2_K), true, TENSOR_Q8_K},
    [TENSOR_Q3_K] = {"Q3_K", QK_K, sizeof(block_q3_K), true, TENSOR_Q8_K},
    [TENSOR_Q4_K] = {"Q4_K", QK_K, sizeof(block_q4_K), true, TENSOR_Q8_K},
    [TENSOR_Q5_K] = {"Q5_K", QK_K, sizeof(block_q5_K), true, TENSOR_Q8_K},
    [TENSOR_Q6_K] = {"Q6_K", QK_K, sizeof(block_q6_K), true, TENSOR_Q8_K},
    [TENSOR_Q8_K] = {"Q8_K", QK_K, sizeof(block_q8_K), true, TENSOR_Q8_K},
    [TENSOR_IQ4_NL] = {"IQ4_NL", QK4_NL, sizeof(block_iq4_nl), true, TENSOR_Q8_0},
    [TENSOR_IQ4_XS] = {"IQ4_XS", QK_K, sizeof(block_iq4_xs), true, TENSOR_Q8_K},
    [TENSOR_I8] = {"I8", 1, 1, false, TENSOR_I8},
    [TENSOR_I16] = {"I16", 1, 2, false, TENSOR_I16},
    [TENSOR_I32] = {"I32", 1, 4, false, TENSOR_I32},
    [TENSOR_I64] = {"I64", 1, 8, false, TENSOR_I64},
    [TENSOR_F64] = {"F64", 1, 8, false, TENSOR_F64},
    [TENSOR_MXFP4] = {"MXFP4", QK_MXFP4, sizeof(block_mxfp4), true, TENSOR_Q8_0},
};

bool tensor_type_valid(uint32_t t) { return t < TENSOR_TYPE_COUNT && TYPE_INFO[t].name != NULL; }

const char *tensor_type_name(enum tensor_type t) {
    return tensor_type_valid((uint32_t)t) ? TYPE_INFO[t].name : "unknown";
}

int tensor_type_from_name(const char *name) {
    for (int t = 0; t < TENSOR_TYPE_COUNT; t++)
        if (TYPE_INFO[t].name && strcasecmp(TYPE_INFO[t].name, name) == 0) return t;
    return -1;
}

size_t tensor_row_size(enum tensor_type t, int64_t n) {
    if (!tensor_type_valid((uint32_t)t) || n < 0) return 0;
    const type_info *ti = &TYPE_INFO[t];
    if (n % ti->blck_size != 0) return 0;
    return (size_t)(n / ti->blck_size) * ti->type_size;
}

/* ---- half / bfloat16 ---- */

float tensor_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do { e++; mant <<= 1; } while ((mant & 0x400) == 0);
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t tensor_f32_to_f16(float f) {
    /* Round to nearest even, as the F16C instruction does. */
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) /* inf or nan */
        return (uint16_t)(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
    if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* overflow to inf */
    if (absx < 0x38800000u) { /* subnormal or zero in half */
        if (absx < 0x33000000u) return (uint16_t)sign;
        uint32_t mant = (absx & 0x7fffff) | 0x800000;
        int shift = 125 - (int)(absx >> 23); /* half = mant >> (126 - exp) */
        uint32_t half = mant >> (shift + 1);
        uint32_t rem = mant & ((1u << (shift + 1)) - 1);
        uint32_t mid = 1u << shift;
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = ((absx >> 13) - ((127 - 15) << 10));
    uint32_t rem = absx & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

float tensor_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t tensor_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 64); /* quiet nan */
    return (uint16_t)((x + (0x7fff + ((x >> 16) & 1))) >> 16);
}

/* ---- kernel selection ---- */

static tensor_kernels KERNELS[TENSOR_ISA_COUNT];
static tensor_traits TRAITS[TENSOR_ISA_COUNT][TENSOR_TYPE_COUNT];
static enum tensor_isa ISA_DETECTED, ISA_ACTIVE;
static pthread_once_t INIT_ONCE = PTHREAD_ONCE_INIT;

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

/* XCR0 says which register states the OS saves; AVX needs XMM|YMM, AVX-512
 * also the opmask and ZMM states. */
static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* Linux hands out the 8 KB tile state only to a process that asks. */
static bool amx_permitted(void) {
#if defined(__linux__)
    enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#else
    return false;
#endif
}

static enum tensor_isa detect_isa(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return TENSOR_ISA_SCALAR;
    bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
    if (!osxsave || !avx) return TENSOR_ISA_SCALAR;
    uint64_t xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6) return TENSOR_ISA_SCALAR;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return TENSOR_ISA_SCALAR;
    bool avx2 = b & (1u << 5), bmi2 = b & (1u << 8);
    if (!(avx2 && fma && f16c && bmi2)) return TENSOR_ISA_SCALAR;
    bool f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
    bool vnni = c & (1u << 11);
    if (!(f && dq && bw && vl && vnni && (xcr0 & 0xe0) == 0xe0)) return TENSOR_ISA_AVX2;
    bool amx_tile = d & (1u << 24), amx_int8 = d & (1u << 25); /* XCR0 bits 17-18: the tile state */
    if (amx_tile && amx_int8 && (xcr0 & 0x60000) == 0x60000 && amx_permitted()) return TENSOR_ISA_AMX;
    return TENSOR_ISA_AVX512;
}
#else
static enum tensor_isa detect_isa(void) { return TENSOR_ISA_SCALAR; }
#endif

static void build_traits(enum tensor_isa isa) {
    for (int t = 0; t < TENSOR_TYPE_COUNT; t++) {
        const type_info *ti = &TYPE_INFO[t];
        if (!ti->name) continue;
        tensor_traits *tr = &TRAITS[isa][t];
        tr->name = ti->name;
        tr->blck_size = ti->blck_size;
        tr->type_size = ti->type_size;
        tr->is_quantized = ti->is_quantized;
        tr->vec_dot_type = ti->vec_dot_type;
        /* Inherit from the highest level at or below isa that has a kernel. */
        for (int lvl = (int)isa; lvl >= 0; lvl--) {
            if (!tr->vec_dot) tr->vec_dot = KERNELS[lvl].vec_dot[t];
            if (!tr->from_float) tr->from_float = KERNELS[lvl].from_float[t];
            if (!tr->to_float) tr->to_float = KERNELS[lvl].to_float[t];
            if (!tr->gemm) tr->gemm = KERNELS[lvl].gemm[t];
            if (!tr->pack && KERNELS[lvl].pack[t]) {
                tr->pack = KERNELS[lvl].pack[t];
                tr->gemm_packed = KERNELS[lvl].gemm_packed[t];
                tr->gemm_packed_pair = KERNELS[lvl].gemm_packed_pair[t];
                tr->packed_block_bytes = KERNELS[lvl].packed_block_bytes[t];
            }
        }
    }
}

static tensor_vec_ops OPS[TENSOR_ISA_COUNT];

/* A level's float ops: its own, else the level below's. */
static void build_ops(enum tensor_isa isa) {
    OPS[isa] = KERNELS[isa].ops;
    if (isa == TENSOR_ISA_SCALAR) return;
    const tensor_vec_ops *below = &OPS[isa - 1];
    tensor_vec_ops *o = &OPS[isa];
    if (!o->softmax) o->softmax = below->softmax;
    if (!o->silu_mul) o->silu_mul = below->silu_mul;
    if (!o->pack_keys) o->pack_keys = below->pack_keys;
    if (!o->attn_scores) o->attn_scores = below->attn_scores;
    if (!o->attn_values) o->attn_values = below->attn_values;
}

static void (*EMULATED_AVX512)(tensor_kernels *, const tensor_kernels *);
static void (*EMULATED_AMX)(tensor_kernels *, const tensor_kernels *);

void tensor_emulate_avx512(void (*install)(tensor_kernels *k, const tensor_kernels *avx2)) {
    EMULATED_AVX512 = install;
}
void tensor_emulate_amx(void (*install)(tensor_kernels *k, const tensor_kernels *avx512)) { EMULATED_AMX = install; }

static void init_once(void) {
    ISA_DETECTED = detect_isa();
    tensor_kernels_scalar(&KERNELS[TENSOR_ISA_SCALAR]);
    /* The ISA files are compiled for their instruction set, install
     * functions included (compilers vectorise even the table stores), so
     * they may only run on a CPU that has it. */
    if (ISA_DETECTED >= TENSOR_ISA_AVX2) tensor_kernels_avx2(&KERNELS[TENSOR_ISA_AVX2]);
    if (ISA_DETECTED >= TENSOR_ISA_AVX512) {
        tensor_kernels_avx512(&KERNELS[TENSOR_ISA_AVX512], &KERNELS[TENSOR_ISA_AVX2]);
    } else if (ISA_DETECTED == TENSOR_ISA_AVX2 && EMULATED_AVX512) {
        EMULATED_AVX512(&KERNELS[TENSOR_ISA_AVX512], &KERNELS[TENSOR_ISA_AVX2]);
        ISA_DETECTED = TENSOR_ISA_AVX512;
    }
    if (ISA_DETECTED >= TENSOR_ISA_AMX) {
        tensor_kernels_amx(&KERNELS[TENSOR_ISA_AMX], &KERNELS[TENSOR_ISA_AVX512]);
    } else if (ISA_DETECTED == TENSOR_ISA_AVX512 && EMULATED_AMX) {
        EMULATED_AMX(&KERNELS[TENSOR_ISA_AMX], &KERNELS[TENSOR_ISA_AVX512]);
        ISA_DETECTED = TENSOR_ISA_AMX;
    }
    ISA_ACTIVE = ISA_DETECTED;
    const char *cap = getenv("OLLAMA_ISA");
    if (cap && strcmp(cap, "scalar") == 0) ISA_ACTIVE = TENSOR_ISA_SCALAR;
    else if (cap && strcmp(cap, "avx2") == 0 && ISA_ACTIVE > TENSOR_ISA_AVX2) ISA_ACTIVE = TENSOR_ISA_AVX2;
    else if (cap && strcmp(cap, "avx512") == 0 && ISA_ACTIVE > TENSOR_ISA_AVX512) ISA_ACTIVE = TENSOR_ISA_AVX512;
    for (int lvl = 0; lvl <= (int)ISA_DETECTED; lvl++) {
        build_traits((enum tensor_isa)lvl);
        build_ops((enum tensor_isa)lvl);
    }
}

void tensor_init(void) { pthread_once(&INIT_ONCE, init_once); }
enum tensor_isa tensor_isa_detected(void) { tensor_init(); return ISA_DETECTED; }
enum tensor_isa tensor_isa_active(void) { tensor_init(); return ISA_ACTIVE; }

const char *tensor_isa_name(enum tensor_isa isa) {
    static const char *names[TENSOR_ISA_COUNT] = {"scalar", "avx2", "avx512", "amx"};
    return (unsigned)isa < TENSOR_ISA_COUNT ? names[isa] : "unknown";
}

const tensor_traits *tensor_get_traits_isa(enum tensor_type t, enum tensor_isa isa) {
    tensor_init();
    if (!tensor_type_valid((uint32_t)t) || isa > ISA_DETECTED) return NULL;
    return &TRAITS[isa][t];
}

const tensor_vec_ops *tensor_get_ops_isa(enum tensor_isa isa) {
    tensor_init();
    return isa <= ISA_DETECTED ? &OPS[isa] : NULL;
}

const tensor_vec_ops *tensor_get_ops(void) { return tensor_get_ops_isa(tensor_isa_active()); }

const tensor_traits *tensor_get_traits(enum tensor_type t) {
    return tensor_get_traits_isa(t, tensor_isa_active());
}
