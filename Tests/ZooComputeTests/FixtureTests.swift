import Architectures
import Foundation
import Testing
import ZooCore
@testable import ZooCompute
@testable import ZooKernels
import ZooGraph

/// Each executor against the framework it imitates, on fixtures written by that framework.
@Suite struct FixtureTests {
    /// fp32 done right lands near 1e-6 relative; the executors must stay within this.
    static let tolerance = 1e-5

    /// ZOO_REPORT=1 prints every case's error, for the record.
    static func note(_ text: String) {
        if ProcessInfo.processInfo.environment["ZOO_REPORT"] == "1" { print("[compute] " + text) }
    }

    static func layerCases(_ framework: String) -> [String] {
        ComputeFixtures.layerCases.filter { $0["kind"]?.string == "layer" && $0[framework] != nil && $0["name"]?.string != "gelu_tanh" }
            .compactMap { $0["name"]?.string }
    }
    static let torchLayerCases = layerCases("torch")
    static let kerasLayerCases = layerCases("keras")

    @Test func fixturesArePresent() {
        #expect(Self.torchLayerCases.count >= 34)
        #expect(Self.kerasLayerCases.count >= 31)
        #expect(ComputeFixtures.familyCases.count >= 10)
    }

    @Test(arguments: torchLayerCases)
    func torchExecutorReproducesPyTorch(_ name: String) throws {
        let entry = try #require(ComputeFixtures.entry(name))
        let side = try ComputeFixtures.side(try #require(entry["torch"]?.string))
        let graph = try LayerGraphs.graph(name)
        let result = try TorchExecutor(graph: graph, weights: side.weights).run(side.inputs)
        let error = try relativeError(try #require(side.outputs.first), try #require(result.outputs.first))
        #expect(error <= Self.tolerance, "\(name): torch executor vs PyTorch, max|Δ|/max|y| = \(error)")
        Self.note("torch \(name): \(error)")
    }

    @Test(arguments: kerasLayerCases)
    func kerasExecutorReproducesKeras(_ name: String) throws {
        let entry = try #require(ComputeFixtures.entry(name))
        let side = try ComputeFixtures.side(try #require(entry["keras"]?.string))
        let model = try LayerGraphs.graph(name).kerasModel()
        let weights = try ComputeFixtures.kerasWeights(model, from: side.weights)
        let result = try KerasExecutor(model: model, weights: weights).run(side.inputs)
        let error = try relativeError(try #require(side.outputs.first), try #require(result.outputs.first))
        #expect(error <= Self.tolerance, "\(name): Keras executor vs Keras, max|Δ|/max|y| = \(error)")
        Self.note("keras \(name): \(error)")
    }

    /// No Keras layer is named for it, so the kernel itself meets keras.activations.gelu(approximate=True),
    /// and the torch executor meets nn.GELU(approximate='tanh').
    @Test func tanhApproximateGELU() throws {
        let entry = try #require(ComputeFixtures.entry("gelu_tanh"))
        let torch = try ComputeFixtures.side(try #require(entry["torch"]?.string))
        let result = try TorchExecutor(graph: try LayerGraphs.graph("gelu_tanh"), weights: [:]).run(torch.inputs)
        #expect(try relativeError(torch.outputs[0], result.outputs[0]) <= Self.tolerance)
        let keras = try ComputeFixtures.side(try #require(entry["keras"]?.string))
        var x = try keras.inputs["x"]!.floats()
        ActivationKind.geluTanh.apply(&x)
        #expect(try relativeError(keras.outputs[0], Tensor(shape: keras.outputs[0].shape, floats: x)) <= Self.tolerance)
    }

    // MARK: - Family models from the registry

    static func familyGraph(_ entry: JSONValue) throws -> Graph {
        let archName = try #require(entry["arch"]?.string)
        let arch = try #require(Registry.named(archName))
        let options = try #require(entry["options"])
        if let t = options["transformer"] {
            var config = try BERT.config(fromHuggingFace: t, pooler: t["pooler"]?.bool ?? true)
            config.tokenTypeInput = true // the fixture's PyTorch run was given token types
            return try arch.graph(ArchitectureOptions(transformer: config))
        }
        return try arch.graph(ArchitectureOptions(classes: options["classes"]?.int, imageSize: options["image_size"]?.int))
    }

    /// Weights (by state-dict name) and inputs of a family case: recipes first, then stored inputs.
    static func familyData(_ entry: JSONValue, side: ComputeFixtures.Side) throws -> (weights: [String: Tensor], inputs: [String: Tensor]) {
        var weights: [String: Tensor] = [:]
        for spec in entry["params"]?.array ?? [] {
            let (name, tensor) = try Recipe.tensor(spec)
            weights[name] = tensor
        }
        var inputs = side.inputs
        for spec in entry["input_recipes"]?.array ?? [] {
            let (name, tensor) = try Recipe.tensor(spec)
            inputs[name] = tensor
        }
        return (weights, inputs)
    }

    /// The 224×224 VGG is heavy in a debug build (129 M weights); it runs with ZOO_SLOW_TESTS=1 or in release.
    static let runSlow: Bool = {
        #if DEBUG
        return ProcessInfo.processInfo.environment["ZOO_SLOW_TESTS"] == "1"
        #else
        return true
        #endif
    }()

    static func familyCases(_ framework: String) -> [String] {
        ComputeFixtures.familyCases.filter { $0[framework] != nil }.compactMap { $0["name"]?.string }
    }

    @Test(arguments: familyCases("torch"))
    func torchExecutorReproducesPyTorchModel(_ name: String) throws {
        let entry = try #require(ComputeFixtures.entry(name))
        if name.hasSuffix("_224") && !Self.runSlow { return }
        let side = try ComputeFixtures.side(try #require(entry["torch"]?.string))
        let graph = try Self.familyGraph(entry)
        let (weights, inputs) = try Self.familyData(entry, side: side)
        let result = try TorchExecutor(graph: graph, weights: weights).run(inputs, recordIntermediates: false)
        #expect(result.outputs.count == side.outputs.count)
        for (expected, actual) in zip(side.outputs, result.outputs) {
            let error = try relativeError(expected, actual)
            #expect(error <= Self.tolerance, "\(name): torch executor vs PyTorch, max|Δ|/max|y| = \(error)")
            Self.note("torch \(name): \(error) (\(Int(result.milliseconds)) ms)")
        }
    }

    @Test(arguments: familyCases("keras"))
    func kerasExecutorReproducesKerasModel(_ name: String) throws {
        let entry = try #require(ComputeFixtures.entry(name))
        if name.hasSuffix("_224") && !Self.runSlow { return }
        let side = try ComputeFixtures.side(try #require(entry["keras"]?.string))
        let graph = try Self.familyGraph(entry)
        let model = try graph.kerasModel()
        var (weights, inputs) = try Self.familyData(entry, side: side)
        inputs = try inputs.mapValues(channelsLast)
        let kerasWeights = try mappedKerasWeights(graph, torch: weights, model: model)
        weights = [:]
        let result = try KerasExecutor(model: model, weights: kerasWeights).run(inputs, recordIntermediates: false)
        #expect(result.outputs.count == side.outputs.count)
        for (expected, actual) in zip(side.outputs, result.outputs) {
            let error = try relativeError(expected, actual)
            #expect(error <= Self.tolerance, "\(name): Keras executor vs Keras, max|Δ|/max|y| = \(error)")
            Self.note("keras \(name): \(error) (\(Int(result.milliseconds)) ms)")
        }
    }
}
