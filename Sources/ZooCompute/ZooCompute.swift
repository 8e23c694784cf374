// BLAS kernels and the two executors (NCHW with PyTorch semantics, NHWC with Keras semantics).
