// ZooCompute: the two forward passes that prove a conversion, and the comparison between them.
//
//   let reference = try TorchExecutor(graph: graph, weights: stateDict).run(nchwInputs)
//   let candidate = try KerasExecutor(model: graph.kerasModel(), weights: readBack).run(nhwcInputs)
//   let comparison = compareLayers(reference: reference, candidate: candidate, tolerance: 1e-5)
//   comparison.passed, comparison.firstDivergent?.name, comparison.report
//
// `TorchExecutor` runs a `Graph` with PyTorch semantics in NCHW on state-dict tensors;
// `KerasExecutor` runs a `KerasModel` with Keras 3 semantics in NHWC on Keras-ordered weights.
// Neither borrows the other's weights or inverts the mapping. Both return `ExecutionResult`
// (outputs, every named intermediate, wall time). Kernels (im2col + OpenBLAS sgemm, pooling,
// normalisation, attention) are internal; `DispatchQueue.concurrentPerform` spreads the loops,
// OpenBLAS threads itself, and ZOO_COMPUTE_THREADS caps the former.
//
// Each executor is anchored to its framework by Tests/Fixtures/compute, written by real PyTorch
// and real Keras (scripts/make_compute_fixtures.py); scripts/bench_forward.sh times both against
// PyTorch on the CPU.
