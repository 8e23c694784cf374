import Testing
import ZooCore
@testable import ZooCompute
@testable import ZooKernels
@testable import ZooGraph

/// Bad weights, inputs and configs end in a `ZooError` sentence, never a trap.
@Suite struct ErrorTests {
    static let graph = try! LayerGraphs.graph("flatten_linear")
    static func input(_ shape: [Int]) -> Tensor { Tensor(shape: shape, floats: [Float](repeating: 0.5, count: shape.reduce(1, *))) }
    static func weights() -> [String: Tensor] {
        ["conv.weight": input([5, 3, 3, 3]), "conv.bias": input([5]), "fc.weight": input([7, 80]), "fc.bias": input([7])]
    }

    static func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return "\(error)" }
    }

    @Test func missingAndMisshapenWeights() {
        var w = Self.weights()
        w["fc.bias"] = nil
        #expect(Self.message { _ = try TorchExecutor(graph: Self.graph, weights: w) }.contains("expected a tensor 'fc.bias' of shape [7], found none"))
        w = Self.weights()
        w["conv.weight"] = Self.input([5, 3, 1, 1])
        #expect(Self.message { _ = try TorchExecutor(graph: Self.graph, weights: w) }.contains("'conv.weight': expected shape [5, 3, 3, 3], found [5, 3, 1, 1]"))
    }

    @Test func inputsOfAnotherShape() throws {
        let torch = try TorchExecutor(graph: Self.graph, weights: Self.weights())
        #expect(Self.message { _ = try torch.run(["x": Self.input([2, 4, 4, 3])]) }.contains("expected shape [?, 3, 4, 4], found [2, 4, 4, 3]"))
        #expect(Self.message { _ = try torch.run(["image": Self.input([2, 3, 4, 4])]) }.contains("expected an input named 'x'"))
        let model = try Self.graph.kerasModel()
        var keras: [String: [Tensor]] = ["conv": [Self.input([3, 3, 3, 5]), Self.input([5])], "fc": [Self.input([80, 7]), Self.input([7])]]
        let executor = try KerasExecutor(model: model, weights: keras)
        #expect(Self.message { _ = try executor.run(["x": Self.input([2, 3, 4, 4])]) }.contains("expected shape [?, 4, 4, 3], found [2, 3, 4, 4]"))
        keras["fc"] = [Self.input([7, 80]), Self.input([7])]
        #expect(Self.message { _ = try KerasExecutor(model: model, weights: keras) }.contains("Keras layer 'fc' weight 'kernel': expected shape [80, 7], found [7, 80]"))
    }

    @Test func tokenIdsOutOfRange() throws {
        let g = try LayerGraphs.graph("embedding_layernorm")
        let torch = try TorchExecutor(graph: g, weights: ["emb.weight": Self.input([20, 16]), "norm.weight": Self.input([16]), "norm.bias": Self.input([16])])
        let ids = Tensor(shape: [1, 3], floats: [1, 25, 2])
        #expect(Self.message { _ = try torch.run(["ids": ids]) }.contains("expected token ids that are integers in 0..<20, found 25.0 at position 1"))
    }

    @Test func unsupportedKerasLayersAndConfigs() {
        let input = KerasLayer(name: "x", className: "InputLayer", config: [("batch_shape", .array([.null, .int(4)]))], inbound: [], weights: [], outputShape: [4])
        let lambda = KerasLayer(name: "f", className: "Lambda", config: [], inbound: ["x"], weights: [], outputShape: [4])
        #expect(Self.message { _ = try KerasExecutor(model: KerasModel(name: "m", layers: [input, lambda], inputs: ["x"], outputs: ["f"]), weights: [:]) }
            .contains("the layer 'f' of class 'Lambda' is not one zoo can run"))
        let act = KerasLayer(name: "a", className: "Activation", config: [("activation", .string("selu"))], inbound: ["x"], weights: [], outputShape: [4])
        #expect(Self.message { _ = try KerasExecutor(model: KerasModel(name: "m", layers: [input, act], inputs: ["x"], outputs: ["a"]), weights: [:]) }
            .contains("expected config 'activation' to be one of 'linear', 'relu', 'relu6', 'hard_silu', 'hard_sigmoid', 'silu', 'sigmoid', 'tanh', 'gelu', found \"selu\""))
    }

    /// Sizes from a stranger's config that would overflow a sum or a product are refused by name,
    /// before any arithmetic on them: a padding of 2^62, a Dense of 2^40 units, a Reshape whose
    /// target multiplies past Int.
    @Test func hugeConfigSizesAreRefusedNotOverflowed() throws {
        let input = KerasLayer(name: "x", className: "InputLayer", config: [("batch_shape", .array([.null, .int(4), .int(2)]))],
                               inbound: [], weights: [], outputShape: [4, 2])
        func model(_ layer: KerasLayer) -> KerasModel { KerasModel(name: "m", layers: [input, layer], inputs: ["x"], outputs: [layer.name]) }
        let pad = KerasLayer(name: "p", className: "ZeroPadding1D", config: [("padding", .array([.int(0), .int(1 << 62)]))],
                             inbound: ["x"], weights: [], outputShape: [-1, 2])
        #expect(Self.message { _ = try KerasExecutor(model: model(pad), weights: [:]) }.contains("expected config 'padding' to be an integer of magnitude at most 2^24"))
        let dense = KerasLayer(name: "d", className: "Dense", config: [("units", .int(1 << 40))], inbound: ["x"], weights: [], outputShape: [4, 1 << 40])
        #expect(Self.message { _ = try KerasExecutor(model: model(dense), weights: [:]) }.contains("expected config 'units' to be an integer of magnitude at most 2^24"))
        let reshape = KerasLayer(name: "r", className: "Reshape", config: [("target_shape", .array([.int(1 << 40), .int(1 << 40), .int(-1)]))],
                                 inbound: ["x"], weights: [], outputShape: [-1])
        let executor = try KerasExecutor(model: model(reshape), weights: [:])
        #expect(Self.message { _ = try executor.run(["x": Tensor(shape: [1, 4, 2], floats: [Float](repeating: 1, count: 8))]) }
            .contains("expected 8 values per sample to fit target shape"))
    }

    @Test func tooSmallAnInputForTheKernel() throws {
        let input = KerasLayer(name: "x", className: "InputLayer", config: [("batch_shape", .array([.null, .null, .null, .int(1)]))],
                               inbound: [], weights: [], outputShape: [-1, -1, 1])
        let conv = KerasLayer(name: "conv", className: "Conv2D", config: [("filters", .int(1)), ("kernel_size", .array([.int(3), .int(3)])),
                                                                          ("use_bias", .bool(false))],
                              inbound: ["x"], weights: [("kernel", [3, 3, 1, 1])], outputShape: [-1, -1, 1])
        let keras = try KerasExecutor(model: KerasModel(name: "m", layers: [input, conv], inputs: ["x"], outputs: ["conv"]),
                                      weights: ["conv": [Self.input([3, 3, 1, 1])]])
        #expect(Self.message { _ = try keras.run(["x": Self.input([1, 2, 2, 1])]) }.contains("Keras layer 'conv': expected a spatial size of at least 3, found 2"))
        #expect(try keras.run(["x": Self.input([1, 3, 5, 1])]).outputs[0].shape == [1, 1, 3, 1])
    }
}
