import ZooCore
import ZooKernels

/// The vocabulary descriptors are written in: one node per PyTorch module call (or functional
/// call), carrying the module path (the PyTorch name), the Keras layer name, the output shape and
/// how its elements are ordered in each framework. What a node computes, which state-dict
/// entries it owns, how PyTorch runs it and which Keras layers it becomes is stated once, by its
/// op (see `GraphOp` and Sources/ZooGraph/Ops/).
///
/// Shapes are PyTorch layout, per sample (no batch dimension): an image is [C, H, W], a token
/// sequence [T], hidden states [T, D]. A dimension of -1 is dynamic (sequence length).

public enum InputKind: String, Sendable {
    case image, tokens
    /// Float vectors, one a step ([T, D]): what `nn.TransformerEncoder` takes.
    case features
}

/// What an input holds, so verification can fill it as a user would: the descriptor states it
/// with the input (family knowledge, stated where the family is).
public enum InputFill: Equatable, Sendable {
    /// Pixel values (standard normal noise).
    case pixels
    /// Token ids in 0..<vocabulary; with `padding`, that id wherever the attention mask is 0, as
    /// a tokenizer pads a batch (RoBERTa numbers positions around it).
    case tokenIDs(vocabulary: Int, padding: Int? = nil)
    /// 1 for a token to attend to, 0 for padding; later samples of a batch padded more.
    case attentionMask
    /// Segment ids in 0..<count.
    case tokenTypes(count: Int)
    /// 0, 1, … T − 1.
    case positions
    /// Vectors of standard normal noise, one a step.
    case features
}

/// How a value's elements are ordered in PyTorch compared with Keras.
public enum ValueLayout: Equatable, Sendable {
    /// A feature map [C, H, W] that Keras holds channels last, as [H, W, C].
    case channelsFirst
    /// The same shape and order in both (vectors, sequences, maps PyTorch permuted to channels last).
    case same
    /// [C·H·W] flattened from a channels-first map: PyTorch's order is C,H,W, Keras's H,W,C.
    case flattenedChannelsFirst(channels: Int, height: Int, width: Int)

    /// The Keras (per-sample) shape of a value of PyTorch shape `s` in this layout.
    public func kerasShape(_ s: [Int]) -> [Int] {
        if case .channelsFirst = self, s.count == 3 { return [s[1], s[2], s[0]] }
        return s
    }
}

/// A handle to a node's output while a graph is being built.
public struct Value: Hashable, Sendable {
    public let node: Int
}

public struct Node: Sendable {
    public let id: Int
    public let op: any GraphOp
    public let inputs: [Int]
    /// The PyTorch module path (`layer1.0.conv1`); empty for functional calls with no module.
    public let torchPath: String
    /// The Keras layer holding this node's output.
    public let kerasName: String
    /// Output shape, PyTorch layout, per sample.
    public let shape: [Int]
    public let layout: ValueLayout

    /// The Keras (channels-last) per-sample shape of the output.
    public var kerasShape: [Int] { layout.kerasShape(shape) }

    /// The op as a concrete type, if it is one (`node.as(Conv2DOp.self)?.groups`).
    public func `as`<T: GraphOp>(_ type: T.Type) -> T? { op as? T }
}

/// A network as both executors and both naming schemes see it.
public struct Graph: Sendable {
    public let name: String
    public let nodes: [Node]
    public let inputs: [Int]
    public let outputs: [Int]
    /// Every state-dict entry, in `state_dict()` order (see `stateDictOrder`): computed once,
    /// as matching, mapping and writing each walk it.
    public private(set) var parameters: [ParameterSpec] = []
    /// `parameters` as the checkpoint names them, each name once.
    public private(set) var torchEntries: [(name: String, shape: [Int], dtype: DType)] = []

    /// `declaredModules`: module paths in the order their module registers them, for a module
    /// whose `__init__` order differs from the order its forward uses them (RoBERTa's embeddings
    /// declare the position table after the LayerNorm); other modules follow first use.
    public init(name: String, nodes: [Node], inputs: [Int], outputs: [Int], declaredModules: [String] = []) {
        self.name = name
        self.nodes = nodes
        self.inputs = inputs
        self.outputs = outputs
        parameters = Self.stateDictOrder(nodes.flatMap { $0.op.parameters(of: $0, in: self) }, declared: declaredModules)
        var seen = Set<String>()
        torchEntries = parameters.compactMap { p in
            seen.insert(p.torchName).inserted ? (p.torchName, p.torchShape, p.torchDType) : nil
        }
    }

    public func node(_ id: Int) -> Node { nodes[id] }

    /// Nodes that consume `id`'s output.
    public func consumers(of id: Int) -> [Node] { nodes.filter { $0.inputs.contains(id) } }

    /// The input node's spec, for each graph input in order.
    public var inputSpecs: [InputSpec] { inputs.compactMap { nodes[$0].as(InputSpec.self) } }
}

/// Builds a `Graph` one module call at a time, inferring shapes and names. The first
/// inconsistency is kept and thrown by `build`, so descriptors read as straight-line code.
///
/// Names fall out of structure, as PyTorch's do: `scope("layer1")` and `sequential("features")`
/// nest module paths, and inside a Sequential each module call takes the next index
/// (`features.3.conv.1.0` is reached by nesting, never by counting). A module's Keras name is
/// its path with dots as underscores unless the descriptor gives one (keras.applications names);
/// functional calls (additions, flattening) are named after their scope and kind.
public final class GraphBuilder {
    public let name: String
    private var nodes: [Node] = []
    private var inputs: [Int] = []
    private var firstError: ZooError?
    private var kerasNames = Set<String>()
    private var declaredModules: [String] = []

    private struct Scope {
        var path: [String]
        var sequential: Bool
        var next = 0
    }
    private var scopes: [Scope] = [Scope(path: [], sequential: false)]

    public init(name: String) { self.name = name }

    public func shape(_ v: Value) -> [Int] { nodes[v.node].shape }
    public func layout(_ v: Value) -> ValueLayout { nodes[v.node].layout }
    public func kerasName(of v: Value) -> String { nodes[v.node].kerasName }

    /// Records the first inconsistency; `build` throws it.
    public func fail(_ message: String) {
        if firstError == nil { firstError = ZooError(.mismatch, "\(name): \(message)") }
    }

    // MARK: - Scopes

    /// Child modules of a module attribute (`self.layer1 = …`): calls inside are named under `name`.
    @discardableResult
    public func scope<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let path = moduleName(name)
        scopes.append(Scope(path: path.split(separator: ".").map(String.init), sequential: false))
        defer { scopes.removeLast() }
        return try body()
    }

    /// An `nn.Sequential` attribute (or, with no name, the next item of the enclosing Sequential):
    /// each module call inside takes the next index, 0, 1, 2 …
    @discardableResult
    public func sequential<T>(_ name: String? = nil, _ body: () throws -> T) rethrows -> T {
        let path = moduleName(name)
        scopes.append(Scope(path: path.split(separator: ".").map(String.init), sequential: true))
        defer { scopes.removeLast() }
        return try body()
    }

    /// The next item of the enclosing Sequential as a module with named children (a block class
    /// such as torchvision's `BasicBlock`).
    @discardableResult
    public func item<T>(_ body: () throws -> T) rethrows -> T {
        let path = moduleName(nil)
        scopes.append(Scope(path: path.split(separator: ".").map(String.init), sequential: false))
        defer { scopes.removeLast() }
        return try body()
    }

    /// Skips `count` indices of the enclosing Sequential (modules with no counterpart here).
    public func skip(_ count: Int = 1) {
        if scopes[scopes.count - 1].sequential { scopes[scopes.count - 1].next += count }
    }

    /// The full module path of a child: `name` under the current scope, or in a Sequential the
    /// next index when `name` is nil.
    public func moduleName(_ name: String?) -> String {
        let scope = scopes[scopes.count - 1]
        let own: String
        if let name {
            own = name
        } else if scope.sequential {
            own = String(scope.next)
            scopes[scopes.count - 1].next += 1
        } else {
            fail("expected a module name outside a Sequential, found none (under '\(scope.path.joined(separator: "."))')")
            own = "?"
        }
        return (scope.path + [own]).joined(separator: ".")
    }

    /// Whether a call here is a Sequential item (takes an index) rather than a functional call.
    public var inSequential: Bool { scopes[scopes.count - 1].sequential }

    // MARK: - Nodes

    /// Adds a node. A module op (`module: true`) gets its path from `torch` (or the next index in a
    /// Sequential); a functional op has no path. The Keras name is `keras` when given, else
    /// derived from the path, else from the scope and `kind`.
    @discardableResult
    public func add(_ op: any GraphOp, _ inputs: [Value], module: Bool, torch: String?, keras: String?,
                    shape: [Int], layout: ValueLayout) -> Value {
        let path = module || torch != nil ? moduleName(torch) : (inSequential ? moduleName(nil) : "")
        var kerasName = keras ?? (path.isEmpty ? functionalName(op.opName) : path.replacingAll(".", "_"))
        if keras == nil && kerasNames.contains(kerasName) {
            var n = 1
            while kerasNames.contains("\(kerasName)_\(n)") { n += 1 }
            kerasName = "\(kerasName)_\(n)"
        }
        if !kerasNames.insert(kerasName).inserted { fail("expected unique Keras layer names, found '\(kerasName)' twice") }
        let node = Node(id: nodes.count, op: op, inputs: inputs.map(\.node), torchPath: path, kerasName: kerasName,
                        shape: shape, layout: layout)
        nodes.append(node)
        return Value(node: node.id)
    }

    private func functionalName(_ kind: String) -> String {
        let prefix = scopes.last!.path.joined(separator: "_")
        return prefix.isEmpty ? kind : "\(prefix)_\(kind)"
    }

    public func input(_ name: String, kind: InputKind, shape: [Int], fill: InputFill? = nil) -> Value {
        let spec = InputSpec(name: name, kind: kind, shape: shape, fill: fill ?? (kind == .image ? .pixels : .tokenIDs(vocabulary: 2)))
        let v = add(spec, [], module: false, torch: nil, keras: name, shape: shape, layout: kind == .image ? .channelsFirst : .same)
        inputs.append(v.node)
        return v
    }

    /// Module paths in their module's `__init__` order, where it is not the order of first use
    /// (see `Graph.init`).
    public func declareModules(_ paths: [String]) { declaredModules += paths }

    public func build(outputs: [Value]) throws -> Graph {
        if let firstError { throw firstError }
        return Graph(name: name, nodes: nodes, inputs: inputs, outputs: outputs.map(\.node), declaredModules: declaredModules)
    }
}

/// A model input: images [C, H, W] or token sequences [T].
public struct InputSpec: GraphOp, Equatable {
    public var name: String
    public var kind: InputKind
    public var shape: [Int]
    public var fill: InputFill

    public var opName: String { "input" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        throw ZooError(.internal, "input '\(name)' is fed by the executor, not computed")
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        var layer = l.layer(for: node, className: "InputLayer", config: [
            ("batch_shape", .array([.null] + node.kerasShape.map { $0 < 0 ? .null : .int($0) })),
        ])
        layer.inbound = []
        layer.dtype = kind == .tokens ? "int32" : "float32"
        l.emit(layer, producing: node)
    }
}
