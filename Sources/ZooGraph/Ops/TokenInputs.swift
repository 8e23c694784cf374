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

/// Each row's value at its last token that is not padding, as GPT2ForSequenceClassification
/// pools its logits: position max({0} ∪ {t : ids[t] ≠ pad}) — the argmax of t·(ids ≠ pad), which
/// is 0 for a row of padding alone — or, with no padding token, the last position. Inputs: the
/// token ids [T] and the values [T, D]; output [D].
///
/// Keras, with core layers and fixed weights (whole numbers, exact in float32 for T ≤ L):
///
///   ids → Embedding (1 per token, 0 for padding) → m [T, 1]
///   ids → Embedding (all 1) → Conv1D(causal, kernel L of −1, bias 2, relu) → relu(1 − t): 1 at t = 0
///   Maximum → m′ (position 0 always counts)
///   → ZeroPadding1D((0, L − 1)) → Conv1D(valid, kernel L of −1, bias 2, relu) → relu(2 − Σ_{u≥t} m′_u)
///   × m′ → w, one-hot at the last counted position → Dot(axes=1) with the values → Reshape [D]
public struct LastTokenOp: GraphOp, Equatable {
    /// nil: no padding token (the last position).
    public var paddingIndex: Int?
    public var vocabulary: Int
    public var maxLength: Int

    public var opName: String { "last_token" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let (ids, x) = (inputs[0], inputs[1])
        guard ids.shape.count == 2, x.shape.count == 3, x.shape[0] == ids.shape[0], x.shape[1] == ids.shape[1], ids.shape[1] > 0 else {
            throw ZooError(.mismatch, "expected token ids [N, T] and values [N, T, D], found \(shapeDescription(ids.shape)) and \(shapeDescription(x.shape))")
        }
        let (n, t, d) = (x.shape[0], x.shape[1], x.shape[2])
        var y = [Float](repeating: 0, count: n * d)
        for b in 0..<n {
            var last = t - 1
            if let pad = paddingIndex {
                last = 0
                for i in 0..<t where ids.data[b * t + i] != Float(pad) { last = i }
            }
            for j in 0..<d { y[b * d + j] = x.data[(b * t + last) * d + j] }
        }
        return FloatTensor(shape: [n, d], data: y)
    }

    public func constants(of node: Node, in graph: Graph) -> [KerasConstant] {
        let base = node.kerasName
        var tokens = [Float](repeating: 1, count: vocabulary)
        if let pad = paddingIndex, (0..<vocabulary).contains(pad) { tokens[pad] = 0 }
        let minusOnes = [Float](repeating: -1, count: maxLength)
        return [KerasConstant(layer: base + "_tokens", weight: "embeddings", shape: [vocabulary, 1], values: tokens),
                KerasConstant(layer: base + "_ones", weight: "embeddings", shape: [vocabulary, 1], values: [Float](repeating: 1, count: vocabulary)),
                KerasConstant(layer: base + "_first", weight: "kernel", shape: [maxLength, 1, 1], values: minusOnes),
                KerasConstant(layer: base + "_first", weight: "bias", shape: [1], values: [2]),
                KerasConstant(layer: base + "_last", weight: "kernel", shape: [maxLength, 1, 1], values: minusOnes),
                KerasConstant(layer: base + "_last", weight: "bias", shape: [1], values: [2])]
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        let base = node.kerasName, ids = l.input(node), values = l.input(node, 1), d = node.kerasShape[0]
        func conv(_ name: String, _ input: String, padding: String, length: Int) -> KerasLayer {
            KerasLayer(name: name, className: "Conv1D", config: [
                ("filters", .int(1)), ("kernel_size", .array([.int(maxLength)])), ("strides", .array([.int(1)])), ("padding", .string(padding)),
                ("data_format", .string("channels_last")), ("dilation_rate", .array([.int(1)])), ("groups", .int(1)),
                ("activation", .string("relu")), ("use_bias", .bool(true)),
            ], inbound: [input], weights: [("kernel", [maxLength, 1, 1]), ("bias", [1])], outputShape: [length, 1])
        }
        func embedding(_ name: String) -> KerasLayer {
            KerasLayer(name: name, className: "Embedding", config: [("input_dim", .int(vocabulary)), ("output_dim", .int(1))],
                       inbound: [ids], weights: [("embeddings", [vocabulary, 1])], outputShape: [-1, 1])
        }
        l.emit(embedding(base + "_tokens"))
        l.emit(embedding(base + "_ones"))
        l.emit(conv(base + "_first", base + "_ones", padding: "causal", length: -1))
        l.emit(KerasLayer(name: base + "_kept", className: "Maximum", config: [], inbound: [base + "_tokens", base + "_first"], outputShape: [-1, 1]))
        l.emit(KerasLayer(name: base + "_suffix_pad", className: "ZeroPadding1D",
                          config: [("padding", .array([.int(0), .int(maxLength - 1)])), ("data_format", .string("channels_last"))],
                          inbound: [base + "_kept"], outputShape: [-1, 1]))
        l.emit(conv(base + "_last", base + "_suffix_pad", padding: "valid", length: -1))
        l.emit(KerasLayer(name: base + "_weight", className: "Multiply", config: [], inbound: [base + "_kept", base + "_last"], outputShape: [-1, 1]))
        l.emit(KerasLayer(name: base + "_dot", className: "Dot", config: [("axes", .int(1)), ("normalize", .bool(false))],
                          inbound: [base + "_weight", values], outputShape: [1, d]))
        l.emit(KerasLayer(name: base, className: "Reshape", config: [("target_shape", .array([.int(d)]))], inbound: [base + "_dot"],
                          outputShape: [d]), producing: node)
    }
}

extension GraphBuilder {
    /// The values [T, D] at each row's last token that is not padding (see `LastTokenOp`).
    public func lastToken(_ x: Value, ids: Value, paddingIndex: Int?, vocabulary: Int, maxLength: Int, keras: String? = nil) -> Value {
        let s = shape(x)
        if s.count != 2 { fail("\(keras ?? "last_token"): expected values [T, D], found \(shapeDescription(s))") }
        return add(LastTokenOp(paddingIndex: paddingIndex, vocabulary: vocabulary, maxLength: maxLength), [ids, x], module: false, torch: nil,
                   keras: keras, shape: [s.last ?? 0], layout: .same)
    }
}

/// Each row's value at CLIP's end-of-text token: the first position of the greatest id (`argmax`
/// of the ids, as transformers pools a config whose eos_token_id is the legacy 2, the end token
/// being the vocabulary's last), or the first position of `eos` (0 when a row has none). Inputs:
/// the token ids [T] and the values [T, D]; output [D].
///
/// Keras, with core layers and fixed weights (whole numbers, exact in float32):
///
///   argmax: ids → Embedding (id i → i) → v; GlobalMaxPooling1D(keepdims) → M;
///           Rescaling(−1, +1) → 1 − M; Add → v − M + 1; ReLU → e, 1 where the id is greatest
///   eos:    ids → Embedding (1 for eos) → e
///   e → Conv1D(causal, kernel L of −1, bias 2, relu) → relu(2 − Σ_{u≤t} e_u); × e → w, one-hot at the first
///   eos, none found: w + onehot(0)·(1 − max w) (GlobalMaxPooling1D, Rescaling, Multiply, Add)
///   → Dot(axes=1) with the values → Reshape [D]
public struct EndTokenOp: GraphOp, Equatable {
    /// nil: the greatest id (legacy); else the end-of-text token's id.
    public var eos: Int?
    public var vocabulary: Int
    public var maxLength: Int

    public var opName: String { "end_token" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let (ids, x) = (inputs[0], inputs[1])
        guard ids.shape.count == 2, x.shape.count == 3, x.shape[0] == ids.shape[0], x.shape[1] == ids.shape[1], ids.shape[1] > 0 else {
            throw ZooError(.mismatch, "expected token ids [N, T] and values [N, T, D], found \(shapeDescription(ids.shape)) and \(shapeDescription(x.shape))")
        }
        let (n, t, d) = (x.shape[0], x.shape[1], x.shape[2])
        var y = [Float](repeating: 0, count: n * d)
        for b in 0..<n {
            let row = Array(ids.data[(b * t)..<((b + 1) * t)])
            let at: Int
            if let eos { at = row.firstIndex(of: Float(eos)) ?? 0 } else { at = row.firstIndex(of: row.max()!)! }
            for j in 0..<d { y[b * d + j] = x.data[(b * t + at) * d + j] }
        }
        return FloatTensor(shape: [n, d], data: y)
    }

    public func constants(of node: Node, in graph: Graph) -> [KerasConstant] {
        let base = node.kerasName, minusOnes = [Float](repeating: -1, count: maxLength)
        var out = [KerasConstant(layer: base + "_first", weight: "kernel", shape: [maxLength, 1, 1], values: minusOnes),
                   KerasConstant(layer: base + "_first", weight: "bias", shape: [1], values: [2])]
        if let eos {
            var table = [Float](repeating: 0, count: vocabulary)
            if (0..<vocabulary).contains(eos) { table[eos] = 1 }
            out += [KerasConstant(layer: base + "_ends", weight: "embeddings", shape: [vocabulary, 1], values: table),
                    KerasConstant(layer: base + "_ones", weight: "embeddings", shape: [vocabulary, 1], values: [Float](repeating: 1, count: vocabulary)),
                    KerasConstant(layer: base + "_start", weight: "kernel", shape: [maxLength, 1, 1], values: minusOnes),
                    KerasConstant(layer: base + "_start", weight: "bias", shape: [1], values: [2])]
        } else {
            out.append(KerasConstant(layer: base + "_ids", weight: "embeddings", shape: [vocabulary, 1], values: (0..<vocabulary).map(Float.init)))
        }
        return out
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        let base = node.kerasName, ids = l.input(node), values = l.input(node, 1), d = node.kerasShape[0]
        func emit(_ suffix: String, _ className: String, _ config: [(String, JSONValue)], _ inbound: [String], _ shape: [Int],
                  weights: [(name: String, shape: [Int])] = []) -> String {
            l.emit(KerasLayer(name: base + suffix, className: className, config: config, inbound: inbound, weights: weights, outputShape: shape))
            return base + suffix
        }
        func embedding(_ suffix: String) -> String {
            emit(suffix, "Embedding", [("input_dim", .int(vocabulary)), ("output_dim", .int(1))], [ids], [-1, 1], weights: [("embeddings", [vocabulary, 1])])
        }
        func firstOf(_ suffix: String, _ input: String) -> String {
            emit(suffix, "Conv1D", [("filters", .int(1)), ("kernel_size", .array([.int(maxLength)])), ("strides", .array([.int(1)])),
                                    ("padding", .string("causal")), ("data_format", .string("channels_last")), ("dilation_rate", .array([.int(1)])),
                                    ("groups", .int(1)), ("activation", .string("relu")), ("use_bias", .bool(true))],
                 [input], [-1, 1], weights: [("kernel", [maxLength, 1, 1]), ("bias", [1])])
        }
        func maxPool(_ suffix: String, _ input: String) -> String {
            emit(suffix, "GlobalMaxPooling1D", [("data_format", .string("channels_last")), ("keepdims", .bool(true))], [input], [1, 1])
        }
        func oneMinus(_ suffix: String, _ input: String) -> String {
            emit(suffix, "Rescaling", [("scale", .double(-1)), ("offset", .double(1))], [input], [1, 1])
        }
        var ends: String
        if eos != nil {
            ends = embedding("_ends")
        } else {
            let v = embedding("_ids")
            let shifted = emit("_shifted", "Add", [], [v, oneMinus("_one_minus_max", maxPool("_max", v))], [-1, 1])
            ends = emit("_greatest", "Activation", [("activation", .string("relu"))], [shifted], [-1, 1])
        }
        var weight = emit("_weight", "Multiply", [], [ends, firstOf("_first", ends)], [-1, 1])
        if eos != nil {
            // no end token in a row: position 0, as argmax of all zeros gives
            let start = firstOf("_start", embedding("_ones"))
            let missing = emit("_missing", "Multiply", [], [start, oneMinus("_none", maxPool("_found", weight))], [-1, 1])
            weight = emit("_pick", "Add", [], [weight, missing], [-1, 1])
        }
        ends = emit("_dot", "Dot", [("axes", .int(1)), ("normalize", .bool(false))], [weight, values], [1, d])
        l.emit(KerasLayer(name: base, className: "Reshape", config: [("target_shape", .array([.int(d)]))], inbound: [ends], outputShape: [d]),
               producing: node)
    }
}

extension GraphBuilder {
    /// The values [T, D] at each row's end-of-text token (see `EndTokenOp`).
    public func endToken(_ x: Value, ids: Value, eos: Int?, vocabulary: Int, maxLength: Int, keras: String? = nil) -> Value {
        let s = shape(x)
        if s.count != 2 { fail("\(keras ?? "end_token"): expected values [T, D], found \(shapeDescription(s))") }
        return add(EndTokenOp(eos: eos, vocabulary: vocabulary, maxLength: maxLength), [ids, x], module: false, torch: nil,
                   keras: keras, shape: [s.last ?? 0], layout: .same)
    }
}
