// Activations, residual adds, normalisation and softmax. Formulas follow the framework that is
// being imitated, operation for operation where it is cheap to do so (GELU, batch norm's
// scale-and-shift form); statistics are accumulated in Double, which lands within an ulp or two
// of either framework's float32 reductions.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum Elementwise {
    /// a *= b, element by element.
    public static func multiply(_ a: inout [Float], _ b: [Float]) {
        a.withUnsafeMutableBufferPointer { dst in
            b.withUnsafeBufferPointer { src in
                let d = dst.baseAddress!, s = src.baseAddress!
                Parallel.ranges(dst.count, work: dst.count) { r in for i in r { d[i] *= s[i] } }
            }
        }
    }

    /// Each plane of `inner` elements times its factor: `factors[p]` for plane p (a gate per
    /// sample and channel), or `factors[p % channels]` when `channels` is given (one per channel).
    public static func scalePlanes(_ x: inout [Float], by factors: [Float], inner: Int, channels: Int? = nil) {
        let planes = x.count / max(1, inner)
        x.withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress!
            factors.withUnsafeBufferPointer { f in
                let fp = f.baseAddress!
                Parallel.forEach(planes, work: buffer.count) { plane in
                    let a = fp[channels.map { plane % $0 } ?? plane]
                    let v = p + plane * inner
                    for i in 0..<inner { v[i] *= a }
                }
            }
        }
    }

    /// a += b, element by element.
    public static func add(_ a: inout [Float], _ b: [Float]) {
        a.withUnsafeMutableBufferPointer { dst in
            b.withUnsafeBufferPointer { src in
                let d = dst.baseAddress!, s = src.baseAddress!
                Parallel.ranges(dst.count, work: dst.count) { r in for i in r { d[i] += s[i] } }
            }
        }
    }

    /// y = x·scale[c] + shift[c] where c is the channel of each element; channels are the
    /// second axis (`inner` elements each, NCHW) or the last (`inner` = 1, NHWC).
    public static func scaleShift(_ x: inout [Float], scale: [Float], shift: [Float], inner: Int) {
        let channels = scale.count
        x.withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress!
            if inner == 1 {
                let rows = buffer.count / channels
                scale.withUnsafeBufferPointer { sb in
                    shift.withUnsafeBufferPointer { hb in
                        let a = sb.baseAddress!, b = hb.baseAddress!
                        Parallel.ranges(rows, work: buffer.count) { r in
                            for row in r {
                                let v = p + row * channels
                                for c in 0..<channels { v[c] = v[c] * a[c] + b[c] }
                            }
                        }
                    }
                }
            } else {
                let planes = buffer.count / inner
                Parallel.forEach(planes, work: buffer.count) { plane in
                    let c = plane % channels, a = scale[c], b = shift[c]
                    let v = p + plane * inner
                    for i in 0..<inner { v[i] = v[i] * a + b }
                }
            }
        }
    }

    /// Batch-norm inference folded into y = x·a + b with a = γ/√(var + ε), b = β − mean·a: the
    /// form both PyTorch's CPU kernel and TensorFlow's `batch_normalization` evaluate.
    public static func batchNormTerms(gamma: [Float]?, beta: [Float]?, mean: [Float], variance: [Float], eps: Double) -> (scale: [Float], shift: [Float]) {
        var scale = [Float](repeating: 0, count: mean.count), shift = scale
        for c in 0..<mean.count {
            let inv = 1 / (variance[c] + Float(eps)).squareRoot()
            scale[c] = inv * (gamma?[c] ?? 1)
            shift[c] = (beta?[c] ?? 0) - mean[c] * scale[c]
        }
        return (scale, shift)
    }

    /// Normalises each row of `width` elements: (x − mean)/√(var + ε)·γ + β (biased variance).
    public static func layerNorm(_ x: inout [Float], width: Int, gamma: [Float]?, beta: [Float]?, eps: Double) {
        let rows = x.count / max(1, width)
        x.withUnsafeMutableBufferPointer { buffer in
            let p = buffer.baseAddress!
            Parallel.ranges(rows, work: buffer.count * 4) { r in
                for row in r {
                    let v = p + row * width
                    var sum = 0.0
                    for i in 0..<width { sum += Double(v[i]) }
                    let mean = sum / Double(width)
                    var squares = 0.0
                    for i in 0..<width { let d = Double(v[i]) - mean; squares += d * d }
                    let inv = 1 / (squares / Double(width) + eps).squareRoot()
                    for i in 0..<width {
                        let normal = Float((Double(v[i]) - mean) * inv)
                        v[i] = normal * (gamma?[i] ?? 1) + (beta?[i] ?? 0)
                    }
                }
            }
        }
    }

    /// Softmax of one row in place (max subtracted, then exp, then divide by the sum).
    @inline(__always)
    public static func softmax(_ v: UnsafeMutablePointer<Float>, count: Int) {
        var m = -Float.infinity
        for i in 0..<count where v[i] > m { m = v[i] }
        var sum: Float = 0
        for i in 0..<count { let e = exp(v[i] - m); v[i] = e; sum += e }
        for i in 0..<count { v[i] /= sum }
    }
}
