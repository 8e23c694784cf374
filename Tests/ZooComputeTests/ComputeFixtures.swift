@testable import Architectures
import Foundation
import Testing
import TorchIO
import ZooCore
@testable import ZooCompute
@testable import ZooKernels
import ZooGraph

/// The fixtures written by real PyTorch and real Keras (scripts/make_compute_fixtures.py), in
/// Tests/Fixtures/compute: per case a `.torch.safetensors` and/or `.keras.safetensors` with keys
/// "weight/<name>", "input/<name>", "output/<i>", described by cases.json.
enum ComputeFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/compute")

    static let manifest: JSONValue = {
        let data = FileManager.default.contents(atPath: folder.appendingPathComponent("cases.json").path) ?? Data()
        return (try? JSONValue.parse(Array(data))) ?? .null
    }()

    static var layerCases: [JSONValue] { manifest["cases"]?.array ?? [] }
    static var familyCases: [JSONValue] { manifest["families"]?.array ?? [] }
    static func entry(_ name: String) -> JSONValue? { (layerCases + familyCases).first { $0["name"]?.string == name } }

    /// One framework's file of a case, split into its three groups.
    struct Side {
        var weights: [String: Tensor] = [:]
        var inputs: [String: Tensor] = [:]
        var outputs: [Tensor] = []
    }

    static func side(_ file: String) throws -> Side {
        let checkpoint = try Checkpoint.open(folder.appendingPathComponent(file).path)
        var side = Side()
        var outputs: [Int: Tensor] = [:]
        for (name, tensor) in try checkpoint.allTensors() {
            if name.hasPrefix("weight/") { side.weights[String(name.dropFirst(7))] = tensor }
            else if name.hasPrefix("input/") { side.inputs[String(name.dropFirst(6))] = tensor }
            else if name.hasPrefix("output/"), let i = Int(name.dropFirst(7)) { outputs[i] = tensor }
        }
        side.outputs = outputs.keys.sorted().map { outputs[$0]! }
        return side
    }

    /// Keras weights of `model` from "<layer>/<weight>" names (Keras 3 variable paths), in each
    /// layer's declared order.
    static func kerasWeights(_ model: KerasModel, from flat: [String: Tensor]) throws -> [String: [Tensor]] {
        var out: [String: [Tensor]] = [:]
        for layer in model.layers where !layer.weights.isEmpty {
            out[layer.name] = try layer.weights.map { w in
                let path = "\(layer.name)/\(keras3Name(w.name, of: layer))"
                return try #require(flat[path], "fixture has no Keras weight \(path)")
            }
        }
        return out
    }

    /// Keras 3 calls a DepthwiseConv2D's kernel `kernel`; zoo's weights carry tf.keras 2's name,
    /// `depthwise_kernel`, which its legacy .h5 writes (both frameworks load weights by position).
    static func keras3Name(_ weight: String, of layer: KerasLayer) -> String {
        layer.className == "DepthwiseConv2D" && weight == "depthwise_kernel" ? "kernel" : weight
    }
}

/// The fixtures' value recipe (see scripts/make_compute_fixtures.py): SplitMix64 outputs k,
/// x = float32(center + (k>>40 − 2²³)/2²³ · scale), exact in float64 so NumPy and Swift agree bit for bit.
enum Recipe {
    static func values(seed: UInt64, count: Int, center: Double, scale: Double) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        var state = seed
        out.withUnsafeMutableBufferPointer { buffer in
            for i in 0..<count {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                let k = Double(Int(z >> 40) - 8_388_608)
                buffer[i] = Float(k / 8_388_608 * scale + center)
            }
        }
        return out
    }

    static func tensor(_ spec: JSONValue) throws -> (name: String, tensor: Tensor) {
        let dims = try #require(spec["shape"]?.array)
        let shape = dims.compactMap { $0.int }
        let values = Recipe.values(seed: UInt64(try #require(spec["seed"]?.int)), count: shape.reduce(1, *),
                                   center: try #require(spec["center"]?.double), scale: try #require(spec["scale"]?.double))
        return (try #require(spec["name"]?.string), Tensor(shape: shape, floats: values))
    }
}

/// Graphs of the per-layer cases, written with the descriptor vocabulary; module names match the
/// PyTorch modules of the fixture script, Keras names its Keras models.
enum LayerGraphs {
    static func graph(_ name: String) throws -> Graph {
        let g = GraphBuilder(name: name)
        var y: Value
        switch name {
        case "conv_stride2_pad1":
            y = g.conv2d(g.input("x", kind: .image, shape: [3, 9, 9]), torch: "conv", keras: "conv", out: 8, kernel: 3, stride: 2, padding: 1, bias: true)
        case "conv_groups":
            y = g.conv2d(g.input("x", kind: .image, shape: [8, 7, 7]), torch: "conv", keras: "conv", out: 12, kernel: 3, padding: 1, groups: 4, bias: true)
        case "conv_dilation":
            y = g.conv2d(g.input("x", kind: .image, shape: [4, 10, 10]), torch: "conv", keras: "conv", out: 6, kernel: 3, padding: 2, dilation: 2, bias: false)
        case "conv_1x1_stride2":
            y = g.conv2d(g.input("x", kind: .image, shape: [6, 8, 8]), torch: "conv", keras: "conv", out: 10, kernel: 1, stride: 2, bias: false)
        case "batchnorm":
            y = g.batchNorm(g.input("x", kind: .image, shape: [6, 5, 5]), torch: "bn", keras: "bn", eps: 1e-5)
        case "relu_maxpool_pad1":
            let r = g.activation(g.input("x", kind: .image, shape: [4, 9, 9]), .relu, keras: "relu")
            y = g.maxPool2d(r, keras: "pool", kernel: 3, stride: 2, padding: 1)
        case "maxpool_pad1_signed":
            y = g.maxPool2d(g.input("x", kind: .image, shape: [4, 9, 9]), keras: "pool", kernel: 3, stride: 2, padding: 1)
        case "avgpool_pad1":
            y = g.avgPool2d(g.input("x", kind: .image, shape: [4, 9, 9]), keras: "pool", kernel: 3, stride: 2, padding: 1)
        case "adaptive_avgpool":
            y = g.adaptiveAvgPool2d(g.input("x", kind: .image, shape: [4, 6, 6]), keras: "pool", height: 3, width: 3)
        case "adaptive_avgpool_uneven":
            y = g.adaptiveAvgPool2d(g.input("x", kind: .image, shape: [3, 5, 7]), keras: "pool", height: 3, width: 4)
        case "adaptive_avgpool_upsample":
            y = g.adaptiveAvgPool2d(g.input("x", kind: .image, shape: [3, 2, 3]), keras: "pool", height: 7, width: 7)
        case "flatten_linear":
            let c = g.conv2d(g.input("x", kind: .image, shape: [3, 4, 4]), torch: "conv", keras: "conv", out: 5, kernel: 3, padding: 1, bias: true)
            y = g.linear(g.flatten(c, keras: "flatten"), torch: "fc", keras: "fc", out: 7)
        case "embedding_layernorm":
            let e = g.embedding(g.input("ids", kind: .tokens, shape: [-1]), torch: "emb", keras: "emb", count: 20, dimension: 16)
            y = g.layerNorm(e, torch: "norm", keras: "norm", eps: 1e-5)
        case "attention_mask":
            let x = g.input("x", kind: .image, shape: [5, 16])
            let mask = g.input("mask", kind: .tokens, shape: [5])
            y = g.attention(x, mask: mask, torch: "attn", keras: "attn", heads: 4, projections: nil)
        case "dense_gelu":
            y = g.linear(g.input("x", kind: .image, shape: [8]), torch: "fc", keras: "fc", out: 12, activation: .gelu)
        case "tanh":
            y = g.activation(g.input("x", kind: .image, shape: [10]), .tanh, keras: "act")
        case "gelu_tanh":
            y = g.activation(g.input("x", kind: .image, shape: [10]), .geluTanh, keras: "act")
        case "depthwise_stride2_pad1":
            y = g.conv2d(g.input("x", kind: .image, shape: [6, 9, 9]), torch: "conv", keras: "conv", out: 6, kernel: 3, stride: 2, padding: 1, groups: 6, bias: true)
        case "depthwise_multiplier2":
            y = g.conv2d(g.input("x", kind: .image, shape: [4, 7, 7]), torch: "conv", keras: "conv", out: 8, kernel: 3, padding: 1, groups: 4, bias: false)
        case "relu6", "hardswish", "hardsigmoid", "silu", "sigmoid":
            let kind: ActivationKind = ["relu6": .relu6, "hardswish": .hardSwish, "hardsigmoid": .hardSigmoid, "silu": .silu, "sigmoid": .sigmoid][name]!
            y = g.activation(g.input("x", kind: .image, shape: [32]), kind, keras: "act")
        case "se_relu_sigmoid":
            y = g.squeezeExcitation(g.input("x", kind: .image, shape: [16, 5, 5]), torch: "se", squeeze: 4)
        case "se_hardsigmoid":
            y = g.squeezeExcitation(g.input("x", kind: .image, shape: [16, 5, 5]), torch: "se", squeeze: 8, gate: .hardSigmoid)
        case "concat":
            y = g.concat([g.input("a", kind: .image, shape: [3, 5, 5]), g.input("b", kind: .image, shape: [5, 5, 5])], keras: "concat")
        case "channel_range":
            y = g.channels(g.input("x", kind: .image, shape: [8, 5, 5]), 2..<5, keras: "crop")
        case "channel_shuffle":
            y = g.channelShuffle(g.input("x", kind: .image, shape: [12, 4, 5]), groups: 2, keras: "shuffle")
        case "channel_affine":
            y = g.channelAffine(g.input("x", kind: .image, shape: [3, 5, 5]), scale: Inception.inputScale, shift: Inception.inputShift,
                                keras: "transform_input")
        case "layer_scale":
            y = g.layerScale(g.input("x", kind: .image, shape: [6, 5, 5]), parameter: "layer_scale", keras: "layer_scale")
        case "layernorm2d":
            y = g.layerNorm2d(g.input("x", kind: .image, shape: [6, 5, 5]), torch: "norm", keras: "norm", eps: 1e-6)
        case "convnext_mlp": // CNBlock.block after its depthwise conv, as ConvNeXt.block states it
            y = g.input("x", kind: .image, shape: [8, 4, 5])
            g.sequential("mlp") {
                y = g.permuteToChannelsLast(y)
                y = g.layerNorm(y, eps: 1e-6)
                y = g.linear(y, out: 32, activation: .gelu)
                y = g.linear(y, out: 8)
                y = g.permuteToChannelsFirst(y)
            }
        case "relu_maxpool_ceil":
            let r = g.activation(g.input("x", kind: .image, shape: [4, 10, 9]), .relu, keras: "relu")
            y = g.maxPool2d(r, keras: "pool", kernel: 3, stride: 2, ceilMode: true)
        case "avgpool_same_exclude_pad":
            y = g.avgPool2d(g.input("x", kind: .image, shape: [4, 6, 7]), keras: "pool", kernel: 3, stride: 1, padding: 1, countIncludePad: false)
        default:
            throw ZooError(.usage, "no graph for fixture case \(name)")
        }
        return try g.build(outputs: [y])
    }
}

/// Keras weights for a graph made from PyTorch weights with zoo's own mapping (`Transform.apply`).
func mappedKerasWeights(_ graph: Graph, torch: [String: Tensor], model: KerasModel,
                        override: (ParameterSpec, [Float]) -> [Float] = { $1 }) throws -> [String: [Tensor]] {
    var byLayer: [String: [String: Tensor]] = [:]
    for p in graph.parameters {
        guard let layer = p.kerasLayer, let weight = p.kerasWeight, let shape = p.kerasShape else { continue }
        let source = try #require(torch[p.torchName], "no torch tensor \(p.torchName)")
        let values = override(p, p.transform.apply(try source.floats(), shape: p.torchShape))
        byLayer[layer, default: [:]][weight] = Tensor(shape: shape, floats: values)
    }
    for c in graph.constants { byLayer[c.layer, default: [:]][c.weight] = Tensor(shape: c.shape, floats: c.values) }
    var out: [String: [Tensor]] = [:]
    for layer in model.layers where !layer.weights.isEmpty {
        out[layer.name] = try layer.weights.map { try #require(byLayer[layer.name]?[$0.name], "no Keras weight \(layer.name)/\($0.name)") }
    }
    return out
}

/// NCHW → NHWC for rank-4 tensors, other tensors unchanged.
func channelsLast(_ t: Tensor) throws -> Tensor {
    guard t.shape.count == 4 else { return t }
    let s = t.shape
    return Tensor(shape: [s[0], s[2], s[3], s[1]], floats: permuteNCHWtoNHWC(try t.floats(), s))
}

/// max|Δ| / max|y| between an expected and an actual tensor of the same layout.
func relativeError(_ expected: Tensor, _ actual: Tensor) throws -> Double {
    let d = difference(name: "", reference: expected, candidate: actual)
    #expect(d.problem == nil, "\(d.problem ?? "")")
    return d.relative
}
