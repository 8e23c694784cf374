import Foundation
import Testing
@testable import Architectures
@testable import Conversion
import TorchIO
import ZooCore
@testable import ZooGraph

enum Example {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/bert-tiny")
    static var checkpoint: String { folder.appendingPathComponent("pytorch_model.pth").path }

    static func opened() throws -> (Checkpoint, Graph, MatchReport) {
        let checkpoint = try Checkpoint.open(Self.checkpoint)
        let config = try JSONValue.parse(Array(FileManager.default.contents(atPath: folder.appendingPathComponent("config.json").path)!))
        let options = ArchitectureOptions(transformer: try BERT.config(fromHuggingFace: config, pooler: true))
        let arch = Registry.named("bert")!
        let shapes = TensorShapes(checkpoint.entries.map { ($0.name, $0.shape, $0.dtype) })
        let (graph, report) = arch.match(shapes, options: options)
        return (checkpoint, try #require(graph), report)
    }
}

@Suite struct WeightBuilderTests {
    @Test func everyKerasWeightIsFilledWithTheTransformedTensor() throws {
        let (checkpoint, graph, report) = try Example.opened()
        #expect(report.isExact, "\(report.description)")
        let model = try graph.kerasModel()
        let weights = try KerasWeightBuilder.build(checkpoint: checkpoint, graph: graph, model: model, report: report)
        for layer in model.layers where !layer.weights.isEmpty {
            let got = try #require(weights[layer.name])
            #expect(got.map(\.shape) == layer.weights.map(\.shape), "\(layer.name)")
        }
        // query kernel [i][h][j] = W[h·dh + j][i]; 4 heads of 8 over hidden 32
        let w = try checkpoint.tensor(named: "encoder.layer.1.attention.self.query.weight").floats()
        let kernel = try #require(weights["encoder_layer_1_attention"]?[0]).floats()
        var expected = [Float]()
        for i in 0..<32 { for h in 0..<4 { for j in 0..<8 { expected.append(w[(h * 8 + j) * 32 + i]) } } }
        #expect(kernel == expected)
        // attention output kernel [h][j][o] = W[o][h·dh + j]
        let wo = try checkpoint.tensor(named: "encoder.layer.1.attention.output.dense.weight").floats()
        let out = try #require(weights["encoder_layer_1_attention"]?[6]).floats()
        var expectedOut = [Float]()
        for h in 0..<4 { for j in 0..<8 { for o in 0..<32 { expectedOut.append(wo[o * 32 + h * 8 + j]) } } }
        #expect(out == expectedOut)
        // embeddings are copied as they are
        #expect(try weights["word_embeddings"]?[0].floats() == checkpoint.tensor(named: "embeddings.word_embeddings.weight").floats())
    }

    @Test func aMismatchedCheckpointIsRefused() throws {
        let (checkpoint, graph, _) = try Example.opened()
        var report = MatchReport(architecture: "bert")
        report.missing = [("pooler.dense.weight", [32, 32])]
        #expect(throws: ZooError.self) {
            try KerasWeightBuilder.build(checkpoint: checkpoint, graph: graph, model: try graph.kerasModel(), report: report)
        }
    }
}
