#include "zoo_kernels.h"
#include <dlfcn.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#if defined(__x86_64__)
#include <immintrin.h>

/* Folding constants for the bit-reflected CRC-32 polynomial 0xEDB88320 (Gopal et al., "Fast CRC
   computation for generic polynomials using PCLMULQDQ", Intel 2009; the same constants zlib's
   and Chromium's x86 CRC paths use). */
static const uint64_t k1k2[2] __attribute__((aligned(16))) = {0x0154442bd4ULL, 0x01c6e41596ULL};
static const uint64_t k3k4[2] __attribute__((aligned(16))) = {0x01751997d0ULL, 0x00ccaa009eULL};
static const uint64_t k5k0[2] __attribute__((aligned(16))) = {0x0163cd6124ULL, 0x0000000000ULL};
static const uint64_t poly[2] __attribute__((aligned(16))) = {0x01db710641ULL, 0x01f7011641ULL};

/* len >= 64 and a multiple of 16; crc is the running value before inversion (i.e. ~crc). */
__attribute__((target("pclmul,sse4.1")))
static uint32_t crc32_fold(const unsigned char *buf, size_t len, uint32_t crc) {
    __m128i x0, x1, x2, x3, x4, x5, x6, x7, x8, y5, y6, y7, y8;
    x1 = _mm_loadu_si128((const __m128i *)(buf + 0x00));
    x2 = _mm_loadu_si128((const __m128i *)(buf + 0x10));
    x3 = _mm_loadu_si128((const __m128i *)(buf + 0x20));
    x4 = _mm_loadu_si128((const __m128i *)(buf + 0x30));
    x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)crc));
    x0 = _mm_load_si128((const __m128i *)k1k2);
    buf += 64;
    len -= 64;
    while (len >= 64) {
        x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
        x6 = _mm_clmulepi64_si128(x2, x0, 0x00);
        x7 = _mm_clmulepi64_si128(x3, x0, 0x00);
        x8 = _mm_clmulepi64_si128(x4, x0, 0x00);
        x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
        x2 = _mm_clmulepi64_si128(x2, x0, 0x11);
        x3 = _mm_clmulepi64_si128(x3, x0, 0x11);
        x4 = _mm_clmulepi64_si128(x4, x0, 0x11);
        y5 = _mm_loadu_si128((const __m128i *)(buf + 0x00));
        y6 = _mm_loadu_si128((const __m128i *)(buf + 0x10));
        y7 = _mm_loadu_si128((const __m128i *)(buf + 0x20));
        y8 = _mm_loadu_si128((const __m128i *)(buf + 0x30));
        x1 = _mm_xor_si128(_mm_xor_si128(x1, x5), y5);
        x2 = _mm_xor_si128(_mm_xor_si128(x2, x6), y6);
        x3 = _mm_xor_si128(_mm_xor_si128(x3, x7), y7);
        x4 = _mm_xor_si128(_mm_xor_si128(x4, x8), y8);
        buf += 64;
        len -= 64;
    }
    x0 = _mm_load_si128((const __m128i *)k3k4);
    x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
    x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x2), x5);
    x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
    x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x3), x5);
    x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
    x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x4), x5);
    while (len >= 16) {
        x2 = _mm_loadu_si128((const __m128i *)buf);
        x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
        x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, x2), x5);
        buf += 16;
        len -= 16;
    }
    /* 128 → 64 bits */
    x2 = _mm_clmulepi64_si128(x1, x0, 0x10);
    x3 = _mm_setr_epi32(~0, 0, ~0, 0);
    x1 = _mm_srli_si128(x1, 8);
    x1 = _mm_xor_si128(x1, x2);
    x0 = _mm_loadl_epi64((const __m128i *)k5k0);
    x2 = _mm_srli_si128(x1, 4);
    x1 = _mm_and_si128(x1, x3);
    x1 = _mm_clmulepi64_si128(x1, x0, 0x00);
    x1 = _mm_xor_si128(x1, x2);
    /* Barrett reduction to 32 bits */
    x0 = _mm_load_si128((const __m128i *)poly);
    x2 = _mm_and_si128(x1, x3);
    x2 = _mm_clmulepi64_si128(x2, x0, 0x10);
    x2 = _mm_and_si128(x2, x3);
    x2 = _mm_clmulepi64_si128(x2, x0, 0x00);
    x1 = _mm_xor_si128(x1, x2);
    return (uint32_t)_mm_extract_epi32(x1, 1);
}

static int accelerated = -1;

int zoo_crc32_is_accelerated(void) {
    if (accelerated < 0) {
        __builtin_cpu_init();
        accelerated = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    }
    return accelerated;
}
#else
int zoo_crc32_is_accelerated(void) { return 0; }
#endif

uint32_t zoo_crc32(uint32_t crc, const void *buf, size_t len) {
    const unsigned char *p = (const unsigned char *)buf;
#if defined(__x86_64__)
    if (len >= 64 && zoo_crc32_is_accelerated()) {
        size_t chunk = len & ~(size_t)15;
        crc = ~crc32_fold(p, chunk, ~crc);
        p += chunk;
        len -= chunk;
    }
#endif
    /* zlib takes at most UINT_MAX bytes a call */
    while (len > 0) {
        unsigned n = len > 0x40000000u ? 0x40000000u : (unsigned)len;
        crc = (uint32_t)crc32(crc, p, n);
        p += n;
        len -= n;
    }
    return crc;
}

uint32_t zoo_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
    return (uint32_t)crc32_combine(crc_a, crc_b, (z_off_t)len_b);
}

/* The slab permutation runs in two steps per tile of TILE source rows (outer indices): gather
   each row's channels of the slab into a buffer in (inner, channel) order — the source read in
   runs of cw·inner values, the next tile's runs prefetched — then transpose the buffer into the
   target in 8 × 8 blocks. TILE = 128 gives every target row 512 consecutive bytes per visit:
   with 16 (one cache line) the target's write misses cost 2× the time (VGG-16's first dense
   kernel, 411 MB: 0.46 s → 0.23 s on one core). */
enum { TILE = 128, JMAX = 384 };

#if defined(__x86_64__)
__attribute__((target("avx")))
static void transpose8x8(const float *in, size_t in_stride, float *out, size_t out_stride) {
    __m256 r0 = _mm256_loadu_ps(in + 0 * in_stride), r1 = _mm256_loadu_ps(in + 1 * in_stride);
    __m256 r2 = _mm256_loadu_ps(in + 2 * in_stride), r3 = _mm256_loadu_ps(in + 3 * in_stride);
    __m256 r4 = _mm256_loadu_ps(in + 4 * in_stride), r5 = _mm256_loadu_ps(in + 5 * in_stride);
    __m256 r6 = _mm256_loadu_ps(in + 6 * in_stride), r7 = _mm256_loadu_ps(in + 7 * in_stride);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    _mm256_storeu_ps(out + 0 * out_stride, _mm256_permute2f128_ps(s0, s4, 0x20));
    _mm256_storeu_ps(out + 1 * out_stride, _mm256_permute2f128_ps(s1, s5, 0x20));
    _mm256_storeu_ps(out + 2 * out_stride, _mm256_permute2f128_ps(s2, s6, 0x20));
    _mm256_storeu_ps(out + 3 * out_stride, _mm256_permute2f128_ps(s3, s7, 0x20));
    _mm256_storeu_ps(out + 4 * out_stride, _mm256_permute2f128_ps(s0, s4, 0x31));
    _mm256_storeu_ps(out + 5 * out_stride, _mm256_permute2f128_ps(s1, s5, 0x31));
    _mm256_storeu_ps(out + 6 * out_stride, _mm256_permute2f128_ps(s2, s6, 0x31));
    _mm256_storeu_ps(out + 7 * out_stride, _mm256_permute2f128_ps(s3, s7, 0x31));
}

static int have_avx = -1;
static int avx_available(void) {
    if (have_avx < 0) {
        __builtin_cpu_init();
        have_avx = __builtin_cpu_supports("avx");
    }
    return have_avx;
}
#endif

static int have_avx2_fma = -1;
int zoo_cpu_has_avx2_fma(void) {
#if defined(__x86_64__)
    if (have_avx2_fma < 0) {
        __builtin_cpu_init();
        have_avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return have_avx2_fma;
#else
    return 0;
#endif
}

/* out[a * out_stride + b] = in[b * in_stride + a] for a < n, b < m */
static void transpose_small(const float *in, size_t in_stride, float *out, size_t out_stride, size_t n, size_t m) {
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < m; b++) out[a * out_stride + b] = in[b * in_stride + a];
}

void zoo_permute_slab(const float *src, size_t outer, size_t channels, size_t inner,
                      size_t c0, size_t c1, float *dst) {
    const size_t width = c1 - c0;           /* channels in this slab */
    const size_t run = width * outer;       /* one inner position's run in dst */
    if (outer == 1) {                       /* (1, C, inner) → (inner, C): a plain transpose */
        for (size_t c = c0; c < c1; c++)
            for (size_t k = 0; k < inner; k++) dst[k * run + (c - c0)] = src[c * inner + k];
        return;
    }
#if defined(__x86_64__)
    const int avx = avx_available();
#else
    const int avx = 0;
#endif
    /* channels per step, so a tile's gathered rows (cw * inner values each) stay in L1 */
    /* channels per step: a multiple of 8 (the block size) where it fits, so a tile's gathered
       rows (cw * inner values each) stay in L1 */
    size_t cw_max = inner >= JMAX ? 1 : JMAX / inner;
    if (cw_max > 8) cw_max -= cw_max % 8;
    else if (inner <= 2 * JMAX / 8) cw_max = 8;
    const size_t j_cap = cw_max * inner;
    /* one gather buffer per thread, kept between calls: a fresh 200 KB malloc is an mmap, and
       its page faults cost more than the permutation of a small kernel */
    static __thread float *kept = NULL;
    static __thread size_t kept_count = 0;
    if (kept_count < TILE * j_cap) {
        free(kept);
        kept = (float *)malloc(sizeof(float) * TILE * j_cap);
        kept_count = kept ? TILE * j_cap : 0;
    }
    float *tile = kept;
    if (!tile) { /* no memory for a large inner: element by element */
        for (size_t o = 0; o < outer; o++)
            for (size_t c = c0; c < c1; c++)
                for (size_t k = 0; k < inner; k++) dst[(k * width + (c - c0)) * outer + o] = src[(o * channels + c) * inner + k];
        return;
    }
    for (size_t cs = c0; cs < c1; cs += cw_max) {
        const size_t cw = cs + cw_max < c1 ? cw_max : c1 - cs;
        const size_t J = cw * inner;
        for (size_t o0 = 0; o0 < outer; o0 += TILE) {
            const size_t ot = o0 + TILE < outer ? TILE : outer - o0;
            /* gather: tile[r][k * cw + c'] = src[o0 + r][cs + c'][k] */
            for (size_t r = 0; r < ot; r++) {
                const float *s = src + ((o0 + r) * channels + cs) * inner;
                float *t = tile + r * J;
                if (o0 + TILE + r < outer) {
                    const char *next = (const char *)(s + TILE * channels * inner);
                    for (size_t b = 0; b < J * sizeof(float); b += 64) __builtin_prefetch(next + b);
                }
                if (inner == 1) {
                    memcpy(t, s, sizeof(float) * cw);
                } else {
                    for (size_t c = 0; c < cw; c++)
                        for (size_t k = 0; k < inner; k++) t[k * cw + c] = s[c * inner + k];
                }
            }
            /* scatter: target row (k * width + cs - c0 + c') gets tile column (k * cw + c'), rows o0 … */
            for (size_t k = 0; k < inner; k++) {
                for (size_t c = 0; c < cw; c += 8) {
                    const size_t n = c + 8 <= cw ? 8 : cw - c;
                    const float *t = tile + k * cw + c;
                    float *d = dst + (k * width + (cs - c0) + c) * outer + o0;
                    for (size_t r = 0; r < ot; r += 8) {
                        const size_t m = r + 8 <= ot ? 8 : ot - r;
#if defined(__x86_64__)
                        if (avx && n == 8 && m == 8) { transpose8x8(t + r * J, J, d + r, outer); continue; }
#endif
                        transpose_small(t + r * J, J, d + r, outer, n, m);
                    }
                }
            }
        }
    }
}

static uint16_t half_of(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, abs = x & 0x7fffffffu;
    if (abs >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0)); /* inf, nan */
    if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);                                      /* rounds past 65504 */
    if (abs < 0x38800000u) {                                                                          /* subnormal or zero */
        if (abs < 0x33000000u) return (uint16_t)sign;
        uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
        int shift = 113 - (int)(abs >> 23) + 13;
        uint32_t half = mant >> shift, rest = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rest > mid || (rest == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = ((abs - 0x38000000u) >> 13), rest = abs & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

#if defined(__x86_64__)
__attribute__((target("avx,f16c")))
static void half_f16c(const float *src, uint16_t *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = half_of(src[i]);
}
#endif

void zoo_float_to_half(const float *src, uint16_t *dst, size_t count) {
#if defined(__x86_64__)
    static int f16c = -1;
    if (f16c < 0) { __builtin_cpu_init(); f16c = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx"); }
    if (f16c) { half_f16c(src, dst, count); return; }
#endif
    for (size_t i = 0; i < count; i++) dst[i] = half_of(src[i]);
}

/* BLAS, bound at first use. CBLAS constants: row-major 101, no transpose 111, transpose 112. */
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*sgemv_fn)(int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
static sgemm_fn blas_sgemm;
static sgemv_fn blas_sgemv;
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_bind(void) {
    static const char *const names[] = {"libblas.so.3", "libblas.so", "libopenblas.so.0", "libcblas.so.3", "libblas.dylib"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!handle) continue;
        sgemm_fn gemm = (sgemm_fn)dlsym(handle, "cblas_sgemm");
        sgemv_fn gemv = (sgemv_fn)dlsym(handle, "cblas_sgemv");
        if (gemm && gemv) { blas_sgemm = gemm; blas_sgemv = gemv; return; }
        dlclose(handle);
    }
}

const char *zoo_blas_load(void) {
    pthread_once(&blas_once, blas_bind);
    return blas_sgemm ? NULL : "expected a BLAS library with cblas_sgemm (libblas.so.3, from libblas-dev or OpenBLAS; scripts/bootstrap.sh installs it), found none";
}

/* The executors call zoo_blas_load (and report a missing library) before computing; kernels used
   directly bind here, and a missing library then ends the process with the same sentence. */
static void blas_require(void) {
    const char *problem = zoo_blas_load();
    if (problem) { fprintf(stderr, "zoo: error: %s\n", problem); exit(1); }
}

void zoo_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
               const float *b, int ldb, float beta, float *c, int ldc) {
    if (!blas_sgemm) blas_require();
    blas_sgemm(101, trans_a ? 112 : 111, trans_b ? 112 : 111, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void zoo_sgemv(int trans, int m, int n, float alpha, const float *a, int lda, const float *x, float beta, float *y) {
    if (!blas_sgemv) blas_require();
    blas_sgemv(101, trans ? 112 : 111, m, n, alpha, a, lda, x, 1, beta, y, 1);
}
