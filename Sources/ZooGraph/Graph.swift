import ZooCore

/// The vocabulary descriptors are written in: one node per PyTorch module call, carrying the
/// module path (the PyTorch name) and the Keras layer name. Shapes are PyTorch layout, per sample
/// (no batch dimension): an image is [C, H, W], a token sequence [T], hidden states [T, D].
/// A dimension of -1 is dynamic (sequence length).
public enum Op: Equatable, Sendable {
    case input(InputSpec)
    case conv2d(Conv2DSpec)
    case batchNorm(BatchNormSpec)
    case activation(ActivationKind)
    case maxPool2d(PoolSpec)
    case avgPool2d(PoolSpec)
    /// `AdaptiveAvgPool2d((h, w))`.
    case adaptiveAvgPool2d(height: Int, width: Int)
    /// `AdaptiveAvgPool2d(1)` followed by `flatten(x, 1)`: [C, H, W] → [C].
    case globalAvgPool
    case add
    /// `torch.flatten(x, 1)`.
    case flatten
    case linear(LinearSpec)
    case dropout(rate: Double)
    case embedding(EmbeddingSpec)
    case layerNorm(LayerNormSpec)
    /// Self-attention over [T, D] with an optional key padding mask input ([T], 1 = attend).
    case attention(AttentionSpec)
    /// Row 0 of [T, D] → [D] (BERT's pooler input). `maxLength` bounds T, which lets Keras take
    /// the row with core layers (a stride-`maxLength` pool of size 1).
    case firstToken(maxLength: Int)
}

public enum InputKind: String, Sendable { case image, tokens }

public struct InputSpec: Equatable, Sendable {
    public var name: String
    public var kind: InputKind
    public var shape: [Int]
}

public struct Conv2DSpec: Equatable, Sendable {
    public var inChannels: Int
    public var outChannels: Int
    public var kernel: (Int, Int)
    public var stride: (Int, Int)
    public var padding: (Int, Int)
    public var dilation: (Int, Int)
    public var groups: Int
    public var bias: Bool
    /// An activation module applied right after (VGG's ReLU), fused into the Keras Conv2D.
    public var fusedActivation: ActivationKind?

    public static func == (a: Conv2DSpec, b: Conv2DSpec) -> Bool {
        a.inChannels == b.inChannels && a.outChannels == b.outChannels && a.kernel == b.kernel && a.stride == b.stride
            && a.padding == b.padding && a.dilation == b.dilation && a.groups == b.groups && a.bias == b.bias
            && a.fusedActivation == b.fusedActivation
    }
}

public struct BatchNormSpec: Equatable, Sendable {
    public var channels: Int
    public var eps: Double
    /// PyTorch's momentum; Keras's is 1 − this.
    public var momentum: Double
}

public enum ActivationKind: String, Equatable, Sendable {
    case relu
    /// Exact GELU (erf), PyTorch's and Keras's default.
    case gelu
    /// GELU's tanh approximation (`approximate='tanh'` / `approximate=True`).
    case geluTanh = "gelu_tanh"
    case tanh
}

public struct PoolSpec: Equatable, Sendable {
    public var kernel: Int
    public var stride: Int
    public var padding: Int
}

public struct LinearSpec: Equatable, Sendable {
    public var inFeatures: Int
    public var outFeatures: Int
    public var bias: Bool
    /// A Keras activation fused into the Dense layer (VGG's classifier, BERT's intermediate).
    public var fusedActivation: ActivationKind?
}

public struct EmbeddingSpec: Equatable, Sendable {
    public var count: Int
    public var dimension: Int
}

public struct LayerNormSpec: Equatable, Sendable {
    public var dimension: Int
    public var eps: Double
}

public struct AttentionSpec: Equatable, Sendable {
    public var dimension: Int
    public var heads: Int
    /// Module paths of the separate query, key, value and output projections (Hugging Face
    /// `attention.self.query` …), or nil for a fused `nn.MultiheadAttention` at the node's path.
    public var projections: Projections?

    public struct Projections: Equatable, Sendable {
        public var query: String
        public var key: String
        public var value: String
        public var output: String

        public init(query: String, key: String, value: String, output: String) {
            self.query = query
            self.key = key
            self.value = value
            self.output = output
        }
    }

    public var headDimension: Int { dimension / heads }
}

/// A handle to a node's output while a graph is being built.
public struct Value: Hashable, Sendable {
    public let node: Int
}

public struct Node: Sendable {
    public let id: Int
    public let op: Op
    public let inputs: [Int]
    /// The PyTorch module path (`layer1.0.conv1`); empty for functional calls with no module.
    public let torchPath: String
    /// The Keras layer this node becomes.
    public let kerasName: String
    /// Output shape, PyTorch layout, per sample.
    public let shape: [Int]
}

/// A network as both executors and both naming schemes see it.
public struct Graph: Sendable {
    public let name: String
    public let nodes: [Node]
    public let inputs: [Int]
    public let outputs: [Int]

    public func node(_ id: Int) -> Node { nodes[id] }

    /// Nodes that consume `id`'s output.
    public func consumers(of id: Int) -> [Node] { nodes.filter { $0.inputs.contains(id) } }
}

/// Builds a `Graph` one module call at a time, inferring shapes. The first inconsistency is kept
/// and thrown by `build`, so descriptors read as straight-line code.
public final class GraphBuilder {
    public let name: String
    private var nodes: [Node] = []
    private var inputs: [Int] = []
    private var firstError: ZooError?
    private var kerasNames = Set<String>()

    public init(name: String) { self.name = name }

    public func shape(_ v: Value) -> [Int] { nodes[v.node].shape }

    private func fail(_ message: String) {
        if firstError == nil { firstError = ZooError(.mismatch, "\(name): \(message)") }
    }

    @discardableResult
    private func add(_ op: Op, _ inputs: [Value], torch: String, keras: String, shape: [Int]) -> Value {
        if !kerasNames.insert(keras).inserted { fail("expected unique Keras layer names, found '\(keras)' twice") }
        let node = Node(id: nodes.count, op: op, inputs: inputs.map(\.node), torchPath: torch, kerasName: keras, shape: shape)
        nodes.append(node)
        return Value(node: node.id)
    }

    public func input(_ name: String, kind: InputKind, shape: [Int]) -> Value {
        let v = add(.input(InputSpec(name: name, kind: kind, shape: shape)), [], torch: "", keras: name, shape: shape)
        inputs.append(v.node)
        return v
    }

    public func conv2d(_ x: Value, torch: String, keras: String, out: Int, kernel: Int, stride: Int = 1,
                       padding: Int = 0, dilation: Int = 1, groups: Int = 1, bias: Bool,
                       activation: ActivationKind? = nil) -> Value {
        let s = shape(x)
        guard s.count == 3 else { fail("\(torch): expected a [C, H, W] input, found \(s)"); return x }
        guard s[0] % groups == 0, out % groups == 0 else { fail("\(torch): expected channels divisible by groups \(groups), found \(s[0]) → \(out)"); return x }
        let extent = dilation * (kernel - 1) + 1
        let h = (s[1] + 2 * padding - extent) / stride + 1
        let w = (s[2] + 2 * padding - extent) / stride + 1
        guard h > 0, w > 0 else { fail("\(torch): input \(s[1])×\(s[2]) is too small for a \(kernel)×\(kernel) kernel"); return x }
        let spec = Conv2DSpec(inChannels: s[0], outChannels: out, kernel: (kernel, kernel), stride: (stride, stride),
                              padding: (padding, padding), dilation: (dilation, dilation), groups: groups, bias: bias,
                              fusedActivation: activation)
        return add(.conv2d(spec), [x], torch: torch, keras: keras, shape: [out, h, w])
    }

    public func batchNorm(_ x: Value, torch: String, keras: String, eps: Double = 1e-5, momentum: Double = 0.1) -> Value {
        add(.batchNorm(BatchNormSpec(channels: shape(x)[0], eps: eps, momentum: momentum)), [x], torch: torch, keras: keras, shape: shape(x))
    }

    public func activation(_ x: Value, _ kind: ActivationKind, keras: String) -> Value {
        add(.activation(kind), [x], torch: "", keras: keras, shape: shape(x))
    }

    public func maxPool2d(_ x: Value, keras: String, kernel: Int, stride: Int, padding: Int = 0) -> Value {
        pool(.maxPool2d(PoolSpec(kernel: kernel, stride: stride, padding: padding)), x, keras: keras, kernel: kernel, stride: stride, padding: padding)
    }

    public func avgPool2d(_ x: Value, keras: String, kernel: Int, stride: Int, padding: Int = 0) -> Value {
        pool(.avgPool2d(PoolSpec(kernel: kernel, stride: stride, padding: padding)), x, keras: keras, kernel: kernel, stride: stride, padding: padding)
    }

    private func pool(_ op: Op, _ x: Value, keras: String, kernel: Int, stride: Int, padding: Int) -> Value {
        let s = shape(x)
        let h = (s[1] + 2 * padding - kernel) / stride + 1, w = (s[2] + 2 * padding - kernel) / stride + 1
        guard h > 0, w > 0 else { fail("\(keras): input \(s[1])×\(s[2]) is too small to pool with \(kernel)×\(kernel)"); return x }
        return add(op, [x], torch: "", keras: keras, shape: [s[0], h, w])
    }

    public func adaptiveAvgPool2d(_ x: Value, keras: String, height: Int, width: Int) -> Value {
        add(.adaptiveAvgPool2d(height: height, width: width), [x], torch: "", keras: keras, shape: [shape(x)[0], height, width])
    }

    public func globalAvgPool(_ x: Value, keras: String) -> Value {
        add(.globalAvgPool, [x], torch: "", keras: keras, shape: [shape(x)[0]])
    }

    public func add(_ a: Value, _ b: Value, keras: String) -> Value {
        if shape(a) != shape(b) { fail("\(keras): expected equal shapes to add, found \(shape(a)) and \(shape(b))") }
        return add(.add, [a, b], torch: "", keras: keras, shape: shape(a))
    }

    public func flatten(_ x: Value, keras: String) -> Value {
        add(.flatten, [x], torch: "", keras: keras, shape: [shape(x).reduce(1, *)])
    }

    public func linear(_ x: Value, torch: String, keras: String, out: Int, bias: Bool = true, activation: ActivationKind? = nil) -> Value {
        var s = shape(x)
        let spec = LinearSpec(inFeatures: s[s.count - 1], outFeatures: out, bias: bias, fusedActivation: activation)
        s[s.count - 1] = out
        return add(.linear(spec), [x], torch: torch, keras: keras, shape: s)
    }

    public func dropout(_ x: Value, keras: String, rate: Double) -> Value {
        add(.dropout(rate: rate), [x], torch: "", keras: keras, shape: shape(x))
    }

    public func embedding(_ ids: Value, torch: String, keras: String, count: Int, dimension: Int) -> Value {
        add(.embedding(EmbeddingSpec(count: count, dimension: dimension)), [ids], torch: torch, keras: keras, shape: shape(ids) + [dimension])
    }

    public func layerNorm(_ x: Value, torch: String, keras: String, eps: Double) -> Value {
        let s = shape(x)
        return add(.layerNorm(LayerNormSpec(dimension: s[s.count - 1], eps: eps)), [x], torch: torch, keras: keras, shape: s)
    }

    /// Self-attention on `x` ([T, D]); `mask` ([T], 1 = attend, 0 = padding) is optional.
    public func attention(_ x: Value, mask: Value?, torch: String, keras: String, heads: Int,
                          projections: AttentionSpec.Projections?) -> Value {
        let s = shape(x)
        let d = s[s.count - 1]
        if heads <= 0 || d % heads != 0 { fail("\(keras): expected a hidden size divisible by the number of heads, found \(d) and \(heads) heads") }
        let spec = AttentionSpec(dimension: d, heads: max(heads, 1), projections: projections)
        return add(.attention(spec), [x] + (mask.map { [$0] } ?? []), torch: torch, keras: keras, shape: s)
    }

    public func firstToken(_ x: Value, keras: String, maxLength: Int) -> Value {
        let s = shape(x)
        return add(.firstToken(maxLength: maxLength), [x], torch: "", keras: keras, shape: Array(s.dropFirst()))
    }

    public func build(outputs: [Value]) throws -> Graph {
        if let firstError { throw firstError }
        return Graph(name: name, nodes: nodes, inputs: inputs, outputs: outputs.map(\.node))
    }
}
