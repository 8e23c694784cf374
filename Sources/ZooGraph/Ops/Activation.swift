// An activation module (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.SiLU, nn.GELU …). Keras: Activation
// with the activation's Keras name. The functions themselves are `ActivationKind` (ZooKernels),
// shared by both executors.
import ZooCore
import ZooKernels

public struct ActivationOp: GraphOp, Equatable {
    public var kind: ActivationKind

    public var opName: String { kind.rawValue }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        var x = inputs.take(0)
        kind.apply(&x.data)
        return x
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        guard kind == .geluTanh || kind == .quickGelu else {
            l.emit(l.layer(for: node, className: "Activation", config: [("activation", .string(try kerasActivation(kind, node)))]), producing: node)
            return
        }
        // No Keras activation name selects tanh-approximate GELU (`gelu(x, approximate=True)`
        // takes an argument a name cannot carry), so it is spelled in core layers, as PyTorch
        // computes it: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
        let x = l.input(node), base = node.kerasName, shape = node.kerasShape
        func helper(_ suffix: String, _ className: String, _ config: [(String, JSONValue)], _ inbound: [String]) -> String {
            let name = l.uniqueName("\(base)_\(suffix)")
            l.emit(KerasLayer(name: name, className: className, config: config, inbound: inbound, outputShape: shape))
            return name
        }
        func rescaling(_ scale: Double, offset: Double = 0) -> [(String, JSONValue)] { [("scale", .double(scale)), ("offset", .double(offset))] }
        if kind == .quickGelu { // x · sigmoid(1.702·x)
            let scaled = helper("scaled", "Rescaling", rescaling(1.702), [x])
            let gate = helper("gate", "Activation", [("activation", .string("sigmoid"))], [scaled])
            l.emit(KerasLayer(name: base, className: "Multiply", config: [], inbound: [x, gate], outputShape: shape), producing: node)
            return
        }
        let cube = helper("cube", "Multiply", [], [x, x, x])
        let cubic = helper("cubic", "Rescaling", rescaling(0.044715), [cube])
        let inner = helper("inner", "Add", [], [x, cubic])
        let scaled = helper("scaled", "Rescaling", rescaling(0.79788456080286535588), [inner]) // √(2/π)
        let tanh = helper("tanh", "Activation", [("activation", .string("tanh"))], [scaled])
        let half = helper("half", "Rescaling", rescaling(0.5, offset: 0.5), [tanh])
        l.emit(KerasLayer(name: base, className: "Multiply", config: [], inbound: [x, half], outputShape: shape), producing: node)
    }

    public func isNonNegative(_ node: Node, in graph: Graph) -> Bool { kind.isNonNegative }
}

extension GraphBuilder {
    /// An activation module (in a Sequential it takes the next index) or functional call.
    public func activation(_ x: Value, _ kind: ActivationKind, torch: String? = nil, keras: String? = nil) -> Value {
        add(ActivationOp(kind: kind), [x], module: false, torch: torch, keras: keras, shape: shape(x), layout: layout(x))
    }
}
