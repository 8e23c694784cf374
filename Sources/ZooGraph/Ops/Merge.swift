// Element-wise merges of equal shapes: the residual `x + y`. Keras: Add.
import ZooCore
import ZooKernels

public struct AddOp: GraphOp, Equatable {
    public var opName: String { "add" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        var a = inputs.take(0)
        for i in 1..<inputs.count {
            let b = inputs[i]
            guard a.shape == b.shape else { throw ZooError(.mismatch, "expected equal shapes to add, found \(shapeDescription(a.shape)) and \(shapeDescription(b.shape))") }
            Elementwise.add(&a.data, b.data)
        }
        return a
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "Add", config: []), producing: node)
    }

    public func isNonNegative(_ node: Node, in graph: Graph) -> Bool { node.inputs.allSatisfy(graph.isNonNegative) }
}

extension GraphBuilder {
    /// `a + b` (a functional call).
    public func add(_ a: Value, _ b: Value, keras: String? = nil) -> Value {
        if shape(a) != shape(b) { fail("\(keras ?? "add"): expected equal shapes to add, found \(shape(a)) and \(shape(b))") }
        return add(AddOp(), [a, b], module: false, torch: nil, keras: keras, shape: shape(a), layout: layout(a))
    }
}

/// The mean of equal shapes, `(a + b) / 2` as DeiT averages its two heads. Keras: Average (the
/// sum in order, then divided by the count).
public struct AverageOp: GraphOp, Equatable {
    public var opName: String { "average" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let n = Float(inputs.count)
        var a = try AddOp().torchForward(&inputs, weights, node)
        for i in a.data.indices { a.data[i] /= n }
        return a
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "Average", config: []), producing: node)
    }
}

extension GraphBuilder {
    /// `(a + b) / 2` (a functional call).
    public func average(_ a: Value, _ b: Value, keras: String? = nil) -> Value {
        if shape(a) != shape(b) { fail("\(keras ?? "average"): expected equal shapes to average, found \(shape(a)) and \(shape(b))") }
        return add(AverageOp(), [a, b], module: false, torch: nil, keras: keras, shape: shape(a), layout: layout(a))
    }
}
