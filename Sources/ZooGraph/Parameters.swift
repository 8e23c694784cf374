import ZooCore

/// How a PyTorch tensor becomes a Keras weight. Chosen by the layer that owns it, never guessed
/// from rank.
public enum Transform: Equatable, Sendable {
    case identity
    /// Conv2d (out, in/groups, kh, kw) → Conv2D (kh, kw, in/groups, out): transpose (2, 3, 1, 0).
    case convKernel
    /// A depthwise Conv2d (C·m, 1, kh, kw) → DepthwiseConv2D (kh, kw, C, m): the same element
    /// order as `convKernel` gives, (kh, kw, 1, C·m), under Keras's shape.
    case depthwiseKernel(multiplier: Int)
    /// Linear (out, in) → Dense (in, out).
    case denseKernel
    /// The first Linear after a Flatten of a C×H×W map: its columns are in C,H,W order, Keras's
    /// Flatten of an H×W×C map gives H,W,C order; permute the columns, then transpose.
    case denseKernelAfterFlatten(channels: Int, height: Int, width: Int)
    /// A query/key/value Linear (d, d) → MultiHeadAttention kernel (d, heads, d/heads).
    case headsKernel(heads: Int)
    /// A query/key/value bias (d) → (heads, d/heads).
    case headsBias(heads: Int)
    /// The attention output Linear (d, d) → (heads, d/heads, d).
    case headsOutputKernel(heads: Int)
    /// One of the q/k/v blocks of a fused `in_proj` (3d, …) tensor, then `then`.
    indirect case slice(part: Int, of: Int, then: Transform)
    /// A query/key/value kernel stored (in, out), as GPT-2's `Conv1D` stores it → MultiHeadAttention
    /// kernel (in, heads, out/heads): the same element order.
    case inOutHeadsKernel(heads: Int)
    /// The attention output kernel stored (in, out) → (heads, in/heads, out): the same order.
    case inOutHeadsOutputKernel(heads: Int)
    /// One of the q/k/v blocks of columns of a (rows, 3d) tensor packed along its output (GPT-2's
    /// `c_attn`), then `then`, which keeps the element order (`identity`, `inOutHeadsKernel`).
    indirect case columns(part: Int, of: Int, then: Transform)
    /// No Keras counterpart (`num_batches_tracked`).
    case drop
    /// One of several entries a computed Keras weight is made from (`KerasDerived`); the text
    /// says how, for `zoo map`.
    case derived(String)

    public var name: String {
        switch self {
        case .identity: return "identity"
        case .convKernel: return "conv_kernel(2,3,1,0)"
        case .depthwiseKernel(let m): return "depthwise_kernel(2,3,1,0)" + (m == 1 ? "" : "×\(m)")
        case .denseKernel: return "transpose"
        case .denseKernelAfterFlatten(let c, let h, let w): return "flatten_permute(c=\(c),h=\(h),w=\(w))+transpose"
        case .headsKernel(let h): return "transpose+split_heads(\(h))"
        case .headsBias(let h): return "split_heads(\(h))"
        case .headsOutputKernel(let h): return "transpose+merge_heads(\(h))"
        case .slice(let part, let of, let then): return "slice(\(["q", "k", "v"][min(part, 2)]) of \(of))+" + then.name
        case .inOutHeadsKernel(let h): return "split_heads(\(h))"
        case .inOutHeadsOutputKernel(let h): return "merge_heads(\(h))"
        case .columns(let part, let of, let then): return "columns(\(["q", "k", "v"][min(part, 2)]) of \(of))" + (then == .identity ? "" : "+" + then.name)
        case .drop: return "drop"
        case .derived(let how): return how
        }
    }

    /// The Keras shape this transform produces from a PyTorch shape (nil for `drop`).
    public func kerasShape(_ s: [Int]) -> [Int]? {
        switch self {
        case .identity: return s
        case .convKernel: return [s[2], s[3], s[1], s[0]]
        case .depthwiseKernel(let m): return [s[2], s[3], s[0] / m, m]
        case .denseKernel, .denseKernelAfterFlatten: return [s[1], s[0]]
        case .headsKernel(let h): return [s[1], h, s[0] / h]
        case .headsBias(let h): return [h, s[0] / h]
        case .headsOutputKernel(let h): return [h, s[1] / h, s[0]]
        case .slice(_, let of, let then): return then.kerasShape([s[0] / of] + s.dropFirst())
        case .inOutHeadsKernel(let h): return [s[0], h, s[1] / h]
        case .inOutHeadsOutputKernel(let h): return [h, s[0] / h, s[1]]
        case .columns(_, let of, let then): return then.kerasShape([s[0], s[1] / of])
        case .drop, .derived: return nil
        }
    }

    /// How the transform moves elements: every one is a window of the source (a `slice` of a fused
    /// in_proj) seen as (outer, channels, inner) and laid out as (inner, channels, outer). A conv
    /// kernel (O, I, kh, kw) is (O, I, kh·kw); a dense kernel (out, in) is (out, in, 1); a dense
    /// kernel after a flatten of (C, H, W) is (out, C, H·W), which also moves the flatten order
    /// from channels-first to channels-last; copies are (1, n, 1). nil for `drop`.
    public func plan(shape s: [Int]) -> TransformPlan? {
        let count = s.reduce(1, *)
        switch self {
        case .identity, .headsBias, .inOutHeadsKernel, .inOutHeadsOutputKernel: return TransformPlan(sourceOffset: 0, outer: 1, channels: count, inner: 1)
        case .convKernel, .depthwiseKernel: return TransformPlan(sourceOffset: 0, outer: s[0], channels: s[1], inner: s[2] * s[3])
        case .denseKernel, .headsKernel, .headsOutputKernel: return TransformPlan(sourceOffset: 0, outer: s[0], channels: s[1], inner: 1)
        case .denseKernelAfterFlatten(let c, let h, let w): return TransformPlan(sourceOffset: 0, outer: s[0], channels: c, inner: h * w)
        case .slice(let part, let of, let then):
            let rows = s[0] / of
            guard var plan = then.plan(shape: [rows] + s.dropFirst()) else { return nil }
            plan.sourceOffset += part * rows * s.dropFirst().reduce(1, *)
            return plan
        case .columns(let part, let of, let then):
            guard s.count == 2, of > 0 else { return nil }
            let width = s[1] / of
            guard let inner = then.plan(shape: [s[0], width]), inner.outer == 1, inner.inner == 1, inner.sourceOffset == 0, inner.rowLength == 0 else { return nil }
            return TransformPlan(sourceOffset: part * width, outer: 1, channels: s[0] * width, inner: 1, rowLength: width, rowStride: s[1])
        case .drop, .derived: return nil
        }
    }

    /// Applies the transform to float32 data in row-major order.
    public func apply(_ x: [Float], shape s: [Int]) -> [Float] {
        guard let plan = plan(shape: s) else { return x }
        return [Float](unsafeUninitializedCapacity: plan.count) { out, initialized in
            x.withUnsafeBufferPointer { src in
                plan.fill(from: src.baseAddress!, channels: 0..<plan.channels, into: out.baseAddress!)
            }
            initialized = plan.count
        }
    }
}

/// A transform as a layout change: `count` source elements from `sourceOffset`, viewed as
/// (outer, channels, inner) row-major, written as (inner, channels, outer).
public struct TransformPlan: Equatable, Sendable {
    public var sourceOffset: Int
    public var outer: Int
    public var channels: Int
    public var inner: Int
    /// A block of columns (outer and inner 1): the source holds `channels / rowLength` rows of
    /// `rowLength` elements, `rowStride` apart; 0 for a contiguous window.
    public var rowLength = 0
    public var rowStride = 0

    public init(sourceOffset: Int, outer: Int, channels: Int, inner: Int, rowLength: Int = 0, rowStride: Int = 0) {
        (self.sourceOffset, self.outer, self.channels, self.inner) = (sourceOffset, outer, channels, inner)
        (self.rowLength, self.rowStride) = (rowLength, rowStride)
    }

    public var count: Int { outer * channels * inner }

    /// One past the last source element the plan reads.
    public var sourceEnd: Int {
        guard rowLength > 0, count > 0 else { return sourceOffset + count }
        return sourceOffset + (count / rowLength - 1) * rowStride + rowLength
    }

    /// Fills the target elements of `channels` from the whole source (`source` points at the
    /// tensor's first element, before `sourceOffset`): `inner` runs of `channels.count · outer`
    /// values each, run k belonging at target element `runStart(k, channels)`.
    public func fill(from source: UnsafePointer<Float>, channels range: Range<Int>, into target: UnsafeMutablePointer<Float>) {
        if rowLength > 0 {
            // a block of columns: row by row, in order
            var c = range.lowerBound, t = target
            while c < range.upperBound {
                let (row, column) = c.quotientAndRemainder(dividingBy: rowLength)
                let n = min(rowLength - column, range.upperBound - c)
                t.update(from: source + sourceOffset + row * rowStride + column, count: n)
                (c, t) = (c + n, t + n)
            }
            return
        }
        permuteSlab(source + sourceOffset, outer: outer, channels: channels, inner: inner, channelRange: range, into: target)
    }

    /// Where run k of a slab starting at channel c0 belongs in the target.
    public func runStart(_ k: Int, channelsFrom c0: Int) -> Int { (k * channels + c0) * outer }

    /// Slabs of about `bytes` each (at least 8 channels), covering every channel.
    public func slabs(ofAbout bytes: Int) -> [Range<Int>] {
        let perChannel = max(1, outer * inner * MemoryLayout<Float>.size)
        // whole 8 × 8 blocks in the kernel: a multiple of 8 channels, at least 8
        var width = max(8, min(channels, bytes / perChannel))
        if width < channels { width -= width % 8 }
        width = min(width, channels)
        return stride(from: 0, to: channels, by: width).map { $0..<min($0 + width, channels) }
    }
}

/// Transposes a row-major array of the given shape so that output axis i is input axis order[i].
public func permute(_ x: [Float], shape: [Int], order: [Int]) -> [Float] {
    let rank = shape.count
    var inStrides = [Int](repeating: 1, count: rank)
    for i in stride(from: rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
    let outShape = order.map { shape[$0] }
    let stepOf = order.map { inStrides[$0] }
    var out = [Float](repeating: 0, count: x.count)
    guard !x.isEmpty else { return out }
    var index = [Int](repeating: 0, count: rank)
    var source = 0
    x.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            for i in 0..<dst.count {
                dst[i] = src[source]
                var d = rank - 1
                while d >= 0 {
                    index[d] += 1
                    source += stepOf[d]
                    if index[d] < outShape[d] { break }
                    source -= stepOf[d] * outShape[d]
                    index[d] = 0
                    d -= 1
                }
            }
        }
    }
    return out
}

