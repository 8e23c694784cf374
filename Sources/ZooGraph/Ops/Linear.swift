// nn.Linear on the last axis, optionally followed by an activation module fused into the Keras
// layer. Keras: Dense. After a Flatten of a C×H×W map the kernel's rows are permuted from
// PyTorch's C,H,W order to Keras's H,W,C (the transform says so; nothing else changes).
import ZooCore
import ZooKernels

public struct LinearOp: GraphOp, Equatable {
    public var inFeatures: Int
    public var outFeatures: Int
    public var bias: Bool
    public var fusedActivation: ActivationKind?
    /// The weight is stored (in, out), as `transformers.pytorch_utils.Conv1D` (GPT-2) stores it:
    /// Keras's Dense kernel as it is.
    public var storedInOut = false

    public var opName: String { storedInOut ? "conv1d_linear" : "linear" }

    public func parameters(of node: Node, in graph: Graph) -> [ParameterSpec] {
        if storedInOut {
            return [node.parameter("weight", [inFeatures, outFeatures], keras: "kernel", .identity, role: .weight)]
                + (bias ? [node.parameter("bias", [outFeatures], keras: "bias", .identity, role: .bias)] : [])
        }
        var kernel = Transform.denseKernel
        if case .flattenedChannelsFirst(let c, let h, let w) = graph.node(node.inputs[0]).layout {
            kernel = .denseKernelAfterFlatten(channels: c, height: h, width: w)
        }
        var out = [node.parameter("weight", [outFeatures, inFeatures], keras: "kernel", kernel, role: .weight)]
        if bias { out.append(node.parameter("bias", [outFeatures], keras: "bias", .identity, role: .bias)) }
        return out
    }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        guard x.shape.last == inFeatures else { throw ZooError(.mismatch, "expected \(inFeatures) input features, found \(shapeDescription(x.shape))") }
        let (rows, weight, b) = (x.count / inFeatures, weights[node.torchPath + ".weight"], bias ? weights[node.torchPath + ".bias"] : nil)
        var y = FloatTensor(shape: Array(x.shape.dropLast()) + [outFeatures],
                            data: storedInOut ? Dense.dense(x.data, rows: rows, kernel: weight, bias: b, inFeatures: inFeatures, outFeatures: outFeatures)
                                              : Dense.linear(x.data, rows: rows, weight: weight, bias: b, inFeatures: inFeatures, outFeatures: outFeatures))
        fusedActivation?.apply(&y.data)
        return y
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "Dense", config: [
            ("units", .int(outFeatures)), ("activation", .string(try kerasActivation(fusedActivation, node))), ("use_bias", .bool(bias)),
        ], weightOrder: ["kernel", "bias"]), producing: node)
    }

    public func isNonNegative(_ node: Node, in graph: Graph) -> Bool { fusedActivation?.isNonNegative == true }
}

/// A Linear whose parameters live elsewhere in the state dict: a masked-LM decoder tied to the
/// word embeddings (`weight` is `embeddings.word_embeddings.weight`, read a second time as the
/// Dense kernel) with the head's own bias. Keras: Dense.
public struct TiedLinearOp: GraphOp, Equatable {
    public var weightName: String
    /// nil: no bias (GPT-2's `lm_head`).
    public var biasName: String?
    public var inFeatures: Int
    public var outFeatures: Int

    public var opName: String { "tied_linear" }

    public func parameters(of node: Node, in graph: Graph) -> [ParameterSpec] {
        [ParameterSpec(torchName: weightName, torchShape: [outFeatures, inFeatures], kerasLayer: node.kerasName, kerasWeight: "kernel",
                       transform: .denseKernel, role: .weight, node: node.id)]
            + (biasName.map { [ParameterSpec(torchName: $0, torchShape: [outFeatures], kerasLayer: node.kerasName, kerasWeight: "bias",
                                             transform: .identity, role: .bias, node: node.id)] } ?? [])
    }

    public func torchForward(_ inputs: inout TorchInputs, _ weights: TorchWeights, _ node: Node) throws -> FloatTensor {
        let x = inputs[0]
        guard x.shape.last == inFeatures else { throw ZooError(.mismatch, "expected \(inFeatures) input features, found \(shapeDescription(x.shape))") }
        return FloatTensor(shape: Array(x.shape.dropLast()) + [outFeatures],
                           data: Dense.linear(x.data, rows: x.count / inFeatures, weight: weights[weightName], bias: biasName.map { weights[$0] },
                                              inFeatures: inFeatures, outFeatures: outFeatures))
    }

    public func lower(_ node: Node, _ l: inout KerasLowering) throws {
        l.emit(l.layer(for: node, className: "Dense", config: [("units", .int(outFeatures)), ("activation", .string("linear")), ("use_bias", .bool(biasName != nil))],
                       weightOrder: ["kernel", "bias"]), producing: node)
    }
}

extension GraphBuilder {
    /// A Linear reading `weight` and `bias` by their full state-dict names (see `TiedLinearOp`).
    public func tiedLinear(_ x: Value, weight: String, bias: String?, keras: String, out: Int) -> Value {
        let s = shape(x)
        return add(TiedLinearOp(weightName: weight, biasName: bias, inFeatures: s[s.count - 1], outFeatures: out), [x], module: false,
                   torch: nil, keras: keras, shape: Array(s.dropLast()) + [out], layout: .same)
    }

    /// `nn.Linear(in, out, bias)` on the last axis; `activation` is the module right after it,
    /// fused into the Keras Dense (in a Sequential it takes the next index). One Keras has no
    /// name for (tanh-approximate GELU) follows the Dense as a layer of its own.
    public func linear(_ x: Value, torch: String? = nil, keras: String? = nil, out: Int, bias: Bool = true,
                       activation: ActivationKind? = nil, storedInOut: Bool = false) -> Value {
        var s = shape(x)
        if case .channelsFirst = layout(x), s.count == 3 { fail("\(torch ?? "linear"): nn.Linear acts on the last axis, found a [C, H, W] map") }
        let fused = activation?.kerasName == nil ? nil : activation
        var op = LinearOp(inFeatures: s[s.count - 1], outFeatures: out, bias: bias, fusedActivation: fused)
        op.storedInOut = storedInOut
        s[s.count - 1] = out
        let v = add(op, [x], module: true, torch: torch, keras: keras, shape: s, layout: .same)
        if let activation, fused == nil {
            return self.activation(v, activation, keras: "\(kerasName(of: v))_\(activation.rawValue)")
        }
        if activation != nil { skip() }
        return v
    }

    /// GPT-2's `Conv1D(out, in)`: a Linear whose weight is stored (in, out).
    public func conv1DLinear(_ x: Value, torch: String, keras: String, out: Int, activation: ActivationKind? = nil) -> Value {
        linear(x, torch: torch, keras: keras, out: out, activation: activation, storedInOut: true)
    }
}
