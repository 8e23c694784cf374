import ZooCore

/// How a PyTorch tensor becomes a Keras weight. Chosen by the layer that owns it, never guessed
/// from rank.
public enum Transform: Equatable, Sendable {
    case identity
    /// Conv2d (out, in/groups, kh, kw) → Conv2D (kh, kw, in/groups, out): transpose (2, 3, 1, 0).
    case convKernel
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
    /// No Keras counterpart (`num_batches_tracked`).
    case drop

    public var name: String {
        switch self {
        case .identity: return "identity"
        case .convKernel: return "conv_kernel(2,3,1,0)"
        case .denseKernel: return "transpose"
        case .denseKernelAfterFlatten(let c, let h, let w): return "flatten_permute(c=\(c),h=\(h),w=\(w))+transpose"
        case .headsKernel(let h): return "transpose+split_heads(\(h))"
        case .headsBias(let h): return "split_heads(\(h))"
        case .headsOutputKernel(let h): return "transpose+merge_heads(\(h))"
        case .slice(let part, let of, let then): return "slice(\(["q", "k", "v"][min(part, 2)]) of \(of))+" + then.name
        case .drop: return "drop"
        }
    }

    /// The Keras shape this transform produces from a PyTorch shape (nil for `drop`).
    public func kerasShape(_ s: [Int]) -> [Int]? {
        switch self {
        case .identity: return s
        case .convKernel: return [s[2], s[3], s[1], s[0]]
        case .denseKernel, .denseKernelAfterFlatten: return [s[1], s[0]]
        case .headsKernel(let h): return [s[1], h, s[0] / h]
        case .headsBias(let h): return [h, s[0] / h]
        case .headsOutputKernel(let h): return [h, s[1] / h, s[0]]
        case .slice(_, let of, let then): return then.kerasShape([s[0] / of] + s.dropFirst())
        case .drop: return nil
        }
    }

    /// Applies the transform to float32 data in row-major order.
    public func apply(_ x: [Float], shape s: [Int]) -> [Float] {
        switch self {
        case .identity, .headsBias, .drop: return x
        case .convKernel:
            // (O, I, kh, kw) → (kh, kw, I, O): transpose to (I·kh·kw, O), then move the O-long rows
            // from (I, kh·kw) order to (kh·kw, I) order.
            let (o, i, hw) = (s[0], s[1], s[2] * s[3])
            let t = transpose2D(x, rows: o, columns: i * hw)
            return transposeBlocks(t, rows: i, columns: hw, block: o)
        case .denseKernel, .headsKernel, .headsOutputKernel:
            return transpose2D(x, rows: s[0], columns: s[1])
        case .denseKernelAfterFlatten(let c, let h, let w):
            // (out, C·H·W) → (out, H·W·C) by transposing each row's (C, H·W) block, then (H·W·C, out)
            let out = s[0]
            let hwc = transposeBlocks2D(x, count: out, rows: c, columns: h * w)
            return transpose2D(hwc, rows: out, columns: h * w * c)
        case .slice(let part, let of, let then):
            let rows = s[0] / of
            let rowSize = s.dropFirst().reduce(1, *)
            let block = Array(x[(part * rows * rowSize)..<((part + 1) * rows * rowSize)])
            return then.apply(block, shape: [rows] + s.dropFirst())
        }
    }
}

/// The transpose of a row-major rows × columns matrix, in cache-sized tiles.
public func transpose2D(_ x: [Float], rows: Int, columns: Int) -> [Float] {
    let tile = 32
    return [Float](unsafeUninitializedCapacity: x.count) { out, initialized in
        x.withUnsafeBufferPointer { src in
            var r0 = 0
            while r0 < rows {
                let r1 = min(r0 + tile, rows)
                var c0 = 0
                while c0 < columns {
                    let c1 = min(c0 + tile, columns)
                    for r in r0..<r1 {
                        let row = r * columns
                        for c in c0..<c1 { out[c * rows + r] = src[row + c] }
                    }
                    c0 = c1
                }
                r0 = r1
            }
        }
        initialized = x.count
    }
}

/// Reorders a rows × columns grid of contiguous blocks of `block` floats into columns × rows.
func transposeBlocks(_ x: [Float], rows: Int, columns: Int, block: Int) -> [Float] {
    if rows == 1 || columns == 1 { return x }
    return [Float](unsafeUninitializedCapacity: x.count) { out, initialized in
        x.withUnsafeBufferPointer { src in
            for r in 0..<rows {
                for c in 0..<columns {
                    (out.baseAddress! + (c * rows + r) * block).update(from: src.baseAddress! + (r * columns + c) * block, count: block)
                }
            }
        }
        initialized = x.count
    }
}

/// `count` consecutive rows × columns matrices, each transposed in place of order.
func transposeBlocks2D(_ x: [Float], count: Int, rows: Int, columns: Int) -> [Float] {
    let size = rows * columns
    return [Float](unsafeUninitializedCapacity: x.count) { out, initialized in
        x.withUnsafeBufferPointer { src in
            for k in 0..<count {
                let base = k * size
                for r in 0..<rows {
                    for c in 0..<columns { out[base + c * rows + r] = src[base + r * columns + c] }
                }
            }
        }
        initialized = x.count
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

/// One PyTorch state-dict entry and the Keras weight it becomes.
public struct ParameterSpec: Equatable, Sendable {
    public let torchName: String
    public let torchShape: [Int]
    public let torchDType: DType
    /// nil when the entry has no Keras counterpart (`transform == .drop`).
    public let kerasLayer: String?
    public let kerasWeight: String?
    public let kerasShape: [Int]?
    public let transform: Transform
    /// The node that owns it.
    public let node: Int
}

extension Graph {
    /// Every state-dict entry the PyTorch model has, in `state_dict()` order, with its Keras target.
    public var parameters: [ParameterSpec] {
        nodes.flatMap(parameters(of:))
    }

    public func parameters(of node: Node) -> [ParameterSpec] {
        func spec(_ suffix: String, _ shape: [Int], keras: String?, _ t: Transform, dtype: DType = .float32, path: String? = nil) -> ParameterSpec {
            let torchName = (path ?? node.torchPath) + "." + suffix
            return ParameterSpec(torchName: torchName, torchShape: shape, torchDType: dtype,
                                 kerasLayer: keras == nil ? nil : node.kerasName, kerasWeight: keras,
                                 kerasShape: t.kerasShape(shape), transform: t, node: node.id)
        }
        switch node.op {
        case .conv2d(let c):
            var out = [spec("weight", [c.outChannels, c.inChannels / c.groups, c.kernel.0, c.kernel.1], keras: "kernel", .convKernel)]
            if c.bias { out.append(spec("bias", [c.outChannels], keras: "bias", .identity)) }
            return out
        case .batchNorm(let b):
            return [spec("weight", [b.channels], keras: "gamma", .identity),
                    spec("bias", [b.channels], keras: "beta", .identity),
                    spec("running_mean", [b.channels], keras: "moving_mean", .identity),
                    spec("running_var", [b.channels], keras: "moving_variance", .identity),
                    spec("num_batches_tracked", [], keras: nil, .drop, dtype: .int64)]
        case .linear(let l):
            var kernel = Transform.denseKernel
            let source = nodes[node.inputs[0]]
            if case .flatten = source.op {
                let map = nodes[source.inputs[0]].shape
                if map.count == 3 && map[1] * map[2] > 1 {
                    kernel = .denseKernelAfterFlatten(channels: map[0], height: map[1], width: map[2])
                }
            }
            var out = [spec("weight", [l.outFeatures, l.inFeatures], keras: "kernel", kernel)]
            if l.bias { out.append(spec("bias", [l.outFeatures], keras: "bias", .identity)) }
            return out
        case .embedding(let e):
            return [spec("weight", [e.count, e.dimension], keras: "embeddings", .identity)]
        case .layerNorm(let n):
            return [spec("weight", [n.dimension], keras: "gamma", .identity),
                    spec("bias", [n.dimension], keras: "beta", .identity)]
        case .attention(let a):
            let d = a.dimension, h = a.heads
            if let p = a.projections {
                return [spec("weight", [d, d], keras: "query/kernel", .headsKernel(heads: h), path: p.query),
                        spec("bias", [d], keras: "query/bias", .headsBias(heads: h), path: p.query),
                        spec("weight", [d, d], keras: "key/kernel", .headsKernel(heads: h), path: p.key),
                        spec("bias", [d], keras: "key/bias", .headsBias(heads: h), path: p.key),
                        spec("weight", [d, d], keras: "value/kernel", .headsKernel(heads: h), path: p.value),
                        spec("bias", [d], keras: "value/bias", .headsBias(heads: h), path: p.value),
                        spec("weight", [d, d], keras: "attention_output/kernel", .headsOutputKernel(heads: h), path: p.output),
                        spec("bias", [d], keras: "attention_output/bias", .identity, path: p.output)]
            }
            // nn.MultiheadAttention: one packed in_proj, sliced three ways.
            return [spec("in_proj_weight", [3 * d, d], keras: "query/kernel", .slice(part: 0, of: 3, then: .headsKernel(heads: h))),
                    spec("in_proj_weight", [3 * d, d], keras: "key/kernel", .slice(part: 1, of: 3, then: .headsKernel(heads: h))),
                    spec("in_proj_weight", [3 * d, d], keras: "value/kernel", .slice(part: 2, of: 3, then: .headsKernel(heads: h))),
                    spec("in_proj_bias", [3 * d], keras: "query/bias", .slice(part: 0, of: 3, then: .headsBias(heads: h))),
                    spec("in_proj_bias", [3 * d], keras: "key/bias", .slice(part: 1, of: 3, then: .headsBias(heads: h))),
                    spec("in_proj_bias", [3 * d], keras: "value/bias", .slice(part: 2, of: 3, then: .headsBias(heads: h))),
                    spec("weight", [d, d], keras: "attention_output/kernel", .headsOutputKernel(heads: h), path: node.torchPath + ".out_proj"),
                    spec("bias", [d], keras: "attention_output/bias", .identity, path: node.torchPath + ".out_proj")]
        default:
            return []
        }
    }

    /// Distinct PyTorch state-dict entries (a fused in_proj appears once), in order.
    public var torchEntries: [(name: String, shape: [Int], dtype: DType)] {
        var seen = Set<String>()
        return parameters.compactMap { p in
            seen.insert(p.torchName).inserted ? (p.torchName, p.torchShape, p.torchDType) : nil
        }
    }

    public var parameterCount: Int {
        torchEntries.filter { $0.dtype.isFloatingPoint }.reduce(0) { $0 + $1.shape.reduce(1, *) }
    }
}
