import Foundation
import Testing
@testable import Architectures
import ZooCore
@testable import ZooGraph

/// Reference lists written by real torchvision / transformers / Keras
/// (scripts/make_reference_keys.py, scripts/make_reference_keras.py).
enum Reference {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/reference")

    struct Torch {
        var file: String
        var arch: String
        var entries: [(name: String, shape: [Int], dtype: DType)]
        var config: JSONValue?
        var fileKeys: [(name: String, shape: [Int], dtype: DType)]?
    }

    static func parseEntries(_ v: JSONValue?) -> [(name: String, shape: [Int], dtype: DType)]? {
        v?.array?.map { e in
            let items = e.array ?? []
            return (items[0].string ?? "?", items[1].array?.compactMap(\.int) ?? [], DType(rawValue: items[2].string ?? "") ?? .float32)
        }
    }

    static let torch: [Torch] = {
        let dir = folder.appendingPathComponent("torch")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return files.filter { $0.hasSuffix(".json") }.sorted().compactMap { file in
            guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent(file).path),
                  let json = try? JSONValue.parse(Array(data)), let arch = json["arch"]?.string else { return nil }
            return Torch(file: file, arch: arch, entries: parseEntries(json["state_dict"]) ?? [], config: json["config"],
                         fileKeys: parseEntries(json["file_keys"]))
        }
    }()

    /// References of registered architectures (make_reference_keys.py lists every torchvision
    /// classification model, including those zoo has no descriptor for yet).
    static let registered: [Torch] = torch.filter { ref in
        Registry.named(ref.arch) != nil || Registry.all.contains { ref.arch.hasPrefix($0.name + "_") }
    }

    /// The registered architecture a reference describes, and the options that size it.
    static func architecture(for ref: Torch) throws -> (Architecture, ArchitectureOptions) {
        let arch = try #require(Registry.named(ref.arch) ?? Registry.all.first { ref.arch.hasPrefix($0.name + "_") },
                                "no architecture for \(ref.arch)")
        var options = ArchitectureOptions()
        if let config = ref.config {
            // as conversion reads it: the family's own config reader, over what the weights say
            let hf = try #require(arch.huggingFace, "\(ref.arch) has a config but \(arch.name) reads none")
            options = try hf.read(config, arch.infer(TensorShapes(ref.entries)))
        }
        return (arch, options)
    }

    static func keras(_ name: String) -> JSONValue? {
        FileManager.default.contents(atPath: folder.appendingPathComponent("keras/\(name).json").path)
            .flatMap { try? JSONValue.parse(Array($0)) }
    }
}

@Suite struct DescriptorTests {
    /// The test command proves one or two architectures a family against the real frameworks
    /// (interop --ci, the CI nightly): no family may be left to the nightly matrix alone.
    @Test func everyFamilyIsProvenInCI() {
        let proven = Set(Registry.all.filter { Registry.provenInCI.contains($0.name) }.map(\.family))
        let families = Set(Registry.all.map(\.family))
        #expect(families.subtracting(proven).isEmpty, "families proven only nightly: \(families.subtracting(proven).sorted())")
        #expect(Registry.provenInCI.allSatisfy { Registry.named($0) != nil }, "unknown names in provenInCI")
    }

    @Test(arguments: Registry.all.map(\.name))
    func everyArchitectureHasAReferenceAndBuilds(_ name: String) throws {
        let arch = try #require(Registry.named(name))
        #expect(Reference.torch.contains { $0.arch == name || $0.arch.hasPrefix(name + "_") }, "no reference list for \(name)")
        let graph = try arch.graph()
        #expect(graph.parameterCount > 0)
        let keras = try graph.kerasModel()
        // every Keras weight is fed by exactly one mapping entry, constant or computed weight
        let direct = graph.parameters.filter { if case .derived = $0.transform { return false } else { return true } }
        let mapped = direct.compactMap { p in p.kerasLayer.map { "\($0)/\(p.kerasWeight!)" } }
            + graph.constants.map { "\($0.layer)/\($0.weight)" } + graph.derived.map { "\($0.layer)/\($0.weight)" }
        // a computed weight is made of entries the graph states, each saying which weight it goes into
        let feeding = Set(graph.parameters.compactMap { p -> String? in
            if case .derived = p.transform { return "\(p.torchName)→\(p.kerasLayer ?? "")/\(p.kerasWeight ?? "")" } else { return nil }
        })
        for d in graph.derived {
            for source in d.sources { #expect(feeding.contains("\(source)→\(d.layer)/\(d.weight)"), "\(source) feeds \(d.layer)/\(d.weight) unstated") }
        }
        let declared = keras.layers.flatMap { l in l.weights.map { "\(l.name)/\($0.name)" } }
        #expect(mapped.sorted() == declared.sorted())
        #expect(Set(mapped).count == mapped.count)
    }

    @Test(arguments: Reference.registered.map(\.file))
    func torchKeysAndShapesEqualTheRealModelInOrder(_ file: String) throws {
        let ref = try #require(Reference.torch.first { $0.file == file })
        let (arch, options) = try Reference.architecture(for: ref)
        let graph = try arch.graph(options)
        let ours = graph.torchEntries
        #expect(ours.map(\.name) == ref.entries.map(\.name))
        #expect(ours.map(\.shape) == ref.entries.map(\.shape))
        #expect(ours.map(\.dtype) == ref.entries.map(\.dtype))
    }

    @Test(arguments: Reference.registered.map(\.file))
    func detectionFindsExactlyTheRightArchitecture(_ file: String) throws {
        let ref = try #require(Reference.torch.first { $0.file == file })
        let (arch, _) = try Reference.architecture(for: ref)
        // what a real checkpoint file holds (the BERT file also carries the position_ids buffer)
        let shapes = TensorShapes(ref.fileKeys ?? ref.entries)
        let exact = Registry.all.filter { $0.match(shapes).1.isExact }
        #expect(exact.contains { $0.name == arch.name })
        // as conversion detects: a config's model type decides; without one, a family whose keys
        // another shares (RoBERTa's are BERT's) is not taken from the weights
        let type = ref.config?["model_type"]?.string
        let detected = exact.filter { a in
            type.map { a.huggingFace?.modelTypes.contains($0) == true } ?? (a.huggingFace?.detectedWithoutConfig != false)
        }
        if type == nil, arch.huggingFace?.detectedWithoutConfig == false {
            // never taken from the weights alone; the family that shares the keys either computes
            // the same function (ELECTRA's are a pooler-less BertModel's) or refuses them without
            // the config (RoBERTa's layout as BERT: ModelTypeTests)
            #expect(!detected.contains { $0.name == arch.name })
        } else {
            #expect(detected.map(\.name) == [arch.name])
        }
    }

    @Test(arguments: ["vgg16", "vgg19"])
    func vggKerasLayersEqualKerasApplications(_ name: String) throws {
        let reference = try #require(Reference.keras(name))
        let ours = try #require(Registry.named(name)).graph().kerasModel()
        let theirs = (reference["layers"]?.array ?? []).filter { $0["class"]?.string != "InputLayer" }
        let mine = ours.layers.filter { $0.className != "InputLayer" }
        #expect(mine.map(\.name) == theirs.map { $0["name"]?.string ?? "" })
        #expect(mine.map(\.className) == theirs.map { $0["class"]?.string ?? "" })
        for (layer, their) in zip(mine, theirs) {
            let shapes = (their["weights"]?.array ?? []).map { $0.array?[1].array?.compactMap(\.int) ?? [] }
            #expect(layer.weights.map(\.shape) == shapes, "\(layer.name)")
        }
    }

    @Test func resnetKeepsTorchvisionPaddingWithExplicitZeroPadding() throws {
        let keras = try #require(Registry.named("resnet50")).graph().kerasModel()
        #expect(keras.layer("conv1_pad")?.className == "ZeroPadding2D")
        #expect(keras.layer("conv1_conv")?.configValue("padding") == .string("valid"))
        #expect(keras.layer("pool1_pad")?.className == "ZeroPadding2D")
        // stride-1 3×3 with padding 1 is Keras's symmetric 'same'
        #expect(keras.layer("conv2_block1_2_conv")?.configValue("padding") == .string("same"))
        // stride-2 3×3 (v1.5: the stride sits on the 3×3) needs explicit padding
        #expect(keras.layer("conv3_block1_2_pad") != nil)
        #expect(keras.layer("conv3_block1_2_conv")?.configValue("strides") == .array([.int(2), .int(2)]))
        #expect(keras.layer("conv3_block1_1_conv")?.configValue("strides") == .array([.int(1), .int(1)]))
        #expect(keras.layer("conv3_block1_0_conv") != nil)
        #expect(keras.layer("conv1_bn")?.configValue("epsilon") == .double(1e-5))
        #expect(keras.layer("conv1_conv")?.configValue("use_bias") == .bool(false))
        #expect(keras.outputs == ["predictions"])
    }

    @Test func vggFirstDenseGetsTheFlattenPermutation() throws {
        let graph = try #require(Registry.named("vgg16")).graph()
        let fc1 = try #require(graph.parameters.first { $0.torchName == "classifier.0.weight" })
        #expect(fc1.transform == .denseKernelAfterFlatten(channels: 512, height: 7, width: 7))
        let fc2 = try #require(graph.parameters.first { $0.torchName == "classifier.3.weight" })
        #expect(fc2.transform == .denseKernel)
        // ResNet's fc follows a global pool, not a flatten of a map: plain transpose
        let fc = try #require(Registry.named("resnet18")).graph().parameters.first { $0.torchName == "fc.weight" }
        #expect(fc?.transform == .denseKernel)
    }
}

@Suite struct MatchingTests {
    func shapes(_ name: String) throws -> TensorShapes {
        let ref = try #require(Reference.torch.first { $0.arch == name })
        return TensorShapes(ref.entries)
    }

    @Test func wrongArchitectureIsReportedNotCrashed() throws {
        let report = try #require(Registry.named("resnet50")).match(shapes("resnet18")).1
        #expect(!report.isExact)
        #expect(!report.missing.isEmpty)
        #expect(!report.mismatched.isEmpty || !report.unexpected.isEmpty)
        #expect(report.description.contains("does not match resnet50"))
    }

    @Test func renamedTensorIsMissingPlusUnexpected() throws {
        var s = try shapes("resnet18")
        let i = try #require(s.entries.firstIndex { $0.name == "layer2.0.conv1.weight" })
        s.entries[i].name = "layer2.0.conv_1.weight"
        let report = try #require(Registry.named("resnet18")).match(s).1
        #expect(report.missing.map(\.name) == ["layer2.0.conv1.weight"])
        #expect(report.unexpected.map(\.name) == ["layer2.0.conv_1.weight"])
        #expect(report.mismatched.isEmpty)
    }

    @Test func reshapedTensorNamesBothShapes() throws {
        var s = try shapes("resnet18")
        let i = try #require(s.entries.firstIndex { $0.name == "layer3.1.bn2.running_var" })
        s.entries[i].shape = [255]
        let report = try #require(Registry.named("resnet18")).match(s).1
        #expect(report.mismatched == [.init(name: "layer3.1.bn2.running_var", expected: [256], found: [255])])
        #expect(report.description.contains("expected [256], found [255]"))
    }

    @Test func classCountComesFromTheCheckpoint() throws {
        var s = try shapes("resnet18")
        s.entries = s.entries.map { $0.name.hasPrefix("fc.") ? ($0.name, $0.name == "fc.weight" ? [10, 512] : [10], $0.dtype) : $0 }
        let (graph, report) = try #require(Registry.named("resnet18")).match(s)
        #expect(report.isExact)
        #expect(graph?.parameters.last?.torchShape == [10])
    }

    @Test func oldCheckpointsWithoutBatchCountersStillMatch() throws {
        var s = try shapes("resnet18")
        s.entries.removeAll { $0.name.hasSuffix("num_batches_tracked") }
        #expect(try #require(Registry.named("resnet18")).match(s).1.isExact)
    }

    @Test func bertPrefixAndGammaBetaNamesAreAccepted() throws {
        let ref = try #require(Reference.torch.first { $0.arch == "bert_tiny" })
        let renamed = ref.entries.map { e -> (String, [Int], DType) in
            var n = "bert." + e.name
            if n.hasSuffix("LayerNorm.weight") { n = String(n.dropLast(6)) + "gamma" }
            if n.hasSuffix("LayerNorm.bias") { n = String(n.dropLast(4)) + "beta" }
            return (n, e.shape, e.dtype)
        }
        let (graph, report) = try #require(Registry.named("bert")).match(TensorShapes(renamed))
        #expect(report.isExact, "\(report.description)")
        #expect(report.sourceKey["embeddings.LayerNorm.weight"] == "bert.embeddings.LayerNorm.gamma")
        #expect(graph?.outputs.count == 2)
    }
}

@Suite struct TransformTests {
    @Test func convKernelIsTranspose2310() {
        // (out=2, in=3, kh=1, kw=2) with value = 1000o + 100i + 10h + w
        var x: [Float] = []
        for o in 0..<2 { for i in 0..<3 { for w in 0..<2 { x.append(Float(1000 * o + 100 * i + w)) } } }
        let y = Transform.convKernel.apply(x, shape: [2, 3, 1, 2])
        // (kh=1, kw=2, in=3, out=2): y[0][w][i][o]
        var expected: [Float] = []
        for w in 0..<2 { for i in 0..<3 { for o in 0..<2 { expected.append(Float(1000 * o + 100 * i + w)) } } }
        #expect(y == expected)
        #expect(Transform.convKernel.kerasShape([2, 3, 1, 2]) == [1, 2, 3, 2])
    }

    @Test func flattenPermutationReordersColumnsToHWC() {
        // out=1, C=2, H=1, W=2: torch columns (c,h,w) = 00 01 10 11 → Keras rows (h,w,c) = 00 10 01 11
        let y = Transform.denseKernelAfterFlatten(channels: 2, height: 1, width: 2).apply([0, 1, 10, 11], shape: [1, 4])
        #expect(y == [0, 10, 1, 11])
    }

    @Test func headsKernelSplitsOutputFeaturesHeadMajor() {
        // W (out=4, in=2), 2 heads of 2: kernel[i][h][j] = W[2h + j][i]
        let w: [Float] = [0, 1, 10, 11, 20, 21, 30, 31] // W[o][i] = 10o + i
        let k = Transform.headsKernel(heads: 2).apply(w, shape: [4, 2])
        #expect(Transform.headsKernel(heads: 2).kerasShape([4, 2]) == [2, 2, 2])
        #expect(k == [0, 10, 20, 30, 1, 11, 21, 31])
        let fused = Transform.slice(part: 1, of: 3, then: .headsBias(heads: 2)).apply([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], shape: [12])
        #expect(fused == [4, 5, 6, 7])
    }
}

@Suite struct LoweringTests {
    @Test func paddedMaxPoolingNeedsANonNegativeInput() throws {
        let g = GraphBuilder(name: "signed")
        var x = g.input("input", kind: .image, shape: [3, 16, 16])
        x = g.conv2d(x, torch: "conv", keras: "conv", out: 4, kernel: 3, bias: true)
        x = g.maxPool2d(x, keras: "pool", kernel: 3, stride: 2, padding: 1)
        let error = #expect(throws: ZooError.self) { try g.build(outputs: [x]).kerasModel() }
        #expect(error?.message.contains("padded max pooling") == true)

        let ok = GraphBuilder(name: "rectified")
        var y = ok.input("input", kind: .image, shape: [3, 16, 16])
        y = ok.conv2d(y, torch: "conv", keras: "conv", out: 4, kernel: 3, bias: true, activation: .relu)
        y = ok.maxPool2d(y, keras: "pool", kernel: 3, stride: 2, padding: 1)
        #expect(try ok.build(outputs: [y]).kerasModel().layer("pool_pad")?.className == "ZeroPadding2D")
    }

    /// A 2×2 stride-2 conv of a 1×1 map has no window (PyTorch refuses it): ConvNeXt needs 32×32
    /// and up, and 31 is refused when the graph is built, not rounded up to a 1×1 output.
    @Test func convolutionWithNoWindowIsRefused() throws {
        let convnext = try #require(Registry.named("convnext_tiny"))
        let error = #expect(throws: ZooError.self) { try convnext.graph(ArchitectureOptions(imageSize: 31)) }
        #expect(error?.message.contains("input 1×1 is too small for a 2×2 kernel") == true)
        #expect(try convnext.graph(ArchitectureOptions(imageSize: 32)).nodes.last?.shape == [1000])
    }

    /// PyTorch's `MaxPool2d(3, 2, ceil_mode=True)` pools a 2×2 map to 1×1 (its one window starts
    /// inside and is cut at the border), as SqueezeNet 1.0 does at 21×21; without ceil_mode it refuses.
    @Test func ceilModeWindowMayBeLargerThanTheMap() throws {
        #expect(Pool2DOp(kind: .max, kernel: 3, stride: 2, padding: 0, ceilMode: true).outputSize(2) == 1)
        #expect(Pool2DOp(kind: .max, kernel: 3, stride: 2, padding: 0, ceilMode: true).outputSize(1) == 0)
        #expect(Pool2DOp(kind: .max, kernel: 3, stride: 2, padding: 0).outputSize(2) == 0)
        #expect(Pool2DOp(kind: .max, kernel: 3, stride: 2, padding: 0, ceilMode: true).outputSize(54) == 27)
        let g = GraphBuilder(name: "ceil")
        var x = g.input("input", kind: .image, shape: [3, 2, 2])
        x = g.activation(x, .relu, keras: "relu")
        x = g.maxPool2d(x, keras: "pool", kernel: 3, stride: 2, ceilMode: true)
        let keras = try g.build(outputs: [x]).kerasModel()
        #expect(keras.layer("pool")?.outputShape == [1, 1, 3])
        #expect(keras.layer("pool_pad")?.configValue("padding") == .array([.array([.int(0), .int(1)]), .array([.int(0), .int(1)])]))
    }
}

@Suite struct FastTransformTests {
    /// The tiled transposes agree with the plain axis permutation on shapes that do not divide
    /// the tile size.
    @Test func tiledTransformsEqualThePlainPermutation() {
        var rng = SeededGenerator(seed: 3)
        func random(_ n: Int) -> [Float] { (0..<n).map { _ in rng.normal() } }
        let conv = random(37 * 5 * 3 * 2)
        #expect(Transform.convKernel.apply(conv, shape: [37, 5, 3, 2]) == permute(conv, shape: [37, 5, 3, 2], order: [2, 3, 1, 0]))
        let dense = random(45 * 70)
        #expect(Transform.denseKernel.apply(dense, shape: [45, 70]) == permute(dense, shape: [45, 70], order: [1, 0]))
        let flat = random(9 * 6 * 5 * 7)
        let expected = permute(permute(flat, shape: [9, 6, 5, 7], order: [0, 2, 3, 1]), shape: [9, 210], order: [1, 0])
        #expect(Transform.denseKernelAfterFlatten(channels: 6, height: 5, width: 7).apply(flat, shape: [9, 210]) == expected)
    }

    /// Slab by slab, as conversion streams them, on shapes that hit the 8 × 8 block path, its
    /// ragged edges, an inner size past the gather buffer, and slices of a fused projection.
    @Test func slabsAssembleTheWholeTransform() {
        var rng = SeededGenerator(seed: 5)
        let cases: [(Transform, [Int])] = [
            (.convKernel, [70, 33, 3, 3]), (.convKernel, [64, 64, 1, 1]), (.convKernel, [19, 3, 7, 7]),
            (.denseKernel, [129, 260]), (.denseKernel, [16, 8]), (.denseKernelAfterFlatten(channels: 24, height: 3, width: 5), [40, 360]),
            (.convKernel, [9, 2, 20, 21]), (.identity, [77]),
            (.slice(part: 1, of: 3, then: .headsKernel(heads: 4)), [96, 32]), (.slice(part: 2, of: 3, then: .headsBias(heads: 4)), [96]),
            (.columns(part: 1, of: 3, then: .inOutHeadsKernel(heads: 4)), [35, 96]), (.columns(part: 2, of: 3, then: .identity), [9, 30]),
        ]
        for (transform, shape) in cases {
            let x = (0..<shape.reduce(1, *)).map { _ in rng.normal() }
            let whole = transform.apply(x, shape: shape)
            let plan = transform.plan(shape: shape)!
            var expected: [Float]
            switch transform {
            case .identity: expected = x
            case .slice(let part, let of, _):
                let n = x.count / of
                expected = Array(x[(part * n)..<((part + 1) * n)])
                if shape.count == 2 { expected = permute(expected, shape: [shape[0] / of, shape[1]], order: [1, 0]) }
            case .columns(let part, let of, _):
                let (rows, width) = (shape[0], shape[1])
                let n = width / of
                expected = []
                for r in 0..<rows {
                    let start = r * width + part * n
                    expected += x[start..<(start + n)]
                }
            case .denseKernelAfterFlatten: expected = permute(x, shape: [40, 24, 15], order: [2, 1, 0])
            case .denseKernel: expected = permute(x, shape: shape, order: [1, 0])
            default: expected = permute(x, shape: [shape[0], shape[1], shape[2] * shape[3]], order: [2, 1, 0])
            }
            #expect(whole == expected, "\(transform.name) \(shape)")
            for bytes in [1, 700, 5000] {
                var assembled = [Float](repeating: .nan, count: plan.count)
                x.withUnsafeBufferPointer { src in
                    for range in plan.slabs(ofAbout: bytes) {
                        let run = range.count * plan.outer
                        var buffer = [Float](repeating: 0, count: run * plan.inner)
                        buffer.withUnsafeMutableBufferPointer { plan.fill(from: src.baseAddress!, channels: range, into: $0.baseAddress!) }
                        for k in 0..<plan.inner {
                            let start = plan.runStart(k, channelsFrom: range.lowerBound)
                            assembled.replaceSubrange(start..<(start + run), with: buffer[(k * run)..<((k + 1) * run)])
                        }
                    }
                }
                #expect(assembled == whole, "\(transform.name) \(shape) in slabs of \(bytes) bytes")
            }
        }
    }
}
