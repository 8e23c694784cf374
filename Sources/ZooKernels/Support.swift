// Shared machinery of the kernels: the executors' working value (float32 with a batch-first
// shape), spreading loops over cores, and the one BLAS entry point zoo uses.
import CZooKernels
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ZooCore

/// A float32 array with its full shape (batch first). Executors pass these between layers; the
/// public API speaks `Tensor`.
public struct FloatTensor {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        self.shape = shape
        self.data = data
    }

    /// Storage for `shape` whose contents the caller overwrites completely.
    public init(uninitialized shape: [Int]) {
        let count = shape.reduce(1, *)
        self.shape = shape
        self.data = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    public init(zeros shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// Any floating or integer tensor, widened or converted to float32.
    public init(_ tensor: Tensor) throws {
        shape = tensor.shape
        data = try tensor.floats()
    }

    public var count: Int { data.count }
    public var tensor: Tensor { Tensor(shape: shape, floats: data) }
}

/// Loops spread over the cores with `DispatchQueue.concurrentPerform` when the work is large
/// enough to pay for it; OpenBLAS threads its own calls.
public enum Parallel {
    /// Cores to spread over: all active ones, or ZOO_COMPUTE_THREADS when set (benchmarks match
    /// it to OPENBLAS_NUM_THREADS and torch.set_num_threads).
    public static let cores: Int = {
        let all = ProcessInfoCores.count
        if let text = getenv("ZOO_COMPUTE_THREADS").map({ String(cString: $0) }), let n = Int(text), n > 0 { return min(n, all) }
        return all
    }()

    /// Calls `body(i)` for every `i` in `0..<count`; `work` is the total element count touched,
    /// below which one thread is faster.
    public static func forEach(_ count: Int, work: Int, _ body: (Int) -> Void) {
        if count <= 1 || cores == 1 || work < 1 << 15 {
            for i in 0..<count { body(i) }
        } else {
            DispatchQueue.concurrentPerform(iterations: count, execute: body)
        }
    }

    /// Calls `body` on disjoint ranges that tile `0..<count`, about four per core.
    public static func ranges(_ count: Int, work: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let pieces = (cores == 1 || work < 1 << 15) ? 1 : min(count, cores * 4)
        let size = (count + pieces - 1) / pieces
        forEach(pieces, work: work) { p in
            let start = p * size
            if start < count { body(start..<min(count, start + size)) }
        }
    }
}

/// Row-major single-precision matrix multiply, C = alpha·op(A)·op(B) + beta·C.
public enum BLAS {
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            // BLAS leaves C untouched (times beta) when k is 0; do the same explicitly.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        zoo_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y = alpha·op(A)·x + beta·y for a row-major A [m, n]; op(A) = Aᵀ when `trans`.
    public static func sgemv(trans: Bool = false, m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                      x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>) {
        guard m > 0, n > 0 else { return }
        zoo_sgemv(trans ? 1 : 0, Int32(m), Int32(n), alpha, a, Int32(lda), x, beta, y)
    }
}
