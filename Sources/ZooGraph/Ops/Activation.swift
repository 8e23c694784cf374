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
        l.emit(l.layer(for: node, className: "Activation", config: [("activation", .string(try kerasActivation(kind, node)))]), producing: node)
    }

    public func isNonNegative(_ node: Node, in graph: Graph) -> Bool { kind.isNonNegative }
}

extension GraphBuilder {
    /// An activation module (in a Sequential it takes the next index) or functional call.
    public func activation(_ x: Value, _ kind: ActivationKind, torch: String? = nil, keras: String? = nil) -> Value {
        add(ActivationOp(kind: kind), [x], module: false, torch: torch, keras: keras, shape: shape(x), layout: layout(x))
    }
}
