// Activation functions that need exp or erf, written so the compiler vectorises them (AVX2 + FMA
// where the CPU has it, chosen at run time): libm's scalar expf/erff made SiLU and GELU the
// slowest layers of EfficientNet and ConvNeXt. exp is Cephes's expf (range reduction by ln 2,
// degree-6 polynomial: within 2 ulp); erf is the rational approximation Eigen and TensorFlow use
// (generic_fast_erf_float, clamped to ±4 where erf is ±1 in float32).
#include "zoo_kernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#define ZOO_ACTIVATIONS(SUFFIX, ATTRIBUTE)                                                            \
    ATTRIBUTE static inline float exp_##SUFFIX(float x) {                                             \
        x = fminf(fmaxf(x, -87.33654f), 88.37626f);                                                   \
        float n = floorf(x * 1.44269504088896341f + 0.5f);                                            \
        float r = x - n * 0.693359375f;                                                               \
        r = r - n * -2.12194440e-4f;                                                                  \
        float y = 1.9875691500e-4f;                                                                   \
        y = y * r + 1.3981999507e-3f;                                                                 \
        y = y * r + 8.3334519073e-3f;                                                                 \
        y = y * r + 4.1665795894e-2f;                                                                 \
        y = y * r + 1.6666665459e-1f;                                                                 \
        y = y * r + 5.0000001201e-1f;                                                                 \
        y = y * r * r + r + 1.0f;                                                                     \
        int32_t bits = ((int32_t)n + 127) << 23;                                                      \
        float scale;                                                                                  \
        memcpy(&scale, &bits, sizeof scale);                                                          \
        return y * scale;                                                                             \
    }                                                                                                 \
    ATTRIBUTE static inline float erf_##SUFFIX(float a) {                                             \
        float x = fminf(fmaxf(a, -4.0f), 4.0f), x2 = x * x;                                           \
        float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;                                \
        p = x2 * p + -2.10102402082508e-06f;                                                          \
        p = x2 * p + -5.69250639462346e-05f;                                                          \
        p = x2 * p + -7.34990630326855e-04f;                                                          \
        p = x2 * p + -2.95459980854025e-03f;                                                          \
        p = x2 * p + -1.60960333262415e-02f;                                                          \
        p = x * p;                                                                                    \
        float q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;                               \
        q = x2 * q + -1.68282697438203e-03f;                                                          \
        q = x2 * q + -7.37332916720468e-03f;                                                          \
        q = x2 * q + -1.42647390514189e-02f;                                                          \
        return p / q;                                                                                 \
    }                                                                                                 \
    ATTRIBUTE static void activate_##SUFFIX(int kind, float *x, size_t n) {                           \
        switch (kind) {                                                                               \
        case ZOO_ACTIVATION_SIGMOID:                                                                  \
            for (size_t i = 0; i < n; i++) x[i] = 1.0f / (1.0f + exp_##SUFFIX(-x[i]));               \
            break;                                                                                    \
        case ZOO_ACTIVATION_SILU:                                                                     \
            for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + exp_##SUFFIX(-x[i]));               \
            break;                                                                                    \
        case ZOO_ACTIVATION_GELU:                                                                     \
            for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erf_##SUFFIX(x[i] * 0.70710678118654752440f)); \
            break;                                                                                    \
        }                                                                                             \
    }

#if defined(__x86_64__)
ZOO_ACTIVATIONS(avx2, __attribute__((target("avx2,fma"))))
#endif
ZOO_ACTIVATIONS(generic, )

void zoo_activate(int kind, float *x, size_t n) {
#if defined(__x86_64__)
    if (zoo_cpu_has_avx2_fma()) { activate_avx2(kind, x, n); return; }
#endif
    activate_generic(kind, x, n);
}
