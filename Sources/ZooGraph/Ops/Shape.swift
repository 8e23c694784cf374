// Ops that move no numbers: `torch.flatten(x, 1)` and dropout (the identity at inference).
// Keras: Flatten (whose H,W,C order the Linear after it accounts for), Dropout.
import ZooCore
import ZooKernels

public struct FlattenOp: GraphOp, Equatable {
    public var opName: String { "flatten" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        var x = inputs.take(0)
        x.shape = [x.shape[0], x.shape.dropFirst().reduce(1, *)]
        return x
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "Flatten", config: [("data_format", .string("channels_last"))]), producing: node)
    }

    public func isNonNegative(_ node: Node, in graph: Graph) -> Bool { graph.isNonNegative(node.inputs[0]) }
}

public struct DropoutOp: GraphOp, Equatable {
    public var rate: Double

    public var opName: String { "dropout" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        inputs.take(0)
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "Dropout", config: [("rate", .double(rate))]), producing: node)
    }

    public func isNonNegative(_ node: Node, in graph: Graph) -> Bool { graph.isNonNegative(node.inputs[0]) }
}

extension GraphBuilder {
    /// `torch.flatten(x, 1)`.
    public func flatten(_ x: Value, keras: String? = nil) -> Value {
        let s = shape(x)
        let layout: ValueLayout
        if case .channelsFirst = self.layout(x), s.count == 3, s[1] * s[2] > 1 {
            layout = .flattenedChannelsFirst(channels: s[0], height: s[1], width: s[2])
        } else {
            layout = .same
        }
        return add(FlattenOp(), [x], module: false, torch: nil, keras: keras, shape: [s.reduce(1, *)], layout: layout)
    }

    /// `nn.Dropout(p)`: the identity at inference; in a Sequential it takes the next index.
    public func dropout(_ x: Value, keras: String? = nil, rate: Double) -> Value {
        add(DropoutOp(rate: rate), [x], module: false, torch: nil, keras: keras, shape: shape(x), layout: layout(x))
    }
}

/// One column of the last axis: [T, n] → [T] (`x[..., index]`, how question answering splits
/// its two logits). Keras: Permute((2, 1)) → Cropping1D keeping row `index` → Reshape([-1]),
/// which moves numbers and computes none.
public struct PickLastOp: GraphOp, Equatable {
    public var index: Int
    public var count: Int

    public var opName: String { "pick" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        guard x.shape.last == count, x.shape.count >= 2 else {
            throw ZooError(.mismatch, "expected a last axis of \(count), found \(shapeDescription(x.shape))")
        }
        let rows = x.count / count
        return FloatTensor(shape: Array(x.shape.dropLast()), data: (0..<rows).map { x.data[$0 * count + index] })
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        let base = node.kerasName
        l.emit(KerasLayer(name: base + "_permute", className: "Permute", config: [("dims", .array([.int(2), .int(1)]))],
                          inbound: [l.input(node)], outputShape: [count, -1]))
        l.emit(KerasLayer(name: base + "_crop", className: "Cropping1D", config: [("cropping", .array([.int(index), .int(count - 1 - index)]))],
                          inbound: [base + "_permute"], outputShape: [1, -1]))
        l.emit(KerasLayer(name: base, className: "Reshape", config: [("target_shape", .array([.int(-1)]))],
                          inbound: [base + "_crop"], outputShape: [-1]), producing: node)
    }
}

extension GraphBuilder {
    /// Column `index` of the last axis of [T, n].
    public func pickLast(_ x: Value, _ index: Int, keras: String? = nil) -> Value {
        let s = shape(x)
        if s.count != 2 || index >= s[1] { fail("\(keras ?? "pick"): expected [T, n] with n above \(index), found \(shapeDescription(s))") }
        return add(PickLastOp(index: index, count: s.last ?? 0), [x], module: false, torch: nil, keras: keras, shape: Array(s.dropLast()), layout: .same)
    }
}
