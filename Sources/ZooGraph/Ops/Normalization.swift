// nn.BatchNorm2d (inference: running statistics) and nn.LayerNorm over the last axis.
// Keras: BatchNormalization(axis=-1) and LayerNormalization(axis=-1), with PyTorch's epsilon
// carried over (Keras defaults to 1e-3) and momentum_keras = 1 − momentum_torch.
import ZooCore
import ZooKernels

public struct BatchNormOp: GraphOp, Equatable {
    public var channels: Int
    public var eps: Double
    /// PyTorch's momentum; Keras's is 1 − this.
    public var momentum: Double

    public var opName: String { "batch_norm" }

    public func parameters(of node: Node, in graph: Graph) -> [ParameterSpec] {
        [node.parameter("weight", [channels], keras: "gamma", .identity, role: .scale),
         node.parameter("bias", [channels], keras: "beta", .identity, role: .shift),
         node.parameter("running_mean", [channels], keras: "moving_mean", .identity, role: .runningMean),
         node.parameter("running_var", [channels], keras: "moving_variance", .identity, role: .runningVariance),
         node.parameter("num_batches_tracked", [], keras: nil, .drop, role: .counter, dtype: .int64)]
    }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        var x = inputs.take(0)
        let (_, ch, h, wd) = try x.map()
        guard ch == channels else { throw ZooError(.mismatch, "expected \(channels) channels, found \(ch)") }
        let p = node.torchPath
        let t = Elementwise.batchNormTerms(gamma: weights[p + ".weight"], beta: weights[p + ".bias"], mean: weights[p + ".running_mean"],
                                           variance: weights[p + ".running_var"], eps: eps)
        Elementwise.scaleShift(&x.data, scale: t.scale, shift: t.shift, inner: h * wd)
        return x
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "BatchNormalization", config: [
            ("axis", .int(-1)), ("momentum", .double(1 - momentum)), ("epsilon", .double(eps)), ("center", .bool(true)), ("scale", .bool(true)),
        ], weightOrder: ["gamma", "beta", "moving_mean", "moving_variance"]), producing: node)
    }
}

public struct LayerNormOp: GraphOp, Equatable {
    public var dimension: Int
    public var eps: Double

    public var opName: String { "layer_norm" }

    public func parameters(of node: Node, in graph: Graph) -> [ParameterSpec] {
        [node.parameter("weight", [dimension], keras: "gamma", .identity, role: .scale),
         node.parameter("bias", [dimension], keras: "beta", .identity, role: .shift)]
    }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        var x = inputs.take(0)
        guard x.shape.last == dimension else { throw ZooError(.mismatch, "expected a last axis of \(dimension), found \(shapeDescription(x.shape))") }
        Elementwise.layerNorm(&x.data, width: dimension, gamma: weights[node.torchPath + ".weight"], beta: weights[node.torchPath + ".bias"], eps: eps)
        return x
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "LayerNormalization", config: [
            ("axis", .int(-1)), ("epsilon", .double(eps)), ("center", .bool(true)), ("scale", .bool(true)),
        ], weightOrder: ["gamma", "beta"]), producing: node)
    }
}

extension GraphBuilder {
    /// `nn.BatchNorm2d(C, eps, momentum)` on a [C, H, W] map.
    public func batchNorm(_ x: Value, torch: String? = nil, keras: String? = nil, eps: Double = 1e-5, momentum: Double = 0.1) -> Value {
        add(BatchNormOp(channels: shape(x)[0], eps: eps, momentum: momentum), [x], module: true, torch: torch, keras: keras,
            shape: shape(x), layout: layout(x))
    }

    /// `nn.LayerNorm(D, eps)` over the last axis.
    public func layerNorm(_ x: Value, torch: String? = nil, keras: String? = nil, eps: Double) -> Value {
        let s = shape(x)
        if case .channelsFirst = layout(x), s.count == 3 { fail("\(torch ?? "layer_norm"): nn.LayerNorm normalises the last axis, found a [C, H, W] map; use layerNorm2d") }
        return add(LayerNormOp(dimension: s[s.count - 1], eps: eps), [x], module: true, torch: torch, keras: keras, shape: s, layout: layout(x))
    }
}
