// Vision-transformer pieces: a patch map read as a sequence of tokens, a learned token put
// before them (ViT's class token), and a learned table added to them (position embeddings).
// Keras, core layers only (shared FAMILIES.md):
//   tokens       Reshape((h·w, C)) of the NHWC map: row-major patches, as PyTorch's
//                `x.reshape(n, C, h·w).permute(0, 2, 1)` of the NCHW map
//   class token  Cropping1D((0, T − 1)) keeps one token; EinsumDense("abc,c->abc") with a zero
//                kernel and the token as its bias makes it the class token (0·x + token);
//                Concatenate(axis=1) puts it first
//   table        EinsumDense("abc,c->abc", bias_axes="bc") with a kernel of ones and the table
//                as its bias: x·1 + table
import ZooCore
import ZooKernels

/// [C, H, W] → [H·W, C].
public struct PatchTokensOp: GraphOp, Equatable {
    public var opName: String { "tokens" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        guard x.shape.count == 4 else { throw ZooError(.mismatch, "expected a feature map [N, C, H, W], found \(shapeDescription(x.shape))") }
        let (n, c, hw) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
        var y = [Float](repeating: 0, count: x.count)
        for i in 0..<n {
            for ch in 0..<c {
                let from = (i * c + ch) * hw
                for t in 0..<hw { y[(i * hw + t) * c + ch] = x.data[from + t] }
            }
        }
        return FloatTensor(shape: [n, hw, c], data: y)
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "Reshape", config: [("target_shape", .array(node.shape.map(JSONValue.int)))]), producing: node)
    }
}

/// A learned [1, 1, C] parameter put before the tokens: [T, C] → [T + 1, C].
public struct ClassTokenOp: GraphOp, Equatable {
    /// The parameter's full state-dict name (`class_token`: a parameter of the model itself).
    public var parameterName: String
    public var dimension: Int
    /// Stored [C] (CLIP's `class_embedding`) rather than [1, 1, C].
    public var squeezed = false

    public var opName: String { "class_token" }

    public func parameters(of node: Node, in graph: Graph) -> [ParameterSpec] {
        [ParameterSpec(torchName: parameterName, torchShape: squeezed ? [dimension] : [1, 1, dimension], kerasLayer: node.kerasName + "_token", kerasWeight: "bias",
                       kerasShape: [1, dimension], transform: .identity, role: .table, node: node.id)]
    }

    public func constants(of node: Node, in graph: Graph) -> [KerasConstant] {
        [KerasConstant(layer: node.kerasName + "_token", weight: "kernel", shape: [dimension], values: [Float](repeating: 0, count: dimension))]
    }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        guard x.shape.count == 3, x.shape[2] == dimension else {
            throw ZooError(.mismatch, "expected tokens [N, T, \(dimension)], found \(shapeDescription(x.shape))")
        }
        let (n, t, c) = (x.shape[0], x.shape[1], dimension)
        let token = weights[parameterName]
        var y = [Float](repeating: 0, count: n * (t + 1) * c)
        for i in 0..<n {
            let base = i * (t + 1) * c
            for j in 0..<c { y[base + j] = token[j] }
            for j in 0..<(t * c) { y[base + c + j] = x.data[i * t * c + j] }
        }
        return FloatTensor(shape: [n, t + 1, c], data: y)
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        let base = node.kerasName, x = l.input(node)
        let t = l.inputNode(node).shape[0], c = dimension
        l.emit(KerasLayer(name: base + "_first", className: "Cropping1D", config: [("cropping", .array([.int(0), .int(t - 1)]))],
                          inbound: [x], outputShape: [1, c]))
        l.emit(KerasLayer(name: base + "_token", className: "EinsumDense", config: einsumConfig(tokens: 1, dimension: c),
                          inbound: [base + "_first"], weights: [("kernel", [c]), ("bias", [1, c])], outputShape: [1, c]))
        l.emit(KerasLayer(name: base, className: "Concatenate", config: [("axis", .int(1))], inbound: [base + "_token", x],
                          outputShape: [t + 1, c]), producing: node)
    }
}

/// A learned [1, T, C] table added to [T, C] tokens (`x + pos_embedding`).
public struct PositionTableOp: GraphOp, Equatable {
    /// The parameter's full state-dict name (`encoder.pos_embedding`).
    public var parameterName: String
    public var tokens: Int
    public var dimension: Int
    /// Stored [T, C] (an `nn.Embedding` of the positions, CLIP's) rather than [1, T, C].
    public var squeezed = false

    public var opName: String { "position_table" }

    public func parameters(of node: Node, in graph: Graph) -> [ParameterSpec] {
        [ParameterSpec(torchName: parameterName, torchShape: squeezed ? [tokens, dimension] : [1, tokens, dimension], kerasLayer: node.kerasName, kerasWeight: "bias",
                       kerasShape: [tokens, dimension], transform: .identity, role: .table, node: node.id)]
    }

    public func constants(of node: Node, in graph: Graph) -> [KerasConstant] {
        [KerasConstant(layer: node.kerasName, weight: "kernel", shape: [dimension], values: [Float](repeating: 1, count: dimension))]
    }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        var x = inputs.take(0)
        guard x.shape.count == 3, x.shape[1] == tokens, x.shape[2] == dimension else {
            throw ZooError(.mismatch, "expected tokens [N, \(tokens), \(dimension)] (the position table's), found \(shapeDescription(x.shape))")
        }
        let table = weights[parameterName], per = tokens * dimension
        for i in 0..<x.shape[0] {
            for j in 0..<per { x.data[i * per + j] += table[j] }
        }
        return x
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "EinsumDense", config: einsumConfig(tokens: tokens, dimension: dimension),
                       weightOrder: ["kernel", "bias"]), producing: node)
    }
}

/// `EinsumDense("abc,c->abc", output_shape=(T, C), bias_axes="bc")`: x · kernel[c] + bias[t, c].
func einsumConfig(tokens: Int, dimension: Int) -> [(String, JSONValue)] {
    [("output_shape", .array([.int(tokens), .int(dimension)])), ("equation", .string("abc,c->abc")),
     ("activation", .string("linear")), ("bias_axes", .string("bc"))]
}

extension GraphBuilder {
    /// A patch map [C, H, W] as tokens [H·W, C].
    public func patchTokens(_ x: Value, keras: String? = nil) -> Value {
        let s = shape(x)
        return add(PatchTokensOp(), [x], module: false, torch: nil, keras: keras, shape: [s[1] * s[2], s[0]], layout: .same)
    }

    /// A learned token (`parameter`, [1, 1, C]) before the tokens.
    public func classToken(_ x: Value, parameter: String, keras: String? = nil, squeezed: Bool = false) -> Value {
        let s = shape(x)
        return add(ClassTokenOp(parameterName: parameter, dimension: s[1], squeezed: squeezed), [x], module: false, torch: nil, keras: keras,
                   shape: [s[0] + 1, s[1]], layout: .same)
    }

    /// A learned table (`parameter`, [1, T, C]) added to the tokens.
    public func positionTable(_ x: Value, parameter: String, keras: String? = nil, squeezed: Bool = false) -> Value {
        let s = shape(x)
        return add(PositionTableOp(parameterName: parameter, tokens: s[0], dimension: s[1], squeezed: squeezed), [x], module: false, torch: nil, keras: keras,
                   shape: s, layout: .same)
    }
}

/// Token `index` of a fixed-length [T, D] sequence → [D] (DeiT's distillation token, index 1).
/// Keras: Cropping1D keeping that row → Reshape([D]), which moves numbers and computes none.
public struct TokenAtOp: GraphOp, Equatable {
    public var index: Int
    public var tokens: Int

    public var opName: String { "token_at" }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        guard x.shape.count == 3, x.shape[1] == tokens else {
            throw ZooError(.mismatch, "expected tokens [N, \(tokens), D], found \(shapeDescription(x.shape))")
        }
        let (n, d) = (x.shape[0], x.shape[2])
        var y = [Float](repeating: 0, count: n * d)
        for i in 0..<n { for j in 0..<d { y[i * d + j] = x.data[(i * tokens + index) * d + j] } }
        return FloatTensor(shape: [n, d], data: y)
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        let d = node.shape[0], crop = node.kerasName + "_crop"
        l.emit(KerasLayer(name: crop, className: "Cropping1D", config: [("cropping", .array([.int(index), .int(tokens - 1 - index)]))],
                          inbound: [l.input(node)], outputShape: [1, d]))
        l.emit(KerasLayer(name: node.kerasName, className: "Reshape", config: [("target_shape", .array([.int(d)]))],
                          inbound: [crop], outputShape: [d]), producing: node)
    }
}

extension GraphBuilder {
    /// Token `index` of [T, D] (T fixed).
    public func token(_ x: Value, at index: Int, keras: String? = nil) -> Value {
        let s = shape(x)
        if s.count != 2 || s[0] <= index || s[0] < 0 { fail("\(keras ?? "token"): expected a fixed [T, D] with T above \(index), found \(shapeDescription(s))") }
        return add(TokenAtOp(index: index, tokens: s.first ?? 0), [x], module: false, torch: nil, keras: keras, shape: Array(s.dropFirst()), layout: .same)
    }
}
