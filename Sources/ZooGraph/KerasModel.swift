import ZooCore

/// One Keras layer of the functional model a graph lowers to, in Keras's own terms: class,
/// class-specific config, inbound layers, weights in Keras order, and output shape (channels last,
/// per sample, -1 dynamic). The NHWC executor and the `.keras` writer read only this.
public struct KerasLayer: Sendable {
    public var name: String
    public var className: String
    public var config: [(String, JSONValue)]
    /// Layers whose outputs are this layer's call arguments, in order.
    public var inbound: [String]
    public var weights: [(name: String, shape: [Int])]
    public var outputShape: [Int]
    public var dtype: String = "float32"

    public func configValue(_ key: String) -> JSONValue? { config.first { $0.0 == key }?.1 }
}

public struct KerasModel: Sendable {
    public var name: String
    public var layers: [KerasLayer]
    public var inputs: [String]
    public var outputs: [String]

    public func layer(_ name: String) -> KerasLayer? { layers.first { $0.name == name } }
}

/// PyTorch layout [C, H, W] → Keras layout [H, W, C]; other ranks are the same in both.
func channelsLast(_ s: [Int]) -> [Int] {
    s.count == 3 ? [s[1], s[2], s[0]] : s
}

extension Graph {
    /// The Keras functional model: only core layers, names from the descriptor, explicit zero
    /// padding wherever PyTorch's symmetric padding differs from Keras's `same`.
    public func kerasModel() throws -> KerasModel {
        var layers: [KerasLayer] = []
        var producer: [Int: String] = [:] // node → Keras layer holding its output
        let params = Dictionary(grouping: parameters, by: \.node)

        func weights(_ node: Node, order: [String]) -> [(String, [Int])] {
            let specs = params[node.id] ?? []
            return order.compactMap { w in specs.first { $0.kerasWeight == w }.map { (w, $0.kerasShape!) } }
        }
        func padName(_ keras: String) -> String {
            keras.hasSuffix("_conv") ? String(keras.dropLast(5)) + "_pad"
                : keras.hasSuffix("_pool") ? String(keras.dropLast(5)) + "_pad" : keras + "_pad"
        }
        func zeroPad(_ node: Node, _ p: Int, from input: String) -> String {
            let s = channelsLast(self.node(node.inputs[0]).shape)
            let name = padName(node.kerasName)
            layers.append(KerasLayer(name: name, className: "ZeroPadding2D",
                                     config: [("padding", .array([.array([.int(p), .int(p)]), .array([.int(p), .int(p)])])),
                                              ("data_format", .string("channels_last"))],
                                     inbound: [input], weights: [], outputShape: [s[0] + 2 * p, s[1] + 2 * p, s[2]]))
            return name
        }
        func pair(_ a: Int, _ b: Int) -> JSONValue { .array([.int(a), .int(b)]) }

        for node in nodes {
            let inbound = node.inputs.map { producer[$0]! }
            let out = channelsLast(node.shape)
            var layer = KerasLayer(name: node.kerasName, className: "", config: [], inbound: inbound, weights: [], outputShape: out)
            switch node.op {
            case .input(let spec):
                layer.className = "InputLayer"
                layer.config = [("batch_shape", .array([.null] + channelsLast(spec.shape).map { $0 < 0 ? .null : .int($0) }))]
                layer.dtype = spec.kind == .image ? "float32" : "int32"
            case .conv2d(let c):
                var source = inbound[0]
                var padding = "valid"
                if c.padding != (0, 0) {
                    let sameIsSymmetric = c.stride == (1, 1) && c.dilation.0 * (c.kernel.0 - 1) == 2 * c.padding.0
                        && c.dilation.1 * (c.kernel.1 - 1) == 2 * c.padding.1
                    if sameIsSymmetric {
                        padding = "same"
                    } else {
                        guard c.padding.0 == c.padding.1 else { throw ZooError(.mismatch, "\(node.kerasName): unequal padding is not supported") }
                        source = zeroPad(node, c.padding.0, from: source)
                    }
                }
                layer.className = "Conv2D"
                layer.inbound = [source]
                layer.config = [("filters", .int(c.outChannels)), ("kernel_size", pair(c.kernel.0, c.kernel.1)),
                                ("strides", pair(c.stride.0, c.stride.1)), ("padding", .string(padding)),
                                ("data_format", .string("channels_last")), ("dilation_rate", pair(c.dilation.0, c.dilation.1)),
                                ("groups", .int(c.groups)), ("activation", .string(try kerasActivation(c.fusedActivation, node))),
                                ("use_bias", .bool(c.bias))]
                layer.weights = weights(node, order: ["kernel", "bias"])
            case .batchNorm(let b):
                layer.className = "BatchNormalization"
                layer.config = [("axis", .int(-1)), ("momentum", .double(1 - b.momentum)), ("epsilon", .double(b.eps)),
                                ("center", .bool(true)), ("scale", .bool(true))]
                layer.weights = weights(node, order: ["gamma", "beta", "moving_mean", "moving_variance"])
            case .activation(let kind):
                layer.className = "Activation"
                layer.config = [("activation", .string(try kerasActivation(kind, node)))]
            case .maxPool2d(let p), .avgPool2d(let p):
                var source = inbound[0]
                if p.padding > 0 {
                    // PyTorch pads max pooling with −∞, Keras's ZeroPadding2D with 0: the same only
                    // when the input cannot be negative (after a ReLU, as in ResNet's stem).
                    if case .maxPool2d = node.op, !isNonNegative(node.inputs[0]) {
                        throw ZooError(.mismatch, "\(node.kerasName): padded max pooling of a possibly negative input has no exact Keras core-layer equivalent")
                    }
                    source = zeroPad(node, p.padding, from: source)
                }
                if case .maxPool2d = node.op { layer.className = "MaxPooling2D" } else { layer.className = "AveragePooling2D" }
                layer.inbound = [source]
                layer.config = [("pool_size", pair(p.kernel, p.kernel)), ("padding", .string("valid")),
                                ("strides", pair(p.stride, p.stride)), ("data_format", .string("channels_last"))]
            case .adaptiveAvgPool2d(let h, let w):
                let s = self.node(node.inputs[0]).shape
                if s[1] == h && s[2] == w {
                    producer[node.id] = inbound[0] // identity at this input size
                    continue
                }
                guard s[1] % h == 0, s[2] % w == 0 else {
                    throw ZooError(.mismatch, "\(name): adaptive average pooling to \(h)×\(w) needs a feature map whose size is a multiple of it, found \(s[1])×\(s[2]); choose another input size")
                }
                layer.className = "AveragePooling2D"
                layer.config = [("pool_size", pair(s[1] / h, s[2] / w)), ("padding", .string("valid")),
                                ("strides", pair(s[1] / h, s[2] / w)), ("data_format", .string("channels_last"))]
            case .globalAvgPool:
                layer.className = "GlobalAveragePooling2D"
                layer.config = [("data_format", .string("channels_last")), ("keepdims", .bool(false))]
            case .add:
                layer.className = "Add"
            case .flatten:
                layer.className = "Flatten"
                layer.config = [("data_format", .string("channels_last"))]
            case .linear(let l):
                layer.className = "Dense"
                layer.config = [("units", .int(l.outFeatures)), ("activation", .string(try kerasActivation(l.fusedActivation, node))),
                                ("use_bias", .bool(l.bias))]
                layer.weights = weights(node, order: ["kernel", "bias"])
            case .dropout(let rate):
                layer.className = "Dropout"
                layer.config = [("rate", .double(rate))]
            case .embedding(let e):
                layer.className = "Embedding"
                layer.config = [("input_dim", .int(e.count)), ("output_dim", .int(e.dimension))]
                layer.weights = weights(node, order: ["embeddings"])
            case .layerNorm(let n):
                layer.className = "LayerNormalization"
                layer.config = [("axis", .int(-1)), ("epsilon", .double(n.eps)), ("center", .bool(true)), ("scale", .bool(true))]
                layer.weights = weights(node, order: ["gamma", "beta"])
            case .attention(let a):
                layer.className = "MultiHeadAttention"
                layer.inbound = [inbound[0], inbound[0]] + inbound.dropFirst()
                layer.config = [("num_heads", .int(a.heads)), ("key_dim", .int(a.headDimension)),
                                ("value_dim", .int(a.headDimension)), ("use_bias", .bool(true))]
                layer.weights = weights(node, order: ["query/kernel", "query/bias", "key/kernel", "key/bias",
                                                      "value/kernel", "value/bias", "attention_output/kernel", "attention_output/bias"])
            case .firstToken(let maxLength):
                // x[:, 0] with core layers only: a size-1 pool whose stride exceeds any sequence
                // length keeps exactly the first step ([T, D] → [1, D]); Flatten drops the axis.
                let d = out[0]
                layers.append(KerasLayer(name: node.kerasName, className: "MaxPooling1D",
                                         config: [("pool_size", .array([.int(1)])), ("strides", .array([.int(maxLength)])),
                                                  ("padding", .string("valid")), ("data_format", .string("channels_last"))],
                                         inbound: inbound, weights: [], outputShape: [1, d]))
                layer.name = node.kerasName + "_flatten"
                layer.className = "Flatten"
                layer.inbound = [node.kerasName]
                layer.config = [("data_format", .string("channels_last"))]
            }
            producer[node.id] = layer.name
            layers.append(layer)
        }
        return KerasModel(name: name, layers: layers, inputs: inputs.map { producer[$0]! }, outputs: outputs.map { producer[$0]! })
    }

    /// Whether a node's output is ≥ 0 by construction (a ReLU, or a layer with a fused ReLU).
    func isNonNegative(_ id: Int) -> Bool {
        switch nodes[id].op {
        case .activation(.relu): return true
        case .conv2d(let c): return c.fusedActivation == .relu
        case .linear(let l): return l.fusedActivation == .relu
        case .maxPool2d, .dropout: return isNonNegative(nodes[id].inputs[0])
        default: return false
        }
    }

    private func kerasActivation(_ kind: ActivationKind?, _ node: Node) throws -> String {
        switch kind {
        case nil: return "linear"
        case .relu?: return "relu"
        case .gelu?: return "gelu"
        case .tanh?: return "tanh"
        case .geluTanh?:
            throw ZooError(.mismatch, "\(node.kerasName): tanh-approximate GELU has no Keras core activation name; only exact GELU converts")
        }
    }
}
