// What a Hugging Face encoder computes from its token ids without a module: position ids
// (`arange(T)` for BERT; RoBERTa's `cumsum(ids != pad) · (ids != pad) + pad`) and the all-zero
// token types BERT uses when none are given. The Keras model computes them too, from
// `input_ids`, with core layers and fixed weights, so a Keras user passes only `input_ids` and
// `attention_mask`, as a Hugging Face user does:
//
//   ids → Embedding(vocab, 1) with a fixed table (1 per token, 0 for the padding token) → m [T, 1]
//       → Conv1D(1, kernel L, causal, no bias) with a kernel of ones: the running sum of m
//         (exact in float32 for T ≤ L, the position table's length)
//       → (RoBERTa: × m) → Rescaling(offset) → Reshape to [T]
//
// Keras's Embedding casts the float positions (whole numbers) to int32 for the lookup.
import ZooCore
import ZooKernels

public struct TokenPositionsOp: GraphOp, Equatable {
    public enum Mode: Equatable, Sendable {
        /// `arange(T) + offset`, whatever the tokens (BERT).
        case sequential(offset: Int)
        /// `cumsum(m) · m + paddingIndex` with m = (ids != paddingIndex) (RoBERTa, XLM-R).
        case skippingPadding(paddingIndex: Int)
    }
    public var mode: Mode
    /// Token ids lie in 0..<vocabulary.
    public var vocabulary: Int
    /// The position table's length: sequences may be that long at most.
    public var maxLength: Int

    public var opName: String { "positions" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let ids = inputs[0]
        guard ids.shape.count == 2 else { throw ZooError(.mismatch, "expected token ids [N, T], found \(shapeDescription(ids.shape))") }
        let (n, t) = (ids.shape[0], ids.shape[1])
        var out = [Float](repeating: 0, count: n * t)
        for b in 0..<n {
            var running = 0
            for i in 0..<t {
                switch mode {
                case .sequential(let offset):
                    out[b * t + i] = Float(i + offset)
                case .skippingPadding(let pad):
                    let keep = ids.data[b * t + i] != Float(pad)
                    if keep { running += 1 }
                    out[b * t + i] = Float((keep ? running : 0) + pad)
                }
            }
        }
        return FloatTensor(shape: [n, t], data: out)
    }

    var padding: Int? { if case .skippingPadding(let p) = mode { return p }; return nil }
    var offset: Int {
        switch mode {
        case .sequential(let offset): return offset - 1 // the running sum starts at 1
        case .skippingPadding(let pad): return pad
        }
    }

    public func constants(of node: Node, in graph: Graph) -> [KerasConstant] {
        var table = [Float](repeating: 1, count: vocabulary)
        if let pad = padding, pad < vocabulary { table[pad] = 0 }
        return [KerasConstant(layer: node.kerasName + "_tokens", weight: "embeddings", shape: [vocabulary, 1], values: table),
                KerasConstant(layer: node.kerasName + "_count", weight: "kernel", shape: [maxLength, 1, 1],
                              values: [Float](repeating: 1, count: maxLength))]
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        let base = node.kerasName
        l.emit(KerasLayer(name: base + "_tokens", className: "Embedding", config: [("input_dim", .int(vocabulary)), ("output_dim", .int(1))],
                          inbound: [l.input(node)], weights: [("embeddings", [vocabulary, 1])], outputShape: [-1, 1]))
        l.emit(KerasLayer(name: base + "_count", className: "Conv1D", config: [
            ("filters", .int(1)), ("kernel_size", .array([.int(maxLength)])), ("strides", .array([.int(1)])), ("padding", .string("causal")),
            ("data_format", .string("channels_last")), ("dilation_rate", .array([.int(1)])), ("groups", .int(1)),
            ("activation", .string("linear")), ("use_bias", .bool(false)),
        ], inbound: [base + "_tokens"], weights: [("kernel", [maxLength, 1, 1])], outputShape: [-1, 1]))
        var last = base + "_count"
        if padding != nil {
            l.emit(KerasLayer(name: base + "_masked", className: "Multiply", config: [], inbound: [last, base + "_tokens"], outputShape: [-1, 1]))
            last = base + "_masked"
        }
        l.emit(KerasLayer(name: base + "_offset", className: "Rescaling", config: [("scale", .double(1)), ("offset", .double(Double(offset)))],
                          inbound: [last], outputShape: [-1, 1]))
        l.emit(KerasLayer(name: base, className: "Reshape", config: [("target_shape", .array([.int(-1)]))],
                          inbound: [base + "_offset"], outputShape: [-1]), producing: node)
    }
}

/// The all-zero token types of a model called without `token_type_ids` (BERT's default).
public struct ZeroTokenTypesOp: GraphOp, Equatable {
    public var vocabulary: Int

    public var opName: String { "token_types" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        FloatTensor(zeros: inputs[0].shape)
    }

    public func constants(of node: Node, in graph: Graph) -> [KerasConstant] {
        [KerasConstant(layer: node.kerasName + "_zeros", weight: "embeddings", shape: [vocabulary, 1], values: [Float](repeating: 0, count: vocabulary))]
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(KerasLayer(name: node.kerasName + "_zeros", className: "Embedding", config: [("input_dim", .int(vocabulary)), ("output_dim", .int(1))],
                          inbound: [l.input(node)], weights: [("embeddings", [vocabulary, 1])], outputShape: [-1, 1]))
        l.emit(KerasLayer(name: node.kerasName, className: "Reshape", config: [("target_shape", .array([.int(-1)]))],
                          inbound: [node.kerasName + "_zeros"], outputShape: [-1]), producing: node)
    }
}

extension GraphBuilder {
    /// Position ids computed from token ids (see `TokenPositionsOp`).
    public func positions(of ids: Value, _ mode: TokenPositionsOp.Mode, vocabulary: Int, maxLength: Int, keras: String? = nil) -> Value {
        add(TokenPositionsOp(mode: mode, vocabulary: vocabulary, maxLength: maxLength), [ids], module: false, torch: nil,
            keras: keras, shape: shape(ids), layout: .same)
    }

    /// Token types of zero for every token.
    public func zeroTokenTypes(like ids: Value, vocabulary: Int, keras: String? = nil) -> Value {
        add(ZeroTokenTypesOp(vocabulary: vocabulary), [ids], module: false, torch: nil, keras: keras, shape: shape(ids), layout: .same)
    }
}
