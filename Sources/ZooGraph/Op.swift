import ZooCore
import ZooKernels

/// One op of the vocabulary, stated once: a PyTorch module (or functional call) with
/// - the state-dict entries it owns, their shapes, the Keras weight each becomes and the
///   transform between them (`parameters`), which matching, `zoo map`, random checkpoints and the
///   weight writer all read;
/// - how PyTorch computes it, NCHW on the checkpoint's tensors (`torchForward`);
/// - the core Keras layers it becomes (`lower`), which the `.keras` writer saves and the
///   Keras-layout executor runs by their classes and configs, never by this op.
///
/// Each op lives in its own file under Sources/ZooGraph/Ops/, with the `GraphBuilder` method
/// descriptors call to add it (shape inference and naming).
public protocol GraphOp: Sendable {
    /// The op's name in `zoo map`, messages and derived Keras names ("conv2d", "add").
    var opName: String { get }

    /// State-dict entries the node's module owns, in `state_dict()` order.
    func parameters(of node: Node, in graph: Graph) -> [ParameterSpec]

    /// PyTorch's computation, NCHW. `inputs` hold the node's input values (take one to modify
    /// it in place); `weights` serves every entry `parameters` names.
    func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor

    /// The Keras layers the node becomes.
    func lower(_ node: Node, _ lowering: inout KerasLowering) throws

    /// Whether the output is ≥ 0 whatever the input (after a ReLU): lets a zero-padded max pool
    /// stand for PyTorch's −∞ padding.
    func isNonNegative(_ node: Node, in graph: Graph) -> Bool

    /// Keras weights the lowering needs that no checkpoint holds: fixed values that let core
    /// layers compute what PyTorch code does without a module (position ids from token ids, an
    /// adaptive pool's bins). Written into the Keras file like any weight.
    func constants(of node: Node, in graph: Graph) -> [KerasConstant]

    /// Keras weights computed from several of the node's state-dict entries at once (see
    /// `KerasDerived`); each entry feeding one is stated in `parameters` with the transform
    /// `.derived`.
    func derived(of node: Node, in graph: Graph) -> [KerasDerived]
}

/// A Keras weight computed from several checkpoint tensors and fixed values: what a core
/// lowering needs when one Keras kernel carries numbers from more than one PyTorch entry (Swin's
/// attention, whose query and key kernels also carry the relative position bias). `sources` are
/// state-dict names the node's `parameters` state; `compute` gets their values as float32, in
/// order, and throws for values it cannot use (an index out of its table).
public struct KerasDerived: Sendable {
    public let layer: String
    public let weight: String
    public let shape: [Int]
    public let sources: [String]
    public let compute: @Sendable ([[Float]]) throws -> [Float]

    public init(layer: String, weight: String, shape: [Int], sources: [String], compute: @escaping @Sendable ([[Float]]) throws -> [Float]) {
        (self.layer, self.weight, self.shape, self.sources, self.compute) = (layer, weight, shape, sources, compute)
    }

    /// The weight's values from its sources', checked to fill its shape.
    public func values(_ sources: [[Float]]) throws -> [Float] {
        let v = try compute(sources)
        guard v.count == shape.reduce(1, *) else {
            throw ZooError(.internal, "\(layer)/\(weight): expected \(shape.reduce(1, *)) values, computed \(v.count)")
        }
        return v
    }
}

/// A Keras weight with fixed values (in Keras layout), stated by the op that needs it.
public struct KerasConstant: Sendable, Equatable {
    public let layer: String
    public let weight: String
    public let shape: [Int]
    public let values: [Float]

    public init(layer: String, weight: String, shape: [Int], values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "a constant's values must fill its shape")
        self.layer = layer
        self.weight = weight
        self.shape = shape
        self.values = values
    }
}

extension GraphOp {
    public func parameters(of node: Node, in graph: Graph) -> [ParameterSpec] { [] }
    public func constants(of node: Node, in graph: Graph) -> [KerasConstant] { [] }
    public func derived(of node: Node, in graph: Graph) -> [KerasDerived] { [] }
    public func isNonNegative(_ node: Node, in graph: Graph) -> Bool { false }
}

/// How a random checkpoint fills a parameter (`Graph.randomStateDict`): realistic magnitudes,
/// and normalisation statistics far enough from 0 and 1 that a dropped or swapped one shows.
public enum ParameterRole: Sendable, Equatable {
    /// A kernel or Linear weight: N(0, 1/fan-in), fan-in = every axis but the first.
    case weight
    case bias
    /// A normalisation scale γ (BatchNorm/LayerNorm weight): around 1.
    case scale
    /// A normalisation shift β: around 0.
    case shift
    case runningMean
    case runningVariance
    /// An embedding table or a free additive weight (position table, class token).
    case table
    /// BatchNorm's `num_batches_tracked` (int64).
    case counter
    /// An integer buffer the computation reads, with the values PyTorch's module registers
    /// (Swin's `relative_position_index`); random checkpoints hold exactly these.
    case index(values: [Int])
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
    public let role: ParameterRole
    /// The node that owns it.
    public let node: Int

    public init(torchName: String, torchShape: [Int], torchDType: DType = .float32, kerasLayer: String?, kerasWeight: String?,
                kerasShape: [Int]? = nil, transform: Transform, role: ParameterRole, node: Int) {
        self.torchName = torchName
        self.torchShape = torchShape
        self.torchDType = torchDType
        self.kerasLayer = kerasLayer
        self.kerasWeight = kerasWeight
        self.kerasShape = kerasShape ?? transform.kerasShape(torchShape)
        self.transform = transform
        self.role = role
        self.node = node
    }
}

extension Node {
    /// A parameter of this node's module: `<path>.<suffix>` (or `<module>.<suffix>` for a
    /// submodule's), stored as the Keras weight `keras` of the node's layer (or `layer`).
    public func parameter(_ suffix: String, _ shape: [Int], keras: String?, _ transform: Transform, role: ParameterRole,
                          module: String? = nil, layer: String? = nil, kerasShape: [Int]? = nil, dtype: DType = .float32) -> ParameterSpec {
        ParameterSpec(torchName: (module ?? torchPath) + "." + suffix, torchShape: shape, torchDType: dtype,
                      kerasLayer: keras == nil ? nil : (layer ?? kerasName), kerasWeight: keras, kerasShape: kerasShape,
                      transform: transform, role: role, node: id)
    }
}

/// The values a node's PyTorch computation reads. Taking a value hands over its buffer: when
/// the node is its last consumer the buffer is not shared, so changing it works in place.
public struct TorchInputs {
    private var values: [FloatTensor?]

    public init(_ values: [FloatTensor]) { self.values = values }

    public var count: Int { values.count }

    public subscript(_ i: Int) -> FloatTensor { values[i]! }

    public mutating func take(_ i: Int) -> FloatTensor {
        let v = values[i]!
        values[i] = nil
        return v
    }
}

/// State-dict tensors by name, as float32, for `torchForward`.
public struct TorchWeights: Sendable {
    private let values: [String: [Float]]

    public init(_ values: [String: [Float]]) { self.values = values }

    /// The tensor named `name` (every name an op's `parameters` states is present).
    public subscript(_ name: String) -> [Float] {
        guard let v = values[name] else { preconditionFailure("internal: the executor did not load '\(name)'") }
        return v
    }
}

/// Shape checks for `torchForward`, as errors that say what was expected.
extension FloatTensor {
    /// (n, c, h, w) of an NCHW value.
    public func map() throws -> (n: Int, c: Int, h: Int, w: Int) {
        guard shape.count == 4 else { throw ZooError(.mismatch, "expected an [N, C, H, W] input, found \(shapeDescription(shape))") }
        return (shape[0], shape[1], shape[2], shape[3])
    }
}

public func shapeDescription(_ s: [Int]) -> String { "[" + s.map { $0 < 0 ? "?" : String($0) }.joined(separator: ", ") + "]" }

// MARK: - Keras lowering

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
    /// Constant keyword arguments of the layer's call (`use_causal_mask: true` of a
    /// MultiHeadAttention), as the functional config records them in the inbound node.
    public var callOptions: [(String, JSONValue)] = []

    public init(name: String, className: String, config: [(String, JSONValue)], inbound: [String],
                weights: [(name: String, shape: [Int])] = [], outputShape: [Int], dtype: String = "float32") {
        self.name = name
        self.className = className
        self.config = config
        self.inbound = inbound
        self.weights = weights
        self.outputShape = outputShape
        self.dtype = dtype
    }

    public func configValue(_ key: String) -> JSONValue? { config.first { $0.0 == key }?.1 }
    public func callOption(_ key: String) -> JSONValue? { callOptions.first { $0.0 == key }?.1 }
}

public struct KerasModel: Sendable {
    public var name: String
    public var layers: [KerasLayer]
    public var inputs: [String]
    public var outputs: [String]

    public init(name: String, layers: [KerasLayer], inputs: [String], outputs: [String]) {
        self.name = name
        self.layers = layers
        self.inputs = inputs
        self.outputs = outputs
    }

    public func layer(_ name: String) -> KerasLayer? { layers.first { $0.name == name } }
}

/// What an op's `lower` works with: the graph, the Keras layers emitted so far, and which layer
/// holds each node's output.
public struct KerasLowering {
    public let graph: Graph
    public private(set) var layers: [KerasLayer] = []
    private var producer: [Int: String] = [:]
    private var names = Set<String>()
    private let parameters: [Int: [ParameterSpec]]
    private let constants: [String: KerasConstant]
    private let derived: [String: [Int]]

    init(graph: Graph) {
        self.graph = graph
        parameters = Dictionary(grouping: graph.parameters, by: \.node)
        constants = Dictionary(graph.constants.map { ("\($0.layer)/\($0.weight)", $0) }, uniquingKeysWith: { a, _ in a })
        derived = Dictionary(graph.derived.map { ("\($0.layer)/\($0.weight)", $0.shape) }, uniquingKeysWith: { a, _ in a })
        names = Set(graph.nodes.map(\.kerasName))
    }

    /// The Keras layer holding the output of input `i` of `node`.
    public func input(_ node: Node, _ i: Int = 0) -> String { producer[node.inputs[i]]! }

    /// The node feeding input `i` of `node`.
    public func inputNode(_ node: Node, _ i: Int = 0) -> Node { graph.node(node.inputs[i]) }

    /// A layer named after the node, fed by the node's inputs, with the node's output shape and
    /// the weights its parameters give that layer, in `order` (Keras's order for the class).
    public func layer(for node: Node, className: String, config: [(String, JSONValue)], weightOrder: [String] = []) -> KerasLayer {
        KerasLayer(name: node.kerasName, className: className, config: config,
                   inbound: node.inputs.map { producer[$0]! }, weights: weights(of: node, layer: node.kerasName, order: weightOrder),
                   outputShape: node.kerasShape)
    }

    /// The Keras weights (name, shape) the node's parameters (or constants) give `layer`, in `order`.
    public func weights(of node: Node, layer: String, order: [String]) -> [(name: String, shape: [Int])] {
        let specs = (parameters[node.id] ?? []).filter { $0.kerasLayer == layer }
        return order.compactMap { w in
            derived["\(layer)/\(w)"].map { (w, $0) } ?? specs.first { $0.kerasWeight == w }.map { (w, $0.kerasShape!) }
                ?? constants["\(layer)/\(w)"].map { (w, $0.shape) }
        }
    }

    /// A fresh layer name derived from `base` (helpers such as a padding layer before a conv).
    public mutating func uniqueName(_ base: String) -> String {
        var candidate = base, n = 1
        while names.contains(candidate) { candidate = "\(base)_\(n)"; n += 1 }
        names.insert(candidate)
        return candidate
    }

    /// Adds a helper layer (its output feeds a later layer of the same node).
    public mutating func emit(_ layer: KerasLayer) {
        names.insert(layer.name)
        layers.append(layer)
    }

    /// Adds the layer holding `node`'s output.
    public mutating func emit(_ layer: KerasLayer, producing node: Node) {
        emit(layer)
        producer[node.id] = layer.name
    }

    /// `node` computes nothing in Keras (an identity at this size, a permutation Keras's layout
    /// already has): its output is its input's.
    public mutating func alias(_ node: Node, to input: Int = 0) {
        producer[node.id] = producer[node.inputs[input]]!
    }

    /// A `ZeroPadding2D` of input `i` of `node` by (top, bottom, left, right); returns its name.
    public mutating func zeroPadding(_ node: Node, _ pad: (top: Int, bottom: Int, left: Int, right: Int), input i: Int = 0,
                                     name: String? = nil) -> String {
        let s = inputNode(node, i).kerasShape
        let layerName = uniqueName(name ?? Self.paddingName(node.kerasName))
        emit(KerasLayer(name: layerName, className: "ZeroPadding2D",
                        config: [("padding", .array([.array([.int(pad.top), .int(pad.bottom)]), .array([.int(pad.left), .int(pad.right)])])),
                                 ("data_format", .string("channels_last"))],
                        inbound: [input(node, i)], outputShape: [s[0] + pad.top + pad.bottom, s[1] + pad.left + pad.right, s[2]]))
        return layerName
    }

    /// keras.applications names a conv's or pool's padding `…_pad`.
    static func paddingName(_ layer: String) -> String {
        for suffix in ["_conv", "_pool"] where layer.hasSuffix(suffix) { return String(layer.dropLast(suffix.count)) + "_pad" }
        return layer + "_pad"
    }

    func output(_ id: Int) -> String { producer[id]! }
}

extension Graph {
    /// The order of `parameters` (Graph.swift), every state-dict entry with its Keras target.
    /// Node order is call order; `state_dict()` visits a module's own parameters and buffers
    /// before its submodules' (ConvNeXt's `CNBlock` applies `layer_scale` after `block`, yet
    /// `features.1.0.layer_scale` precedes `features.1.0.block.0.weight`). So entries are
    /// grouped as PyTorch walks the module tree: each module's own entries in the order they
    /// appear, then its submodules in the order they first appear.
    static func stateDictOrder(_ specs: [ParameterSpec], declared: [String] = []) -> [ParameterSpec] {
        struct Module { var own: [Int] = []; var children: [String] = [] }
        var modules: [String: Module] = ["": Module()]
        // a declared path goes first among its parent's children, once the parent exists
        var declaredChildren: [String: [String]] = [:]
        for path in declared {
            let parent = path.split(separator: ".", omittingEmptySubsequences: false).dropLast().joined(separator: ".")
            declaredChildren[parent, default: []].append(path)
        }
        func create(_ child: String, under parent: String) {
            modules[child] = Module()
            modules[parent]!.children.append(child)
            for c in declaredChildren[child] ?? [] where modules[c] == nil { create(c, under: child) }
        }
        func register(_ path: [String]) -> String {
            var parent = ""
            for depth in 0..<path.count {
                let child = path[0...depth].joined(separator: ".")
                if modules[child] == nil { create(child, under: parent) }
                parent = child
            }
            return parent
        }
        for c in declaredChildren[""] ?? [] where modules[c] == nil { create(c, under: "") }
        for (i, spec) in specs.enumerated() {
            let path = spec.torchName.split(separator: ".", omittingEmptySubsequences: false).dropLast().map(String.init)
            modules[register(path)]!.own.append(i)
        }
        // a declared parameter name orders its module's own parameters (DeiT's embeddings register
        // the distillation token after the position table, though the forward uses it before)
        let rank = Dictionary(declared.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
        if specs.contains(where: { rank[$0.torchName] != nil }) {
            for key in modules.keys {
                let own = modules[key]!.own
                modules[key]!.own = own.enumerated().sorted { a, b in
                    let (ra, rb) = (rank[specs[a.element].torchName] ?? Int.max, rank[specs[b.element].torchName] ?? Int.max)
                    return ra != rb ? ra < rb : a.offset < b.offset
                }.map(\.element)
            }
        }
        var order: [ParameterSpec] = []
        order.reserveCapacity(specs.count)
        var stack = [""]
        while let module = stack.popLast() {
            let m = modules[module]!
            order += m.own.map { specs[$0] }
            stack += m.children.reversed()
        }
        return order
    }

    /// The fixed Keras weights of every node (see `GraphOp.constants`).
    public var constants: [KerasConstant] { nodes.flatMap { $0.op.constants(of: $0, in: self) } }

    /// The Keras weights computed from several entries (see `GraphOp.derived`).
    public var derived: [KerasDerived] { nodes.flatMap { $0.op.derived(of: $0, in: self) } }

    /// Distinct PyTorch state-dict entries (a fused in_proj appears once), in order.

    public var parameterCount: Int {
        torchEntries.filter { $0.dtype.isFloatingPoint }.reduce(0) { $0 + $1.shape.reduce(1, *) }
    }

    /// The Keras functional model: core layers only, names from the descriptor.
    public func kerasModel() throws -> KerasModel {
        var lowering = KerasLowering(graph: self)
        for node in nodes {
            do { try node.op.lower(node, &lowering) } catch let error as ZooError where !error.message.hasPrefix(name) {
                throw ZooError(error.kind, "\(name): \(error.message)")
            }
        }
        return KerasModel(name: name, layers: lowering.layers, inputs: inputs.map { lowering.output($0) },
                          outputs: outputs.map { lowering.output($0) })
    }

    /// Whether a node's output is ≥ 0 by construction.
    public func isNonNegative(_ id: Int) -> Bool { nodes[id].op.isNonNegative(nodes[id], in: self) }
}
