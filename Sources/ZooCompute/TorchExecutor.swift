// The forward pass with PyTorch semantics, NCHW, on weights keyed by state-dict name exactly as a
// checkpoint holds them (OIHW convs, (out, in) Linear, BatchNorm running statistics, separate
// q/k/v Linears or nn.MultiheadAttention's packed in_proj). It names its own parameters from the
// module paths and never looks at the Keras side of the mapping.
import ZooCore
import ZooKernels
import ZooGraph

/// Runs a `Graph` the way PyTorch would run the module it describes.
///
/// Inputs are batches keyed by the graph's input names: images [N, C, H, W] (float), token
/// sequences [N, T] (int64, int32 or float holding integers; an attention mask is 1 = attend,
/// 0 = padding). Intermediates are keyed by each node's Keras name.
public struct TorchExecutor: Sendable {
    public let graph: Graph
    private let weights: [String: [Float]]

    /// - Parameters:
    ///   - graph: the network.
    ///   - weights: state-dict tensors by name, any floating dtype (widened to float32). Extra
    ///     entries are ignored; missing ones and other shapes are errors.
    /// - Throws: `ZooError` naming the first missing tensor or shape that differs.
    public init(graph: Graph, weights: [String: Tensor]) throws {
        try self.init(graph: graph) { name, shape in
            guard let tensor = weights[name] else {
                throw ZooError(.mismatch, "\(graph.name): expected a tensor '\(name)' of shape \(shapeText(shape)), found none")
            }
            guard tensor.shape == shape else {
                throw ZooError(.mismatch, "\(graph.name): '\(name)': expected shape \(shapeText(shape)), found \(shapeText(tensor.shape))")
            }
            guard tensor.dtype.isFloatingPoint else {
                throw ZooError(.mismatch, "\(graph.name): '\(name)': expected a floating-point tensor, found \(tensor.dtype.rawValue)")
            }
            return try tensor.floats()
        }
    }

    /// - Parameters:
    ///   - graph: the network.
    ///   - load: the values of one state-dict tensor (row-major float32), given its name and the
    ///     shape the graph expects; called once per tensor, so a caller can read each straight
    ///     from a checkpoint without holding a second copy of the model.
    public init(graph: Graph, load: (String, [Int]) throws -> [Float]) throws {
        try NativeLibraries.requireBLAS()
        self.graph = graph
        var loaded: [String: [Float]] = [:]
        for node in graph.nodes {
            for (name, shape) in TorchExecutor.required(node) where loaded[name] == nil {
                let values = try load(name, shape)
                guard values.count == shape.reduce(1, *) else {
                    throw ZooError(.mismatch, "\(graph.name): '\(name)': expected \(shape.reduce(1, *)) values (shape \(shapeText(shape))), found \(values.count)")
                }
                loaded[name] = values
            }
        }
        self.weights = loaded
    }

    /// State-dict entries a node reads, named as its PyTorch module names them.
    static func required(_ node: Node) -> [(String, [Int])] {
        let p = node.torchPath
        switch node.op {
        case .conv2d(let c):
            let w = (p + ".weight", [c.outChannels, c.inChannels / c.groups, c.kernel.0, c.kernel.1])
            return c.bias ? [w, (p + ".bias", [c.outChannels])] : [w]
        case .batchNorm(let b):
            return ["weight", "bias", "running_mean", "running_var"].map { (p + "." + $0, [b.channels]) }
        case .linear(let l):
            let w = (p + ".weight", [l.outFeatures, l.inFeatures])
            return l.bias ? [w, (p + ".bias", [l.outFeatures])] : [w]
        case .embedding(let e):
            return [(p + ".weight", [e.count, e.dimension])]
        case .layerNorm(let n):
            return [(p + ".weight", [n.dimension]), (p + ".bias", [n.dimension])]
        case .attention(let a):
            let d = a.dimension
            if let q = a.projections {
                return [q.query, q.key, q.value, q.output].flatMap { [($0 + ".weight", [d, d]), ($0 + ".bias", [d])] }
            }
            return [(p + ".in_proj_weight", [3 * d, d]), (p + ".in_proj_bias", [3 * d]),
                    (p + ".out_proj.weight", [d, d]), (p + ".out_proj.bias", [d])]
        default:
            return []
        }
    }

    /// One forward pass.
    /// - Parameters:
    ///   - inputs: batches by input name (see the type's documentation).
    ///   - recordIntermediates: keep every node's output (costs memory; needed by `compareLayers`).
    public func run(_ inputs: [String: Tensor], recordIntermediates: Bool = true) throws -> ExecutionResult {
        let consumers = graph.nodes.map { n in graph.nodes.filter { $0.inputs.contains(n.id) }.flatMap { c in c.inputs.filter { $0 == n.id }.map { _ in c.id } } }
        var store = ValueStore(count: graph.nodes.count, consumers: consumers, keep: Set(graph.outputs))
        var recorded: [(String, FloatTensor)] = []
        var layouts: [Int: ValueLayout] = [:]
        var batch: Int?
        let start = ContinuousClock.now
        for node in graph.nodes {
            switch node.op { // before evaluating: the input may be consumed in place
            case .flatten:
                let map = store[node.inputs[0]].shape
                if map.count == 4 && map[2] * map[3] > 1 { layouts[node.id] = .flattenedChannelsFirst(channels: map[1], height: map[2], width: map[3]) }
            case .activation, .dropout:
                layouts[node.id] = layouts[node.inputs[0]]
            default: break
            }
            let value: FloatTensor
            do {
                value = try evaluate(node, &store, inputs: inputs, batch: &batch)
            } catch let error as ZooError {
                throw error.prefixed("\(graph.name), node '\(node.torchPath.isEmpty ? node.kerasName : node.torchPath)'")
            }
            store.release(node.inputs)
            store.set(node.id, value)
            if recordIntermediates && !node.inputs.isEmpty { recorded.append((node.kerasName, value)) }
        }
        let ms = elapsedMilliseconds(since: start)
        let named = Dictionary(layouts.map { (graph.nodes[$0.key].kerasName, $0.value) }, uniquingKeysWith: { a, _ in a })
        return ExecutionResult(outputs: graph.outputs.map { store[$0].tensor }, intermediates: tensors(draining: &recorded),
                               milliseconds: ms, layouts: named)
    }

    private func w(_ name: String) -> [Float] { weights[name]! }

    private func evaluate(_ node: Node, _ store: inout ValueStore, inputs: [String: Tensor], batch: inout Int?) throws -> FloatTensor {
        let p = node.torchPath
        func source(_ i: Int = 0) -> FloatTensor { store[node.inputs[i]] }
        func owned(_ i: Int = 0) -> FloatTensor { store.take(node.inputs[i]) }
        func map(_ x: FloatTensor) throws -> (n: Int, c: Int, h: Int, w: Int) {
            guard x.shape.count == 4 else { throw ZooError(.mismatch, "expected an [N, C, H, W] input, found \(shapeText(x.shape))") }
            return (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        }
        switch node.op {
        case .input(let spec):
            return try checkedInput(inputs, name: spec.name, perSample: spec.shape, batch: &batch)

        case .conv2d(let c):
            let x = source()
            let (n, ch, h, wd) = try map(x)
            guard ch == c.inChannels else { throw ZooError(.mismatch, "expected \(c.inChannels) input channels, found \(ch)") }
            let oh = (h + 2 * c.padding.0 - c.dilation.0 * (c.kernel.0 - 1) - 1) / c.stride.0 + 1
            let ow = (wd + 2 * c.padding.1 - c.dilation.1 * (c.kernel.1 - 1) - 1) / c.stride.1 + 1
            guard oh > 0, ow > 0 else { throw ZooError(.mismatch, "expected an input large enough for the kernel, found \(h)×\(wd)") }
            let g = ConvGeometry(batch: n, inChannels: ch, inHeight: h, inWidth: wd, outChannels: c.outChannels, outHeight: oh, outWidth: ow,
                                 kernelHeight: c.kernel.0, kernelWidth: c.kernel.1, strideHeight: c.stride.0, strideWidth: c.stride.1,
                                 dilationHeight: c.dilation.0, dilationWidth: c.dilation.1, padTop: c.padding.0, padLeft: c.padding.1,
                                 groups: c.groups)
            var y = FloatTensor(uninitialized: [n, c.outChannels, oh, ow])
            let weight = w(p + ".weight"), bias = c.bias ? w(p + ".bias") : nil
            x.data.withUnsafeBufferPointer { xb in
                weight.withUnsafeBufferPointer { wb in
                    y.data.withUnsafeMutableBufferPointer { yb in
                        if let bias {
                            bias.withUnsafeBufferPointer { Convolution.nchw(xb.baseAddress!, weight: wb.baseAddress!, bias: $0.baseAddress!, g, out: yb.baseAddress!) }
                        } else {
                            Convolution.nchw(xb.baseAddress!, weight: wb.baseAddress!, bias: nil, g, out: yb.baseAddress!)
                        }
                    }
                }
            }
            if let a = c.fusedActivation { Activation(a).apply(&y.data) }
            return y

        case .batchNorm(let b):
            var x = owned()
            let (_, ch, h, wd) = try map(x)
            guard ch == b.channels else { throw ZooError(.mismatch, "expected \(b.channels) channels, found \(ch)") }
            let t = Elementwise.batchNormTerms(gamma: w(p + ".weight"), beta: w(p + ".bias"), mean: w(p + ".running_mean"),
                                               variance: w(p + ".running_var"), eps: b.eps)
            Elementwise.scaleShift(&x.data, scale: t.scale, shift: t.shift, inner: h * wd)
            return x

        case .activation(let kind):
            var x = owned()
            Activation(kind).apply(&x.data)
            return x

        case .maxPool2d(let s), .avgPool2d(let s):
            let x = source()
            let (n, ch, h, wd) = try map(x)
            let oh = (h + 2 * s.padding - s.kernel) / s.stride + 1, ow = (wd + 2 * s.padding - s.kernel) / s.stride + 1
            guard oh > 0, ow > 0 else { throw ZooError(.mismatch, "expected an input of at least \(s.kernel)×\(s.kernel), found \(h)×\(wd)") }
            let g = PoolGeometry(batch: n, channels: ch, inHeight: h, inWidth: wd, outHeight: oh, outWidth: ow,
                                 kernelHeight: s.kernel, kernelWidth: s.kernel, strideHeight: s.stride, strideWidth: s.stride,
                                 padTop: s.padding, padLeft: s.padding, padBottom: s.padding, padRight: s.padding)
            var y = FloatTensor(uninitialized: [n, ch, oh, ow])
            let kind: Pooling.Kind
            if case .maxPool2d = node.op { kind = .max } else { kind = .average(countPadding: true) }
            x.data.withUnsafeBufferPointer { xb in y.data.withUnsafeMutableBufferPointer { Pooling.nchw(xb.baseAddress!, g, kind, out: $0.baseAddress!) } }
            return y

        case .adaptiveAvgPool2d(let oh, let ow):
            let x = source()
            let (n, ch, h, wd) = try map(x)
            var y = FloatTensor(uninitialized: [n, ch, oh, ow])
            x.data.withUnsafeBufferPointer { xb in
                y.data.withUnsafeMutableBufferPointer {
                    Pooling.adaptiveAverageNCHW(xb.baseAddress!, batch: n, channels: ch, height: h, width: wd,
                                                outHeight: oh, outWidth: ow, out: $0.baseAddress!)
                }
            }
            return y

        case .globalAvgPool:
            let x = source()
            let (n, ch, h, wd) = try map(x)
            var y = FloatTensor(uninitialized: [n, ch])
            x.data.withUnsafeBufferPointer { xb in
                y.data.withUnsafeMutableBufferPointer { Pooling.globalAverageNCHW(xb.baseAddress!, batch: n, channels: ch, plane: h * wd, out: $0.baseAddress!) }
            }
            return y

        case .add:
            let b = source(1)
            var a = owned(0)
            guard a.shape == b.shape else { throw ZooError(.mismatch, "expected equal shapes to add, found \(shapeText(a.shape)) and \(shapeText(b.shape))") }
            Elementwise.add(&a.data, b.data)
            return a

        case .flatten:
            var x = owned()
            x.shape = [x.shape[0], x.shape.dropFirst().reduce(1, *)]
            return x

        case .linear(let l):
            let x = source()
            guard x.shape.last == l.inFeatures else { throw ZooError(.mismatch, "expected \(l.inFeatures) input features, found \(shapeText(x.shape))") }
            var y = FloatTensor(shape: Array(x.shape.dropLast()) + [l.outFeatures],
                                data: Dense.linear(x.data, rows: x.count / l.inFeatures, weight: w(p + ".weight"),
                                                   bias: l.bias ? w(p + ".bias") : nil, inFeatures: l.inFeatures, outFeatures: l.outFeatures))
            if let a = l.fusedActivation { Activation(a).apply(&y.data) }
            return y

        case .dropout:
            return owned()

        case .embedding(let e):
            let ids = source()
            return FloatTensor(shape: ids.shape + [e.dimension],
                               data: try Dense.embedding(ids.data, table: w(p + ".weight"), count: e.count, width: e.dimension, layer: p))

        case .layerNorm(let spec):
            var x = owned()
            guard x.shape.last == spec.dimension else { throw ZooError(.mismatch, "expected a last axis of \(spec.dimension), found \(shapeText(x.shape))") }
            Elementwise.layerNorm(&x.data, width: spec.dimension, gamma: w(p + ".weight"), beta: w(p + ".bias"), eps: spec.eps)
            return x

        case .attention(let a):
            let x = source()
            guard x.shape.count == 3, x.shape[2] == a.dimension else {
                throw ZooError(.mismatch, "expected hidden states [N, T, \(a.dimension)], found \(shapeText(x.shape))")
            }
            let (n, t, d) = (x.shape[0], x.shape[1], a.dimension)
            var keep: [Bool]?
            if node.inputs.count > 1 {
                let mask = source(1)
                guard mask.shape == [n, t] else { throw ZooError(.mismatch, "expected an attention mask [\(n), \(t)], found \(shapeText(mask.shape))") }
                keep = mask.data.map { $0 != 0 }
            }
            let rows = n * t
            let q, k, v: [Float]
            let outWeight, outBias: [Float]
            if let names = a.projections {
                q = Dense.linear(x.data, rows: rows, weight: w(names.query + ".weight"), bias: w(names.query + ".bias"), inFeatures: d, outFeatures: d)
                k = Dense.linear(x.data, rows: rows, weight: w(names.key + ".weight"), bias: w(names.key + ".bias"), inFeatures: d, outFeatures: d)
                v = Dense.linear(x.data, rows: rows, weight: w(names.value + ".weight"), bias: w(names.value + ".bias"), inFeatures: d, outFeatures: d)
                (outWeight, outBias) = (w(names.output + ".weight"), w(names.output + ".bias"))
            } else {
                // nn.MultiheadAttention: in_proj rows are q, then k, then v
                let packed = w(p + ".in_proj_weight"), packedBias = w(p + ".in_proj_bias")
                func part(_ i: Int) -> [Float] {
                    Dense.linear(x.data, rows: rows, weight: Array(packed[(i * d * d)..<((i + 1) * d * d)]),
                                 bias: Array(packedBias[(i * d)..<((i + 1) * d)]), inFeatures: d, outFeatures: d)
                }
                (q, k, v) = (part(0), part(1), part(2))
                (outWeight, outBias) = (w(p + ".out_proj.weight"), w(p + ".out_proj.bias"))
            }
            let context = Attention.scaledDotProduct(q: q, k: k, v: v, batch: n, steps: t, heads: a.heads, keyDim: a.headDimension,
                                                     valueDim: a.headDimension, keep: keep, maskedScore: -Float.greatestFiniteMagnitude)
            return FloatTensor(shape: [n, t, d], data: Dense.linear(context, rows: rows, weight: outWeight, bias: outBias, inFeatures: d, outFeatures: d))

        case .firstToken:
            let x = source()
            guard x.shape.count == 3, x.shape[1] > 0 else { throw ZooError(.mismatch, "expected hidden states [N, T, D] with T ≥ 1, found \(shapeText(x.shape))") }
            let (n, t, d) = (x.shape[0], x.shape[1], x.shape[2])
            var y = [Float](repeating: 0, count: n * d)
            for i in 0..<n { for j in 0..<d { y[i * d + j] = x.data[i * t * d + j] } }
            return FloatTensor(shape: [n, d], data: y)
        }
    }
}

extension Activation {
    init(_ kind: ActivationKind) {
        switch kind {
        case .relu: self = .relu
        case .gelu: self = .gelu
        case .geluTanh: self = .geluTanh
        case .tanh: self = .tanh
        }
    }
}
