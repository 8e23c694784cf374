import Testing
@testable import Architectures
import ZooCore
@testable import ZooGraph

/// What the descriptor-wide tests do not see: DenseNet's legacy key spelling, Inception's
/// training-only auxiliary classifiers (present or absent, always strict) and transform_input
/// (an option the weights cannot show).
@Suite struct DenseNetInceptionTests {
    static func reference(_ name: String) throws -> TensorShapes {
        TensorShapes(try #require(Reference.torch.first { $0.arch == name }).entries)
    }

    /// What torchvision's `_load_state_dict` pattern rewrites, applied the other way.
    static func oldSpelling(_ key: String) -> String {
        var parts = key.split(separator: ".").map(String.init)
        let n = parts.count
        guard n >= 3, parts[n - 3].hasPrefix("denselayer"), ["weight", "bias", "running_mean", "running_var"].contains(parts[n - 1]),
              let last = parts[n - 2].last, last == "1" || last == "2" else { return key }
        let stem = String(parts[n - 2].dropLast())
        guard ["norm", "conv"].contains(stem) else { return key }
        parts[n - 2] = stem + "." + String(last)
        return parts.joined(separator: ".")
    }

    @Test(arguments: ["densenet121", "densenet161", "densenet169", "densenet201"])
    func denseNetCheckpointsInTheOldSpellingMatch(_ name: String) throws {
        var shapes = try Self.reference(name)
        // pre-0.4 checkpoints: `norm.1` … and no batch counters
        shapes.entries = shapes.entries.filter { !$0.name.hasSuffix("num_batches_tracked") }.map { (Self.oldSpelling($0.name), $0.shape, $0.dtype) }
        #expect(shapes.names.contains("features.denseblock1.denselayer1.norm.1.weight"))
        #expect(shapes.names.contains("features.denseblock4.denselayer16.conv.2.weight"))
        let (_, report) = try #require(Registry.named(name)).match(shapes)
        #expect(report.isExact, "\(report.description)")
        #expect(report.sourceKey["features.denseblock2.denselayer3.norm2.running_var"] == "features.denseblock2.denselayer3.norm.2.running_var")
        #expect(Registry.all.filter { $0.match(shapes).1.isExact }.map(\.name) == [name])
    }

    @Test func onlyTorchvisionsPatternIsRewritten() {
        let cases = [
            ("features.denseblock1.denselayer12.norm.1.weight", "features.denseblock1.denselayer12.norm1.weight"),
            ("features.denseblock3.denselayer2.conv.2.weight", "features.denseblock3.denselayer2.conv2.weight"),
            ("features.denseblock3.denselayer2.relu.1.bias", "features.denseblock3.denselayer2.relu1.bias"),
            ("features.denseblock1.denselayer1.norm1.weight", "features.denseblock1.denselayer1.norm1.weight"),
            ("features.transition1.norm.weight", "features.transition1.norm.weight"),
            ("features.denseblock1.denselayer1.norm.3.weight", "features.denseblock1.denselayer1.norm.3.weight"),
            ("features.denseblock1.denselayer1.norm.1.num_batches_tracked", "features.denseblock1.denselayer1.norm.1.num_batches_tracked"),
            ("features.denseblock1.denselayerx.norm.1.weight", "features.denseblock1.denselayerx.norm.1.weight"),
            ("denselayer1.norm.1.weight", "denselayer1.norm1.weight"),
        ]
        for (key, expected) in cases { #expect(DenseNet.currentSpelling(key) == expected, "\(key)") }
    }

    @Test func bothSpellingsAtOnceAreNotAccepted() throws {
        var shapes = try Self.reference("densenet121")
        let key = "features.denseblock1.denselayer1.norm1.weight"
        let shape = try #require(shapes[key])
        shapes.entries.append(("features.denseblock1.denselayer1.norm.1.weight", shape, .float32))
        let report = try #require(Registry.named("densenet121")).match(shapes).1
        #expect(!report.isExact)
        #expect(report.unexpected.map(\.name).contains { $0.hasPrefix("features.denseblock1.denselayer1.norm") })
    }

    static let auxiliary = [("googlenet", ["aux1.", "aux2."]), ("inception_v3", ["AuxLogits."])]

    @Test(arguments: auxiliary)
    func checkpointsWithoutAuxiliaryClassifiersMatchStrictly(_ name: String, _ prefixes: [String]) throws {
        let arch = try #require(Registry.named(name))
        let full = try Self.reference(name)
        var bare = full
        bare.entries.removeAll { e in prefixes.contains { e.name.hasPrefix($0) } }
        #expect(bare.entries.count < full.entries.count)
        let (graph, report) = arch.match(bare)
        #expect(report.isExact, "\(report.description)")
        #expect(Registry.all.filter { $0.match(bare).1.isExact }.map(\.name) == [name])
        // the Keras model is the same inference model either way
        let withAux = try arch.graph(arch.infer(full))
        #expect(try #require(graph).kerasModel().layers.map(\.name) == (try withAux.kerasModel().layers.map(\.name)))
        #expect(try withAux.kerasModel().outputs == ["predictions"])
    }

    @Test(arguments: auxiliary)
    func auxiliaryClassifiersAreMatchedButNotCarried(_ name: String, _ prefixes: [String]) throws {
        let arch = try #require(Registry.named(name))
        let graph = try arch.graph()
        let aux = graph.parameters.filter { p in prefixes.contains { p.torchName.hasPrefix($0) } }
        #expect(!aux.isEmpty)
        #expect(aux.allSatisfy { $0.transform == .drop && $0.kerasLayer == nil })
        #expect(try !graph.kerasModel().layers.contains { l in prefixes.contains { l.name.hasPrefix($0.dropLast()) } })
        // strict: one auxiliary tensor missing, or of another shape, is an error
        var shapes = try Self.reference(name)
        let i = try #require(shapes.entries.lastIndex { e in prefixes.contains { e.name.hasPrefix($0) } })
        let dropped = shapes.entries.remove(at: i)
        #expect(arch.match(shapes).1.missing.map(\.name) == [dropped.name])
        shapes.entries.insert((dropped.name, dropped.shape.map { $0 + 1 }, dropped.dtype), at: i)
        #expect(arch.match(shapes).1.mismatched.map(\.name) == [dropped.name])
    }

    @Test(arguments: ["googlenet", "inception_v3"])
    func transformInputIsAnOptionTheWeightsCannotShow(_ name: String) throws {
        let arch = try #require(Registry.named(name))
        let off = try arch.graph(), on = try arch.graph(ArchitectureOptions(transformInput: true))
        #expect(off.torchEntries.map(\.name) == on.torchEntries.map(\.name))
        #expect(off.torchEntries.map(\.shape) == on.torchEntries.map(\.shape))
        // nothing read off a checkpoint decides it: the builder's default (off) unless asked
        #expect(arch.infer(try Self.reference(name)).transformInput == nil)
        #expect(arch.defaults.transformInput == false)
        #expect(try off.kerasModel().layer("transform_input") == nil)
        let rescaling = try #require(try on.kerasModel().layer("transform_input"))
        #expect(rescaling.className == "Rescaling")
        let scale = rescaling.configValue("scale")?.array?.compactMap(\.double) ?? []
        let offset = rescaling.configValue("offset")?.array?.compactMap(\.double) ?? []
        #expect(zip(scale, [0.458, 0.448, 0.45]).allSatisfy { abs($0 - $1) < 1e-7 })
        #expect(zip(offset, [-0.03, -0.088, -0.188]).allSatisfy { abs($0 - $1) < 1e-7 })
    }

    @Test func inceptionKeepsTorchvisionsPoolingAndKernels() throws {
        let keras = try #require(Registry.named("inception_v3")).graph(ArchitectureOptions(imageSize: 299)).kerasModel()
        // F.avg_pool2d(3, 1, 1) counts its padding: zero padding + a valid pool, never `same`
        let pool = try #require(keras.layers.first { $0.className == "AveragePooling2D" && $0.name.hasPrefix("Mixed_5b") })
        #expect(pool.configValue("padding") == .string("valid"))
        #expect(keras.layer(try #require(pool.inbound.first))?.className == "ZeroPadding2D")
        #expect(keras.layer("Mixed_6b_branch7x7_2_conv")?.configValue("kernel_size") == .array([.int(1), .int(7)]))
        #expect(keras.layer("Mixed_6b_branch7x7_3_conv")?.configValue("kernel_size") == .array([.int(7), .int(1)]))
        #expect(keras.layer("Mixed_6b_branch7x7_3_conv")?.configValue("padding") == .string("same"))
        #expect(keras.layer("Conv2d_1a_3x3_bn")?.configValue("epsilon") == .double(1e-3))
        #expect(keras.layer("Mixed_7c_concat_2")?.outputShape == [8, 8, 2048]) // after the two branch concatenations
    }

    @Test func googLeNetPoolsWithCeilMode() throws {
        let graph = try #require(Registry.named("googlenet")).graph()
        #expect(graph.nodes.first { $0.torchPath == "maxpool1" }?.shape == [64, 56, 56]) // floor would give 55
        let keras = try graph.kerasModel()
        #expect(keras.layer("maxpool1_pad")?.configValue("padding") == .array([.array([.int(0), .int(1)]), .array([.int(0), .int(1)])]))
        #expect(keras.layer("inception3a_branch1_bn")?.configValue("epsilon") == .double(1e-3))
    }

    /// PyTorch's `pooling_output_shape`: with ceil_mode a window may start in the input and
    /// reach past its end, even when the input is smaller than the window.
    @Test func ceilModeOutputSizesArePyTorchs() {
        let pool = Pool2DOp(kind: .max, kernel: 3, stride: 2, padding: 0, ceilMode: true)
        #expect([2, 3, 4, 8, 112].map(pool.outputSize) == [1, 1, 2, 4, 56])
        let floor = Pool2DOp(kind: .max, kernel: 3, stride: 2, padding: 0)
        #expect([2, 3, 4, 8, 112].map(floor.outputSize) == [0, 1, 1, 3, 55])
        let padded = Pool2DOp(kind: .max, kernel: 3, stride: 1, padding: 1, ceilMode: true)
        #expect([1, 7].map(padded.outputSize) == [1, 7])
    }
}
