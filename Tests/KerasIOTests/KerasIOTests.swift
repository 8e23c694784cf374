import Architectures
import Foundation
@testable import KerasIO
import Testing
import ZooCore
import ZooGraph

// MARK: - real Keras files

/// tiny.* were written by real Keras 3.15.1 / tf_keras 2.21 (scripts/make_reference_keras.py):
/// weight i in model.weights order holds (i+1) + arange(n)/1000.
@Suite struct ReadingRealKerasFiles {
    static let expected: [(layer: String, shapes: [[Int]])] = [
        ("conv1_conv", [[3, 3, 3, 4]]),
        ("conv1_bn", [[4], [4], [4], [4]]),
        ("predictions", [[4, 5], [5]]),
    ]

    static func check(_ weights: KerasWeights, legacyNames: Bool = false) throws {
        #expect(Set(weights.keys) == Set(expected.map(\.layer)))
        var i = 0
        for (layer, shapes) in expected {
            let tensors = try #require(weights[layer])
            #expect(tensors.map(\.shape) == shapes, "\(layer)")
            for tensor in tensors {
                let values = try tensor.floats()
                let documented = (0..<values.count).map { Float(Double(i + 1) + Double($0) / 1000) }
                #expect(values == documented, "\(layer) weight \(i)")
                i += 1
            }
        }
    }

    @Test func weightsH5() throws {
        try Self.check(try KerasFile.read(Fixtures.path("tiny.weights.h5")))
    }

    @Test func legacyH5() throws {
        try Self.check(try KerasFile.read(Fixtures.path("tiny.h5")))
    }

    @Test func kerasArchive() throws {
        let archive = try KerasFile.readArchive(Fixtures.path("tiny.keras"))
        try Self.check(archive.weights)
        #expect(archive.layers.map(\.name) == ["input_layer", "zero_padding2d", "conv1_conv", "conv1_bn", "re_lu",
                                                "global_average_pooling2d", "predictions"])
        #expect(archive.layers.map(\.className) == ["InputLayer", "ZeroPadding2D", "Conv2D", "BatchNormalization", "ReLU",
                                                     "GlobalAveragePooling2D", "Dense"])
        #expect(archive.kerasVersion == "3.15.1")
        try Self.check(try KerasFile.read(Fixtures.path("tiny.keras")))
    }
}

// MARK: - what zoo writes matches what Keras writes

@Suite struct MatchingRealKeras {
    /// The transformer of scripts/make_reference_keras_transformer.py, built with zoo's
    /// vocabulary under the same layer names.
    static func referenceTransformer() throws -> KerasModel {
        let g = GraphBuilder(name: "functional")
        let ids = g.input("input_ids", kind: .tokens, shape: [-1])
        let mask = g.input("attention_mask", kind: .tokens, shape: [-1])
        var x = g.embedding(ids, torch: "word", keras: "word_embeddings", count: 50, dimension: 8)
        x = g.layerNorm(x, torch: "ln", keras: "embeddings_layer_norm", eps: 1e-12)
        for i in 0..<2 {
            let k = "encoder_layer_\(i)"
            let p = AttentionOp.Projections(query: "\(i).q", key: "\(i).k", value: "\(i).v", output: "\(i).o")
            let a = g.attention(x, mask: mask, torch: "\(i).attention", keras: "\(k)_attention", heads: 2, projections: p)
            x = g.add(a, x, keras: "\(k)_attention_add")
            x = g.layerNorm(x, torch: "\(i).ln1", keras: "\(k)_attention_layer_norm", eps: 1e-12)
            var h = g.linear(x, torch: "\(i).fc1", keras: "\(k)_intermediate", out: 16, activation: .gelu)
            h = g.linear(h, torch: "\(i).fc2", keras: "\(k)_output", out: 8)
            x = g.add(h, x, keras: "\(k)_output_add")
            x = g.layerNorm(x, torch: "\(i).ln2", keras: "\(k)_output_layer_norm", eps: 1e-12)
        }
        var p = g.firstToken(x, keras: "pooler_first_token", maxLength: 16)
        p = g.dropout(p, keras: "pooler_dropout", rate: 0.1)
        p = g.linear(p, torch: "pooler", keras: "pooler_dense", out: 8, activation: .tanh)
        return try g.build(outputs: [x, p]).kerasModel()
    }

    /// zoo keeps ZooGraph's name for the Flatten it turns into a Reshape.
    static func referenceName(_ name: String) -> String {
        name == "pooler_first_token_flatten" ? "pooler_first_token_reshape" : name
    }

    /// Layer order (the .weights.h5 counters and legacy pairing depend on it) and the `.weights.h5`
    /// groups, datasets and `name` attributes, against transformer_layout.txt.
    @Test func transformerLayoutAndOrder() throws {
        let model = try Self.referenceTransformer()
        let saved = try SavedModel(model)
        let text = try Fixtures.text("transformer_layout.txt").components(separatedBy: "\n")
        let start = text.firstIndex(of: "model.layers / weights (Keras 3 order):")! + 1
        let reference = text[start...].prefix { !$0.isEmpty }.map { $0.split(separator: " ").map(String.init) }
        #expect(saved.layers.map { Self.referenceName($0.name) } == reference.map { $0[0] })
        #expect(saved.layers.map(\.className) == reference.map { $0[1] })

        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.file("t.weights.h5")
        try KerasFile.write(model, weights: randomWeights(model, seed: 1), to: path)
        let ours = try h5Listing(path).map { $0.replacingOccurrences(of: "pooler_first_token_flatten", with: "pooler_first_token_reshape") }
        // The reference dump: "<path>/  (group …" then "@name: … = 'x'", and "<path>  (dataset) … shape=(a, b)".
        let section = text.drop { !$0.hasPrefix("### HDF5: transformer.weights.h5") }.dropFirst().prefix { !$0.hasPrefix("###") }
        var theirs: [String] = []
        for line in section {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let r = trimmed.range(of: "/  (group") {
                theirs.append(String(trimmed[..<r.lowerBound]) + "/")
            } else if trimmed.hasPrefix("@name:"), let q = trimmed.range(of: "= '") {
                theirs[theirs.count - 1] += " name=" + trimmed[q.upperBound...].dropLast()
            } else if let r = trimmed.range(of: "  (dataset)"), let s = trimmed.range(of: "shape=(") {
                let dims = trimmed[s.upperBound...].prefix { $0 != ")" }.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                theirs.append("\(trimmed[..<r.lowerBound]) \(dims)")
            }
        }
        // Keras names MultiHeadAttention's inner softmax/dropout after a session-wide counter
        // (softmax_1 for the second); loading ignores these names.
        #expect(ours.sorted() == theirs.sorted())
    }

    /// config.json against the one Keras wrote for the same model: every layer's class, config,
    /// build config and call (inbound tensors, keywords), and the model's inputs and outputs.
    @Test func transformerConfig() throws {
        let ours = try KerasFile.functionalConfig(try Self.referenceTransformer())
        let theirs = try Fixtures.jsonAfter("--- config.json (raw", in: "transformer_layout.txt")
        for key in ["module", "class_name", "registered_name", "build_config", "compile_config"] {
            #expect(ours[key] == theirs[key], "\(key)")
        }
        #expect(ours["config"]?["input_layers"] == theirs["config"]?["input_layers"])
        #expect(ours["config"]?["output_layers"] == theirs["config"]?["output_layers"])
        let ourLayers = try #require(ours["config"]?["layers"]?.array)
        let theirLayers = try #require(theirs["config"]?["layers"]?.array)
        #expect(ourLayers.count == theirLayers.count)
        for (a, b) in zip(ourLayers, theirLayers) {
            let name = b["name"]?.string ?? "?"
            let renamed = normalized(try JSONValue.parse(Array(a.serialized.replacingOccurrences(of: "pooler_first_token_flatten", with: "pooler_first_token_reshape").utf8)))
            #expect(renamed == normalized(b), "\(name): ours \(a.serialized)\n theirs \(b.serialized)")
        }
    }

    /// Each class's config against `serialize_keras_object` of a real Keras layer with the same
    /// settings (the last section of transformer_layout.txt).
    @Test func layerConfigsOfEveryClass() throws {
        let g = GraphBuilder(name: "vision")
        var x = g.input("input", kind: .image, shape: [3, 32, 32])
        x = g.conv2d(x, torch: "c0", keras: "c0_conv", out: 4, kernel: 7, stride: 2, padding: 3, bias: false) // ZeroPadding2D(3)
        x = g.conv2d(x, torch: "c1", keras: "c1", out: 4, kernel: 3, stride: 2, bias: true, activation: .relu)
        x = g.batchNorm(x, torch: "bn", keras: "bn", eps: 1e-5, momentum: 0.1)
        x = g.activation(x, .relu, keras: "relu")
        x = g.maxPool2d(x, keras: "max", kernel: 3, stride: 2)
        let pooled = g.avgPool2d(x, keras: "avg", kernel: 2, stride: 2)
        let global = g.globalAvgPool(x, keras: "gap")
        var flat = g.flatten(pooled, keras: "flat")
        flat = g.linear(flat, torch: "fc", keras: "dense", out: 5)
        flat = g.dropout(flat, keras: "drop", rate: 0.5)
        let vision = try g.build(outputs: [flat, global]).kerasModel()
        let transformer = try Self.referenceTransformer()

        let lines = try Fixtures.text("transformer_layout.txt").components(separatedBy: "\n")
        var reference: [String: JSONValue] = [:]
        for (i, line) in lines.enumerated() where line.hasPrefix("--- ") && line.contains("(built on") && i + 1 < lines.count {
            let className = String(line.dropFirst(4).prefix { $0 != " " })
            reference[className] = try JSONValue.parse(Array(lines[i + 1].utf8))
        }
        // InputLayer and MultiHeadAttention are covered by transformerConfig.
        let chosen: Set<String> = ["c0_pad", "c1", "bn", "relu", "max", "avg", "gap", "flat", "dense", "drop", "word_embeddings",
                                   "embeddings_layer_norm", "pooler_first_token", "attention_mask_reshape", "encoder_layer_0_attention_add"]
        var checked = Set<String>()
        for saved in try SavedModel(vision).layers + SavedModel(transformer).layers where chosen.contains(saved.name) {
            let theirs = try #require(reference[saved.className], "no reference for \(saved.className)")
            let ours = try KerasConfig.layerConfig(saved)
            #expect(normalized(ours, dropping: ["name"]) == normalized(theirs["config"]!, dropping: ["name"]), "\(saved.className)")
            checked.insert(saved.className)
        }
        #expect(checked.count == 15)
    }
}

/// A JSON value with object keys sorted, Keras's `shared_object_id` bookkeeping removed, numbers
/// compared by value, and the keys zoo leaves out at their defaults removed.
func normalized(_ value: JSONValue, dropping: Set<String> = []) -> JSONValue {
    let defaults: [String: JSONValue] = ["use_gate": .bool(false), "sliding_window": .null, "quantization_config": .null]
    switch value {
    case .object(let pairs):
        return .object(pairs.filter { key, v in key != "shared_object_id" && !dropping.contains(key) && defaults[key] != v }
            .map { ($0.0, normalized($0.1)) }.sorted { $0.0 < $1.0 })
    case .array(let items): return .array(items.map { normalized($0) })
    case .number(let n): return .number(Double(n).map { String($0) } ?? n)
    default: return value
    }
}

// MARK: - round trips over the registry

@Suite struct RoundTrip {
    /// Large enough to cover every family, small enough for a unit test.
    static let parameterLimit = 30_000_000

    @Test(arguments: Registry.all.map(\.name))
    func everyFormat(_ name: String) throws {
        let graph = try smallGraph(Registry.named(name)!)
        guard graph.parameterCount <= Self.parameterLimit else { return } // VGG, AlexNet, deep ResNets: interop script
        let model = try graph.kerasModel()
        let weights = tiledWeights(model, seed: 7)
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        for format in KerasFormat.allCases {
            let path = folder.file(name + format.fileExtension)
            try KerasFile.write(model, weights: weights, to: path)
            let back = try KerasFile.read(path, expecting: model)
            #expect(identical(back, weights), "\(name)\(format.fileExtension)")
        }
        #expect(folder.contents == KerasFormat.allCases.map { name + $0.fileExtension }.sorted(), "temporary files left behind")
    }

    @Test func mixedLayers() throws {
        let model = try mixedGraph().kerasModel()
        #expect(Set(model.layers.map(\.className)).isSuperset(of: ["ZeroPadding2D", "AveragePooling2D", "Dropout", "MaxPooling2D"]))
        let weights = randomWeights(model, seed: 5)
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        for format in KerasFormat.allCases {
            let path = folder.file("mixed" + format.fileExtension)
            try KerasFile.write(model, weights: weights, to: path)
            #expect(try KerasFile.read(path, expecting: model) == weights)
        }
    }

    @Test func smallModelsAreCovered() throws {
        let covered = try Registry.all.filter { try smallGraph($0).parameterCount <= Self.parameterLimit }.map(\.family)
        #expect(Set(covered).isSuperset(of: ["resnet", "bert"]))
    }

    @Test func bertArchiveNamesItsLayers() throws {
        let model = try smallGraph(Registry.named("bert")!).kerasModel()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.file("bert.keras")
        try KerasFile.write(model, weights: randomWeights(model, seed: 3), to: path)
        let archive = try KerasFile.readArchive(path)
        let names = archive.layers.map(\.name)
        #expect(Set(model.layers.map(\.name)).isSubset(of: Set(names)))
        #expect(names.contains("attention_mask_reshape"))
        #expect(archive.layers.first { $0.name == "pooler_first_token_flatten" }?.className == "Reshape")
        // called as Hugging Face users call BertModel: input_ids and attention_mask
        #expect(archive.config["config"]?["input_layers"]?.array?.compactMap { $0.array?.first?.string } == ["input_ids", "attention_mask"])
        #expect(archive.config["config"]?["output_layers"]?.array?.count == 2)
        let zipNames = try ZipReader(path: path, kind: "a .keras file", displayName: path).names
        #expect(zipNames == ["metadata.json", "config.json", "model.weights.h5"])
    }

    @Test func snakeCase() {
        let cases = ["Conv2D": "conv2d", "BatchNormalization": "batch_normalization", "ReLU": "re_lu",
                     "GlobalAveragePooling2D": "global_average_pooling2d", "ZeroPadding2D": "zero_padding2d",
                     "MultiHeadAttention": "multi_head_attention", "MaxPooling1D": "max_pooling1d", "InputLayer": "input_layer",
                     "AveragePooling2D": "average_pooling2d", "LayerNormalization": "layer_normalization", "Dense": "dense"]
        for (className, snake) in cases { #expect(kerasSnakeCase(className) == snake) }
    }
}

// MARK: - bad input and failed writes

@Suite struct Errors {
    static func expectOneSentence(_ error: ZooError, _ kind: ZooError.Kind, mentioning fragment: String) {
        #expect(error.kind == kind, "\(error)")
        #expect(!error.message.contains("\n"), "\(error)")
        #expect(error.message.contains(fragment), "\(error)")
    }

    static func model() throws -> KerasModel { try smallGraph(Registry.named("bert")!).kerasModel() }

    @Test(arguments: KerasFormat.allCases)
    func missingFile(_ format: KerasFormat) {
        let path = "/nonexistent/model" + format.fileExtension
        let error = #expect(throws: ZooError.self) { try KerasFile.read(path) }
        if let error { Self.expectOneSentence(error, .io, mentioning: path) }
    }

    @Test(arguments: ["tiny.weights.h5", "tiny.h5", "tiny.keras"])
    func truncatedFile(_ name: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let bytes = try Data(contentsOf: Fixtures.keras.appendingPathComponent(name))
        let path = folder.file(name)
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: ZooError.self) { try KerasFile.read(path) }
        if let error { Self.expectOneSentence(error, .format, mentioning: path) }
    }

    @Test func notHDF5() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.file("x.weights.h5")
        try Data("not hdf5".utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: ZooError.self) { try KerasFile.read(path) }
        if let error { Self.expectOneSentence(error, .format, mentioning: "expected an HDF5 file") }
    }

    @Test func archiveWithoutWeights() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.file("x.keras")
        let config = try KerasFile.functionalConfig(try Self.model())
        let zip = ZipWriter(sink: try FileSink(path: path))
        try zip.add("metadata.json", Array("{}".utf8))
        try zip.add("config.json", Array(config.serialized.utf8))
        try zip.finish()
        let error = #expect(throws: ZooError.self) { try KerasFile.read(path) }
        if let error { Self.expectOneSentence(error, .format, mentioning: "model.weights.h5") }
    }

    @Test func wrongLayoutForTheName() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.file("x.h5")
        try FileManager.default.copyItem(atPath: Fixtures.path("tiny.weights.h5"), toPath: path)
        let error = #expect(throws: ZooError.self) { try KerasFile.read(path) }
        if let error { Self.expectOneSentence(error, .format, mentioning: ".weights.h5") }
    }

    @Test func fileOfAnotherModel() throws {
        let error = #expect(throws: ZooError.self) { try KerasFile.read(Fixtures.path("tiny.keras"), expecting: try Self.model()) }
        if let error { Self.expectOneSentence(error, .mismatch, mentioning: "tiny.keras") }
    }

    @Test(arguments: KerasFormat.allCases)
    func shapeMismatchWritesNothing(_ format: KerasFormat) throws {
        let model = try Self.model()
        var weights = randomWeights(model, seed: 1)
        weights["pooler_dense"]![0] = Tensor(shape: [3, 3], floats: Array(repeating: 0, count: 9))
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let error = #expect(throws: ZooError.self) { try KerasFile.write(model, weights: weights, to: folder.file("m" + format.fileExtension)) }
        if let error { Self.expectOneSentence(error, .mismatch, mentioning: "expected shape [16, 16] for 'pooler_dense/kernel', found [3, 3]") }
        #expect(folder.contents.isEmpty)
    }

    @Test func missingAndStrayLayers() throws {
        let model = try Self.model()
        var weights = randomWeights(model, seed: 1)
        weights["word_embeddings"] = nil
        var error = #expect(throws: ZooError.self) { try KerasFile.write(model, weights: weights, to: "/tmp/unused.keras") }
        if let error { Self.expectOneSentence(error, .mismatch, mentioning: "'word_embeddings'") }
        weights = randomWeights(model, seed: 1)
        weights["extra"] = [Tensor(shape: [1], floats: [0])]
        error = #expect(throws: ZooError.self) { try KerasFile.write(model, weights: weights, to: "/tmp/unused.keras") }
        if let error { Self.expectOneSentence(error, .mismatch, mentioning: "'extra'") }
    }

    @Test(arguments: KerasFormat.allCases)
    func failureHalfWayLeavesNothing(_ format: KerasFormat) throws {
        let model = try Self.model()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        struct Injected: Error {}
        #expect(throws: Injected.self) {
            try KerasFile.write(model, weights: randomWeights(model, seed: 1), to: folder.file("m" + format.fileExtension),
                                format: nil, overwrite: false, faultAfterFirstDataset: { throw Injected() })
        }
        #expect(folder.contents.isEmpty)
    }

    @Test func existingFileNeedsOverwrite() throws {
        let model = try Self.model()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.file("m.weights.h5")
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: ZooError.self) { try KerasFile.write(model, weights: randomWeights(model, seed: 1), to: path) }
        if let error { Self.expectOneSentence(error, .usage, mentioning: "already exists") }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("old".utf8))
        try KerasFile.write(model, weights: randomWeights(model, seed: 1), to: path, overwrite: true)
        #expect(try KerasFile.read(path) == randomWeights(model, seed: 1))
        #expect(folder.contents == ["m.weights.h5"])
    }

    @Test func unwritableFolder() throws {
        let model = try Self.model()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        // Permission bits do not stop root, so also try places no one can create files in.
        var targets = ["/proc/zoo-test.keras", folder.file("not-a-folder") + "/m.keras", folder.file("missing") + "/m.keras"]
        try Data().write(to: URL(fileURLWithPath: folder.file("not-a-folder")))
        if geteuid() != 0 {
            let locked = folder.file("locked")
            try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o555])
            targets.append(locked + "/m.keras")
        }
        for target in targets {
            let error = #expect(throws: ZooError.self) { try KerasFile.write(model, weights: randomWeights(model, seed: 1), to: target) }
            if let error { Self.expectOneSentence(error, .io, mentioning: "folder") }
        }
        #expect(folder.contents.filter { $0 != "not-a-folder" && $0 != "locked" }.isEmpty)
        if geteuid() != 0 { #expect(try FileManager.default.contentsOfDirectory(atPath: folder.file("locked")).isEmpty) }
    }

    @Test func unknownExtension() throws {
        let error = #expect(throws: ZooError.self) { try KerasFile.read("model.onnx") }
        if let error { Self.expectOneSentence(error, .usage, mentioning: "model.onnx") }
    }
}
