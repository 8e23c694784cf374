import Architectures
import Testing
import ZooCore
@testable import ZooCompute
@testable import ZooKernels
import ZooGraph

/// Both executors on one graph, Keras weights made by zoo's mapping: the right mapping agrees
/// layer by layer, and a deliberately wrong Keras-side weight is caught at the layer that holds it.
@Suite struct ComparisonTests {
    /// Seeded state dict with the fixture recipe's scales (fan-in weights, non-trivial norms).
    static func randomWeights(_ graph: Graph, seed: UInt64) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (i, e) in graph.torchEntries.enumerated() where e.dtype.isFloatingPoint {
            let leaf = e.name.split(separator: ".").last.map(String.init) ?? ""
            let (center, scale): (Double, Double)
            switch leaf {
            case "running_var": (center, scale) = (1, 0.5)
            case "running_mean", "bias", "in_proj_bias": (center, scale) = (0, 0.1)
            default:
                if e.shape.count == 1 { (center, scale) = (1, 0.2) }
                else if e.name.contains("embeddings") { (center, scale) = (0, 1) }
                else { (center, scale) = (0, (3 / Double(e.shape.dropFirst().reduce(1, *))).squareRoot()) }
            }
            out[e.name] = Tensor(shape: e.shape, floats: Recipe.values(seed: seed + UInt64(i), count: e.shape.reduce(1, *), center: center, scale: scale))
        }
        return out
    }

    static func image(_ shape: [Int], seed: UInt64) -> Tensor {
        Tensor(shape: shape, floats: Recipe.values(seed: seed, count: shape.reduce(1, *), center: 0, scale: 1))
    }

    static let resnet = try! Registry.named("resnet18")!.graph(ArchitectureOptions(classes: 10, imageSize: 32))
    static let bert: Graph = {
        var config = TransformerConfig(vocabularySize: 99, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 37, maxPositions: 40,
                                       typeVocabularySize: 2, layerNormEps: 1e-12, activation: .gelu, pooler: true)
        config.tokenTypeInput = true
        return try! Registry.named("bert")!.graph(ArchitectureOptions(transformer: config))
    }()
    /// conv → flatten of a 6×5×4 map → linear: the flatten order matters.
    static let flattenNet: Graph = {
        let g = GraphBuilder(name: "flatten_net")
        let x = g.conv2d(g.input("input", kind: .image, shape: [3, 5, 4]), torch: "conv", keras: "conv", out: 6, kernel: 3, padding: 1, bias: true)
        let y = g.linear(g.flatten(x, keras: "flatten"), torch: "fc", keras: "fc", out: 5)
        return try! g.build(outputs: [y])
    }()

    static func bertInputs() -> [String: Tensor] {
        func tokens(_ v: [Int64]) -> Tensor {
            Tensor(dtype: .int64, shape: [2, 6], bytes: v.flatMap { x in withUnsafeBytes(of: x.littleEndian) { Array($0) } })
        }
        return ["input_ids": tokens([2, 45, 17, 88, 5, 3, 2, 31, 76, 3, 0, 0]),
                "attention_mask": tokens([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]),
                "token_type_ids": tokens([0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0]),
                "position_ids": tokens([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5])]
    }

    /// Runs both executors; `mistake` may alter a Keras weight after the mapping made it.
    static func compare(_ graph: Graph, inputs: [String: Tensor],
                        mistake: (ParameterSpec, [Float], [String: Tensor]) -> [Float] = { _, v, _ in v }) throws -> LayerComparison {
        let torch = randomWeights(graph, seed: 77)
        let model = try graph.kerasModel()
        let keras = try mappedKerasWeights(graph, torch: torch, model: model) { p, v in mistake(p, v, torch) }
        let reference = try TorchExecutor(graph: graph, weights: torch).run(inputs)
        let candidate = try KerasExecutor(model: model, weights: keras).run(try inputs.mapValues(channelsLast))
        return compareLayers(reference: reference, candidate: candidate, tolerance: 1e-5)
    }

    @Test func theRightMappingAgreesAtEveryLayer() throws {
        let resnet = try Self.compare(Self.resnet, inputs: ["input": Self.image([2, 3, 32, 32], seed: 5)])
        #expect(resnet.passed, "\(resnet.report)")
        #expect(resnet.layers.count >= 50)
        let bert = try Self.compare(Self.bert, inputs: Self.bertInputs())
        #expect(bert.passed, "\(bert.report)")
        #expect(bert.layers.count >= 20)
        let flat = try Self.compare(Self.flattenNet, inputs: ["input": Self.image([2, 3, 5, 4], seed: 6)])
        #expect(flat.passed, "\(flat.report)")
        FixtureTests.note("resnet18 torch vs keras worst output \(resnet.worstOutput?.relative ?? -1); bert \(bert.worstOutput?.relative ?? -1)")
    }

    @Test func aConvKernelTransposedTheWrongWayIsNamed() throws {
        // (out, in, kh, kw) → (kh, kw, out, in) instead of (kh, kw, in, out): same shape for 64 → 64
        let c = try Self.compare(Self.resnet, inputs: ["input": Self.image([2, 3, 32, 32], seed: 5)]) { p, v, torch in
            guard p.kerasLayer == "conv2_block1_1_conv" else { return v }
            return permute(try! torch[p.torchName]!.floats(), shape: p.torchShape, order: [2, 3, 0, 1])
        }
        #expect(!c.passed)
        #expect(c.firstDivergent?.name == "conv2_block1_1_conv", "\(c.report)")
    }

    @Test func aSwappedKernelHeightAndWidthIsNamed() throws {
        let c = try Self.compare(Self.resnet, inputs: ["input": Self.image([2, 3, 32, 32], seed: 5)]) { p, v, torch in
            guard p.kerasLayer == "conv3_block1_2_conv" else { return v }
            return permute(try! torch[p.torchName]!.floats(), shape: p.torchShape, order: [3, 2, 1, 0])
        }
        #expect(c.firstDivergent?.name == "conv3_block1_2_conv", "\(c.report)")
    }

    @Test func aDroppedFlattenPermutationIsNamed() throws {
        let c = try Self.compare(Self.flattenNet, inputs: ["input": Self.image([2, 3, 5, 4], seed: 6)]) { p, v, torch in
            guard p.kerasLayer == "fc", p.kerasWeight == "kernel" else { return v }
            return Transform.denseKernel.apply(try! torch[p.torchName]!.floats(), shape: p.torchShape)
        }
        #expect(c.firstDivergent?.name == "fc", "\(c.report)")
        #expect(c.layers.first { $0.name == "conv" }.map { !$0.exceeds(1e-5) } == true)
    }

    @Test func swappedQueryAndKeyAreNamed() throws {
        let c = try Self.compare(Self.bert, inputs: Self.bertInputs()) { p, v, torch in
            guard p.kerasLayer == "encoder_layer_1_attention" else { return v }
            let swapped: String
            if p.torchName.contains(".query.") { swapped = p.torchName.replacingOccurrences(of: ".query.", with: ".key.") }
            else if p.torchName.contains(".key.") { swapped = p.torchName.replacingOccurrences(of: ".key.", with: ".query.") }
            else { return v }
            return p.transform.apply(try! torch[swapped]!.floats(), shape: p.torchShape)
        }
        #expect(c.firstDivergent?.name == "encoder_layer_1_attention", "\(c.report)")
        #expect(c.layers.first { $0.name == "encoder_layer_0_attention" }.map { !$0.exceeds(1e-5) } == true)
    }

    @Test func swappedBatchNormStatisticsAreNamed() throws {
        let c = try Self.compare(Self.resnet, inputs: ["input": Self.image([2, 3, 32, 32], seed: 5)]) { p, v, torch in
            guard p.kerasLayer == "conv4_block2_2_bn" else { return v }
            let other = p.kerasWeight == "moving_mean" ? ".running_var" : p.kerasWeight == "moving_variance" ? ".running_mean" : nil
            guard let other else { return v }
            let name = p.torchName.split(separator: ".").dropLast().joined(separator: ".") + other
            return try! torch[name]!.floats()
        }
        #expect(c.firstDivergent?.name == "conv4_block2_2_bn", "\(c.report)")
    }

    @Test func theReportNamesTheLayer() throws {
        let c = try Self.compare(Self.flattenNet, inputs: ["input": Self.image([2, 3, 5, 4], seed: 6)]) { p, v, _ in
            p.kerasLayer == "conv" && p.kerasWeight == "bias" ? v.map { $0 + 1 } : v
        }
        #expect(c.report.contains("first layer above 1.0e-5 relative: conv"), "\(c.report)")
    }
}
