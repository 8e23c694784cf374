import Testing
@testable import Architectures
import ZooCore
@testable import ZooGraph

/// What the state-dict references cannot show: BatchNorm settings and padding are not in the
/// weights (the real-framework proof in scripts/interop.sh checks them numerically).
@Suite struct EfficientNetTests {
    func keras(_ name: String) throws -> KerasModel {
        try #require(Registry.named(name)).graph(ArchitectureOptions(classes: 10, imageSize: 64)).kerasModel()
    }

    /// efficientnet_b0…b4 keep BatchNorm2d's defaults; b5…b7 pass eps 1e-3, momentum 0.01; V2 eps 1e-3 only.
    @Test(arguments: [("efficientnet_b0", 1e-5, 0.9), ("efficientnet_b4", 1e-5, 0.9), ("efficientnet_b5", 1e-3, 0.99),
                      ("efficientnet_b7", 1e-3, 0.99), ("efficientnet_v2_s", 1e-3, 0.9), ("efficientnet_v2_l", 1e-3, 0.9)])
    func batchNormSettingsFollowTheBuilder(_ name: String, _ eps: Double, _ kerasMomentum: Double) throws {
        let norms = try keras(name).layers.filter { $0.className == "BatchNormalization" }
        #expect(!norms.isEmpty)
        for layer in norms {
            #expect(layer.configValue("epsilon") == .double(eps), "\(name) \(layer.name)")
            #expect(layer.configValue("momentum") == .double(kerasMomentum), "\(name) \(layer.name)")
        }
    }

    @Test func mbConvPadsStridedDepthwiseConvsSymmetrically() throws {
        let model = try keras("efficientnet_b0")
        // features.3.0: depthwise 5×5, stride 2, padding 2 → ZeroPadding2D(2) + valid
        #expect(model.layer("features_3_0_block_1_0")?.className == "DepthwiseConv2D")
        #expect(model.layer("features_3_0_block_1_0_pad")?.configValue("padding") == .array([.array([.int(2), .int(2)]), .array([.int(2), .int(2)])]))
        #expect(model.layer("features_3_0_block_1_0")?.configValue("padding") == .string("valid"))
        // features.3.1: the same kernel at stride 1 is Keras's symmetric `same`
        #expect(model.layer("features_3_1_block_1_0")?.configValue("padding") == .string("same"))
        #expect(model.layer("features_3_1_block_1_0_pad") == nil)
        // SE: SiLU between the 1×1 convs, sigmoid gate, then the product with the block's map
        #expect(model.layer("features_3_1_block_2_activation")?.configValue("activation") == .string("silu"))
        #expect(model.layer("features_3_1_block_2_scale_activation")?.configValue("activation") == .string("sigmoid"))
        #expect(model.layers.filter { $0.className == "Multiply" }.count == 16)
        // residuals only where stride 1 and channels equal: 16 blocks, 7 stage heads change shape
        #expect(model.layers.filter { $0.className == "Add" }.count == 9)
        #expect(model.layer("features_0_2")?.configValue("activation") == .string("silu"))
    }

    @Test func fusedMBConvIsAFullConvWithoutSqueezeExcitation() throws {
        let graph = try #require(Registry.named("efficientnet_v2_s")).graph(ArchitectureOptions(classes: 10, imageSize: 64))
        let convs = graph.nodes.filter { $0.torchPath.hasPrefix("features.2.0.block.") }.compactMap { n in n.as(Conv2DOp.self).map { (n.torchPath, $0) } }
        #expect(convs.map(\.0) == ["features.2.0.block.0.0", "features.2.0.block.1.0"])
        #expect(convs.map { $0.1.groups } == [1, 1])
        #expect(convs.map { $0.1.kernel.0 } == [3, 1])
        #expect(convs.map { $0.1.stride.0 } == [2, 1])
        // stage 1 (expand ratio 1): one 3×3 conv per block, with its activation
        let first = graph.nodes.filter { $0.torchPath.hasPrefix("features.1.0.block.") }.map(\.torchPath)
        #expect(first == ["features.1.0.block.0.0", "features.1.0.block.0.1", "features.1.0.block.0.2"])
        #expect(!graph.nodes.contains { $0.torchPath.hasPrefix("features.3.") && $0.torchPath.contains("fc1") })
        #expect(graph.nodes.contains { $0.torchPath == "features.4.0.block.2.fc1" })
    }
}
