// The pieces of a transformer encoder: nn.Embedding, self-attention (Hugging Face's separate
// query/key/value/output Linears, or nn.MultiheadAttention's packed in_proj) with a key padding
// mask, and the first-token pool of BERT's pooler. Keras: Embedding, MultiHeadAttention (the
// mask as its `attention_mask`), and a stride-`maxLength` MaxPooling1D + Flatten.
import ZooCore
import ZooKernels

public struct EmbeddingOp: GraphOp, Equatable {
    public var count: Int
    public var dimension: Int

    public var opName: String { "embedding" }

    public func parameters(of node: Node, in graph: Graph) -> [ParameterSpec] {
        [node.parameter("weight", [count, dimension], keras: "embeddings", .identity, role: .table)]
    }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let ids = inputs[0]
        return FloatTensor(shape: ids.shape + [dimension],
                           data: try Dense.embedding(ids.data, table: weights[node.torchPath + ".weight"], count: count, width: dimension, layer: node.torchPath))
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "Embedding", config: [("input_dim", .int(count)), ("output_dim", .int(dimension))],
                       weightOrder: ["embeddings"]), producing: node)
    }
}

public struct AttentionOp: GraphOp, Equatable {
    public var dimension: Int
    public var heads: Int
    /// Module paths of the separate query, key, value and output projections (Hugging Face
    /// `attention.self.query` …), or nil for a fused `nn.MultiheadAttention` at the node's path.
    public var projections: Projections?
    /// GPT-2's attention: one `Conv1D` (weight (d, 3d), stored in × out) packing q, k, v along its
    /// output, and a `Conv1D` output projection; takes precedence over `projections`.
    public var conv1D: Conv1DProjections?
    /// Query t attends to keys 0…t only (a decoder's causal mask; Keras: `use_causal_mask=True`
    /// in the call).
    public var causal = false

    public struct Conv1DProjections: Equatable, Sendable {
        public var packed: String
        public var output: String

        public init(packed: String, output: String) {
            self.packed = packed
            self.output = output
        }
    }

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
    public var opName: String { "attention" }

    public func parameters(of node: Node, in graph: Graph) -> [ParameterSpec] {
        let d = dimension, h = heads
        if let c = conv1D {
            let names = ["query", "key", "value"]
            return (0..<3).map { node.parameter("weight", [d, 3 * d], keras: "\(names[$0])/kernel", .columns(part: $0, of: 3, then: .inOutHeadsKernel(heads: h)),
                                                role: .weight, module: c.packed) }
                + (0..<3).map { node.parameter("bias", [3 * d], keras: "\(names[$0])/bias", .slice(part: $0, of: 3, then: .headsBias(heads: h)),
                                               role: .bias, module: c.packed) }
                + [node.parameter("weight", [d, d], keras: "attention_output/kernel", .inOutHeadsOutputKernel(heads: h), role: .weight, module: c.output),
                   node.parameter("bias", [d], keras: "attention_output/bias", .identity, role: .bias, module: c.output)]
        }
        if let p = projections {
            return [node.parameter("weight", [d, d], keras: "query/kernel", .headsKernel(heads: h), role: .weight, module: p.query),
                    node.parameter("bias", [d], keras: "query/bias", .headsBias(heads: h), role: .bias, module: p.query),
                    node.parameter("weight", [d, d], keras: "key/kernel", .headsKernel(heads: h), role: .weight, module: p.key),
                    node.parameter("bias", [d], keras: "key/bias", .headsBias(heads: h), role: .bias, module: p.key),
                    node.parameter("weight", [d, d], keras: "value/kernel", .headsKernel(heads: h), role: .weight, module: p.value),
                    node.parameter("bias", [d], keras: "value/bias", .headsBias(heads: h), role: .bias, module: p.value),
                    node.parameter("weight", [d, d], keras: "attention_output/kernel", .headsOutputKernel(heads: h), role: .weight, module: p.output),
                    node.parameter("bias", [d], keras: "attention_output/bias", .identity, role: .bias, module: p.output)]
        }
        // nn.MultiheadAttention: one packed in_proj, sliced three ways.
        let out = node.torchPath + ".out_proj"
        return [node.parameter("in_proj_weight", [3 * d, d], keras: "query/kernel", .slice(part: 0, of: 3, then: .headsKernel(heads: h)), role: .weight),
                node.parameter("in_proj_weight", [3 * d, d], keras: "key/kernel", .slice(part: 1, of: 3, then: .headsKernel(heads: h)), role: .weight),
                node.parameter("in_proj_weight", [3 * d, d], keras: "value/kernel", .slice(part: 2, of: 3, then: .headsKernel(heads: h)), role: .weight),
                node.parameter("in_proj_bias", [3 * d], keras: "query/bias", .slice(part: 0, of: 3, then: .headsBias(heads: h)), role: .bias),
                node.parameter("in_proj_bias", [3 * d], keras: "key/bias", .slice(part: 1, of: 3, then: .headsBias(heads: h)), role: .bias),
                node.parameter("in_proj_bias", [3 * d], keras: "value/bias", .slice(part: 2, of: 3, then: .headsBias(heads: h)), role: .bias),
                node.parameter("weight", [d, d], keras: "attention_output/kernel", .headsOutputKernel(heads: h), role: .weight, module: out),
                node.parameter("bias", [d], keras: "attention_output/bias", .identity, role: .bias, module: out)]
    }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        guard x.shape.count == 3, x.shape[2] == dimension else {
            throw ZooError(.mismatch, "expected hidden states [N, T, \(dimension)], found \(shapeDescription(x.shape))")
        }
        let (n, t, d) = (x.shape[0], x.shape[1], dimension)
        var keep: [Bool]?
        if inputs.count > 1 {
            let mask = inputs[1]
            guard mask.shape == [n, t] else { throw ZooError(.mismatch, "expected an attention mask [\(n), \(t)], found \(shapeDescription(mask.shape))") }
            keep = mask.data.map { $0 != 0 }
        }
        let rows = n * t
        let q, k, v: [Float]
        var outWeight: [Float], outBias: [Float]
        var outputInOut = false
        if let c = conv1D {
            // Conv1D: x·W + b with W (d, 3d); q, k, v are its column blocks
            let packed = Dense.dense(x.data, rows: rows, kernel: weights[c.packed + ".weight"], bias: weights[c.packed + ".bias"],
                                     inFeatures: d, outFeatures: 3 * d)
            func part(_ i: Int) -> [Float] {
                var out = [Float](repeating: 0, count: rows * d)
                for r in 0..<rows { for j in 0..<d { out[r * d + j] = packed[r * 3 * d + i * d + j] } }
                return out
            }
            (q, k, v) = (part(0), part(1), part(2))
            (outWeight, outBias, outputInOut) = (weights[c.output + ".weight"], weights[c.output + ".bias"], true)
        } else if let names = projections {
            func project(_ m: String) -> [Float] {
                Dense.linear(x.data, rows: rows, weight: weights[m + ".weight"], bias: weights[m + ".bias"], inFeatures: d, outFeatures: d)
            }
            (q, k, v) = (project(names.query), project(names.key), project(names.value))
            (outWeight, outBias) = (weights[names.output + ".weight"], weights[names.output + ".bias"])
        } else {
            // nn.MultiheadAttention: in_proj rows are q, then k, then v
            let p = node.torchPath
            let packed = weights[p + ".in_proj_weight"], packedBias = weights[p + ".in_proj_bias"]
            func part(_ i: Int) -> [Float] {
                Dense.linear(x.data, rows: rows, weight: Array(packed[(i * d * d)..<((i + 1) * d * d)]),
                             bias: Array(packedBias[(i * d)..<((i + 1) * d)]), inFeatures: d, outFeatures: d)
            }
            (q, k, v) = (part(0), part(1), part(2))
            (outWeight, outBias) = (weights[p + ".out_proj.weight"], weights[p + ".out_proj.bias"])
        }
        let context = Attention.scaledDotProduct(q: q, k: k, v: v, batch: n, steps: t, heads: heads, keyDim: headDimension,
                                                 valueDim: headDimension, keep: keep, maskedScore: -Float.greatestFiniteMagnitude, causal: causal)
        if outputInOut {
            return FloatTensor(shape: [n, t, d], data: Dense.dense(context, rows: rows, kernel: outWeight, bias: outBias, inFeatures: d, outFeatures: d))
        }
        return FloatTensor(shape: [n, t, d], data: Dense.linear(context, rows: rows, weight: outWeight, bias: outBias, inFeatures: d, outFeatures: d))
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        var layer = l.layer(for: node, className: "MultiHeadAttention", config: [
            ("num_heads", .int(heads)), ("key_dim", .int(headDimension)), ("value_dim", .int(headDimension)), ("use_bias", .bool(true)),
        ], weightOrder: ["query/kernel", "query/bias", "key/kernel", "key/bias", "value/kernel", "value/bias",
                         "attention_output/kernel", "attention_output/bias"])
        layer.inbound = [l.input(node), l.input(node)] + (node.inputs.count > 1 ? [l.input(node, 1)] : [])
        if causal { layer.callOptions = [("use_causal_mask", .bool(true))] }
        l.emit(layer, producing: node)
    }
}

/// Row 0 of [T, D] → [D] (BERT's pooler input). `maxLength` bounds T, which lets Keras take the
/// row with core layers (a stride-`maxLength` pool of size 1).
public struct FirstTokenOp: GraphOp, Equatable {
    public var maxLength: Int

    public var opName: String { "first_token" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        guard x.shape.count == 3, x.shape[1] > 0 else { throw ZooError(.mismatch, "expected hidden states [N, T, D] with T ≥ 1, found \(shapeDescription(x.shape))") }
        let (n, t, d) = (x.shape[0], x.shape[1], x.shape[2])
        var y = [Float](repeating: 0, count: n * d)
        for i in 0..<n { for j in 0..<d { y[i * d + j] = x.data[i * t * d + j] } }
        return FloatTensor(shape: [n, d], data: y)
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        // x[:, 0] with core layers only: a size-1 pool whose stride exceeds any sequence length
        // keeps exactly the first step ([T, D] → [1, D]); Flatten drops the axis.
        let d = node.shape[0]
        l.emit(KerasLayer(name: node.kerasName, className: "MaxPooling1D",
                          config: [("pool_size", .array([.int(1)])), ("strides", .array([.int(maxLength)])),
                                   ("padding", .string("valid")), ("data_format", .string("channels_last"))],
                          inbound: [l.input(node)], outputShape: [1, d]))
        l.emit(KerasLayer(name: l.uniqueName(node.kerasName + "_flatten"), className: "Flatten",
                          config: [("data_format", .string("channels_last"))], inbound: [node.kerasName], outputShape: [d]), producing: node)
    }
}

extension GraphBuilder {
    /// `nn.Embedding(count, dimension)` of integer ids.
    public func embedding(_ ids: Value, torch: String? = nil, keras: String? = nil, count: Int, dimension: Int) -> Value {
        add(EmbeddingOp(count: count, dimension: dimension), [ids], module: true, torch: torch, keras: keras,
            shape: shape(ids) + [dimension], layout: .same)
    }

    /// Self-attention on `x` ([T, D]); `mask` ([T], 1 = attend, 0 = padding) is optional.
    public func attention(_ x: Value, mask: Value?, torch: String? = nil, keras: String? = nil, heads: Int,
                          projections: AttentionOp.Projections?, conv1D: AttentionOp.Conv1DProjections? = nil, causal: Bool = false) -> Value {
        let s = shape(x)
        let d = s[s.count - 1]
        if heads <= 0 || d % heads != 0 { fail("\(keras ?? "attention"): expected a hidden size divisible by the number of heads, found \(d) and \(heads) heads") }
        var op = AttentionOp(dimension: d, heads: max(heads, 1), projections: projections)
        (op.conv1D, op.causal) = (conv1D, causal)
        return add(op, [x] + (mask.map { [$0] } ?? []), module: true, torch: torch, keras: keras, shape: s, layout: .same)
    }

    public func firstToken(_ x: Value, keras: String? = nil, maxLength: Int) -> Value {
        add(FirstTokenOp(maxLength: maxLength), [x], module: false, torch: nil, keras: keras, shape: Array(shape(x).dropFirst()), layout: .same)
    }
}
