import Foundation
import Testing
import Architectures
import Conversion
import KerasIO
import TorchIO
import ZooCore
import ZooGraph

/// The Keras-layout pass runs the model the `.keras` file describes (its config.json), so a file
/// whose config was edited — an activation dropped, a BatchNorm epsilon changed, a padding
/// changed, a pool swapped — fails verification and names the first divergent layer, even though
/// every weight is right.
@Suite(.serialized) struct FileModelTests {
    static let folder: String = {
        let path = NSTemporaryDirectory() + "zoo-filemodel-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// A seeded random resnet18 (10 classes) written as torch.save would, and zoo's .keras of it.
    static let files: (checkpoint: String, keras: String)? = {
        let arch = Registry.named("resnet18")!
        guard let graph = try? arch.graph(ArchitectureOptions(classes: 10, imageSize: 32)) else { return nil }
        let checkpoint = folder + "/r18.pth", keras = folder + "/r18.keras"
        guard (try? PthWriter.write(graph.randomStateDict(seed: 3), to: checkpoint, overwrite: true)) != nil,
              let opened = try? Checkpoint.open(checkpoint) else { return nil }
        var request = ConversionRequest(checkpoint: checkpoint, output: keras, format: .keras)
        request.overwrite = true
        guard (try? Converter.convert(request, checkpoint: opened, architecture: arch,
                                      options: ArchitectureOptions(classes: 10, imageSize: 32))) != nil else { return nil }
        return (checkpoint, keras)
    }()

    /// Rewrites `source` with its config.json changed by `edit` (the weights entry kept as is).
    func edited(_ source: String, to target: String, _ edit: (inout [[String: Any]]) -> Void) throws {
        let archive = try ZipArchive(path: source)
        var config = try #require(try JSONSerialization.jsonObject(with: Data(archive.entries["config.json"]!)) as? [String: Any])
        var inner = try #require(config["config"] as? [String: Any])
        var layers = try #require(inner["layers"] as? [[String: Any]])
        edit(&layers)
        inner["layers"] = layers
        config["config"] = inner
        let json = try JSONSerialization.data(withJSONObject: config)
        unlink(target)
        let sink = try FileSink(path: target)
        let zip = ZipWriter(sink: sink)
        try zip.add("metadata.json", archive.entries["metadata.json"]!)
        try zip.add("config.json", Array(json))
        try zip.add("model.weights.h5", archive.entries["model.weights.h5"]!)
        try zip.finish()
        try sink.flush()
    }

    func verify(_ file: String) throws -> VerificationReport {
        let (checkpointPath, _) = try #require(Self.files)
        let checkpoint = try Checkpoint.open(checkpointPath)
        return try Converter.verify(checkpoint: checkpoint, architecture: Registry.named("resnet18")!,
                                    options: ArchitectureOptions(classes: 10, imageSize: 32), kerasFile: file,
                                    seed: 0, batch: 2, tolerance: nil)
    }

    static func setConfig(_ layers: inout [[String: Any]], layer: String, _ key: String, _ value: Any) {
        for i in layers.indices where layers[i]["name"] as? String == layer {
            var config = layers[i]["config"] as! [String: Any]
            config[key] = value
            layers[i]["config"] = config
        }
    }

    @Test func zoosOwnFileRunsFromItsConfig() throws {
        let (_, keras) = try #require(Self.files)
        let report = try verify(keras)
        #expect(report.passed, "\(report.summary)")
        #expect(report.structure == .file)
    }

    @Test(arguments: [
        ("activation dropped", "conv1_relu", "activation", "linear" as Any),
        ("epsilon changed", "conv2_block1_1_bn", "epsilon", 1e-2 as Any),
        ("padding changed", "conv2_block1_1_conv", "padding", "valid" as Any),
    ])
    func anEditedConfigFailsAndNamesTheLayer(_ what: String, _ layer: String, _ key: String, _ value: Any) throws {
        let (_, keras) = try #require(Self.files)
        let target = Self.folder + "/edited.keras"
        try edited(keras, to: target) { Self.setConfig(&$0, layer: layer, key, value) }
        let report = try verify(target)
        #expect(!report.passed, "\(what): \(report.summary)")
        #expect(report.comparison.firstDivergent?.name == layer, "\(what): \(report.comparison.firstDivergent?.name ?? "none")")
    }

    @Test func aSwappedPoolFailsAndNamesTheLayer() throws {
        let (_, keras) = try #require(Self.files)
        let target = Self.folder + "/swapped.keras"
        try edited(keras, to: target) { layers in
            for i in layers.indices where layers[i]["name"] as? String == "pool1_pool" { layers[i]["class_name"] = "AveragePooling2D" }
        }
        let report = try verify(target)
        #expect(!report.passed)
        #expect(report.comparison.firstDivergent?.name == "pool1_pool")
    }

    @Test func aFinalSoftmaxIsNamed() throws {
        let (_, keras) = try #require(Self.files)
        let target = Self.folder + "/softmax.keras"
        try edited(keras, to: target) { Self.setConfig(&$0, layer: "predictions", "activation", "softmax") }
        let report = try verify(target)
        #expect(!report.passed)
        #expect(report.explanation?.contains("ends in a softmax (layer 'predictions')") == true, "\(report.explanation ?? "none")")
    }

    @Test func aLayerZooCannotRunIsRefusedByName() throws {
        let (_, keras) = try #require(Self.files)
        let target = Self.folder + "/lambda.keras"
        try edited(keras, to: target) { layers in
            for i in layers.indices where layers[i]["name"] as? String == "conv1_relu" { layers[i]["class_name"] = "PReLU" }
        }
        #expect(throws: ZooError.self) { _ = try verify(target) }
        do { _ = try verify(target) } catch let error as ZooError {
            #expect(error.message.contains("the layer 'conv1_relu' of class 'PReLU' is not one zoo can run"), "\(error.message)")
        }
    }
}

/// The entries of a small zip, read through zoo's own zip reader.
struct ZipArchive {
    var entries: [String: [UInt8]] = [:]

    init(path: String) throws {
        let reader = try ZipReader(path: path, kind: "a .keras file", displayName: path)
        for name in reader.names { entries[name] = try reader.read(name) }
    }
}
