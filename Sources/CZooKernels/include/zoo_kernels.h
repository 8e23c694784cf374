#ifndef ZOO_KERNELS_H
#define ZOO_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/// CRC-32 (IEEE 802.3, as zip uses) of `len` bytes continuing from `crc` (0 to start).
/// Carry-less multiplication folding on x86-64 CPUs that have it (about 10 GB/s a core),
/// zlib's crc32 elsewhere.
uint32_t zoo_crc32(uint32_t crc, const void *buf, size_t len);

/// The CRC-32 of A followed by B, from crc(A), crc(B) and B's length (zlib's crc32_combine).
uint32_t zoo_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

/// Whether zoo_crc32 uses the carry-less multiplication path on this CPU.
int zoo_crc32_is_accelerated(void);

/// One slab of the layout change every kernel transform is made of: the source holds
/// (outer, channels, inner) float32 values row-major; the target is (inner, channels, outer).
/// This fills channels [c0, c1) of every inner position into `dst`, laid out as `inner` runs of
/// (c1 - c0) * outer values: run k belongs at element (k * channels + c0) * outer of the target.
/// A conv kernel (O, I, kh, kw) → (kh, kw, I, O) is outer = O, channels = I, inner = kh*kw; a
/// dense kernel (out, in) → (in, out) is inner = 1.
void zoo_permute_slab(const float *src, size_t outer, size_t channels, size_t inner,
                      size_t c0, size_t c1, float *dst);

/// float32 → IEEE half, round to nearest even (F16C where the CPU has it); overflow gives ±inf.
void zoo_float_to_half(const float *src, uint16_t *dst, size_t count);

/// Binds BLAS (cblas_sgemm, cblas_sgemv) from libblas.so.3 — OpenBLAS through Debian's
/// alternatives — on first use, so processes that never compute (conversion without
/// verification) neither load it nor start its threads. Returns NULL when bound, else a
/// sentence saying what was looked for.
const char *zoo_blas_load(void);

/// Row-major cblas_sgemm / cblas_sgemv (call zoo_blas_load first).
void zoo_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
               const float *b, int ldb, float beta, float *c, int ldc);
void zoo_sgemv(int trans, int m, int n, float alpha, const float *a, int lda, const float *x, float beta, float *y);

// ---- Faults while zoo reads and writes files (signals.c) ----
//
// A file zoo has memory-mapped can shrink under it (another program rewrites the checkpoint):
// touching a page past the new end raises SIGBUS. And a signal (Ctrl-C, SIGTERM, SIGHUP) can end
// a run while a named staging file exists. These hooks make both end cleanly: the handlers are
// async-signal-safe (fixed tables, write(2), unlink(2), _exit(2)).

/// Installs the handlers, once: SIGBUS inside a guarded mapping prints one line naming the file
/// and exits with status 1 after removing every registered staging file (any other SIGBUS is
/// left to the default action); SIGINT, SIGTERM, SIGHUP and SIGQUIT remove the staging files,
/// then end the process by the same signal; SIGXFSZ is ignored, so a file-size limit makes
/// write(2) fail with EFBIG, which zoo reports, instead of killing the process.
void zoo_install_fault_handlers(void);

/// Guards [base, base + length), a mapping of `path` (copied). Returns a slot for
/// zoo_unguard_mapping, or -1 when every slot is taken (the mapping is then unguarded).
int zoo_guard_mapping(const void *base, size_t length, const char *path);
void zoo_unguard_mapping(int slot);

/// Registers a staging file (path copied) to remove if a signal ends the process. Returns a slot
/// for zoo_unregister_staging, or -1 when every slot is taken.
int zoo_register_staging(const char *path);
void zoo_unregister_staging(int slot);

/// open(folder, O_TMPFILE | O_RDWR, 0644): an unnamed file in `folder`, or -1 with errno set
/// (EOPNOTSUPP, EISDIR … where the file system or kernel has none).
int zoo_open_unnamed(const char *folder);

/// renameat2(from, to, RENAME_NOREPLACE): -1 with errno EEXIST when `to` exists; EINVAL or
/// ENOSYS where the file system or kernel cannot do it.
int zoo_rename_noreplace(const char *from, const char *to);

/// Seeded random numbers for random checkpoints: SplitMix64 (state advanced by the golden
/// gamma per draw), uniforms from the top 53 bits. `zoo_fill_normal` writes center + scale·N(0,1)
/// by Box–Muller (one draw pair per value), `zoo_fill_uniform` values in [lo, hi).
void zoo_fill_normal(uint64_t *state, float *out, size_t count, float center, float scale);
void zoo_fill_uniform(uint64_t *state, float *out, size_t count, float lo, float hi);
/// A uniform integer in [0, n) (n > 0), by multiplying the draw's top 32 bits.
uint64_t zoo_random_below(uint64_t *state, uint64_t n);

/// Whether the CPU has AVX2 and FMA (x86-64; checked once): the kernels compiled twice, for it
/// and for any CPU, take the first where it is there.
int zoo_cpu_has_avx2_fma(void);

/// Activations that need exp or erf, vectorised (activations.c): x[i] ← f(x[i]).
enum { ZOO_ACTIVATION_SIGMOID = 1, ZOO_ACTIVATION_SILU = 2, ZOO_ACTIVATION_GELU = 3 };
void zoo_activate(int kind, float *x, size_t n);

/// A depthwise convolution's shape (every group one input channel; out_channels a multiple of
/// in_channels; output channel o reads input channel o / (out_channels / in_channels)).
typedef struct {
    size_t batch, in_channels, in_height, in_width, out_channels, out_height, out_width;
    size_t kernel_height, kernel_width, stride_height, stride_width, dilation_height, dilation_width;
    size_t pad_top, pad_left;
} zoo_depthwise_geometry;

/// Depthwise convolution in PyTorch's layout (x: N·C·H·W, w: O·1·kh·kw, out: N·O·oh·ow, bias
/// NULL or O values) for output planes [p0, p1) (plane p = n·O + o). Returns -1 when its
/// scratch row buffer cannot be allocated (nothing written), else 0.
int zoo_depthwise_nchw(const float *x, const float *w, const float *bias, float *out,
                       const zoo_depthwise_geometry *g, size_t p0, size_t p1);

#endif
