import Architectures
import Foundation
@testable import KerasIO
import Testing
import ZooCore
import ZooGraph

/// Writes files for scripts/check_keras_files.py, which loads them with real Keras 3 and
/// tf_keras. Runs only when ZOO_INTEROP_OUT names a folder:
///
///     ZOO_INTEROP_OUT=/tmp/interop swift test --scratch-path .build-kerasio --filter KerasInterop
///
/// For each model: `<name>.keras`, `<name>.weights.h5`, `<name>.h5`, all with the same seeded
/// weights; and one `weights.json` describing every model's inputs, outputs and each weight's
/// shape, CRC-32 of its float32 little-endian bytes, and first values.
@Suite struct KerasInterop {
    static let folder = ProcessInfo.processInfo.environment["ZOO_INTEROP_OUT"]

    static func models() throws -> [(name: String, model: KerasModel)] {
        [
            ("resnet18-small", try Registry.named("resnet18")!.graph(ArchitectureOptions(classes: 10, imageSize: 32)).kerasModel()),
            // VGG's adaptive 7×7 pool needs a 224 input; 10 classes keep the last layer small.
            ("vgg11-small", try Registry.named("vgg11")!.graph(ArchitectureOptions(classes: 10, imageSize: 224)).kerasModel()),
            ("bert-tiny", try Registry.named("bert")!.graph(ArchitectureOptions(transformer: tinyBERT)).kerasModel()),
            ("mixed-small", try mixedGraph().kerasModel()),
        ]
    }

    @Test(.enabled(if: folder != nil, "set ZOO_INTEROP_OUT to a folder to write interop files"))
    func writeFiles() throws {
        let folder = try #require(Self.folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var described: [JSONValue] = []
        for (index, (name, model)) in try Self.models().enumerated() {
            let weights = randomWeights(model, seed: UInt64(100 + index))
            var files: [(String, JSONValue)] = []
            for format in KerasFormat.allCases {
                let file = name + format.fileExtension
                try KerasFile.write(model, weights: weights, to: folder + "/" + file, overwrite: true)
                files.append((format.rawValue, .string(file)))
            }
            let inputs: [JSONValue] = model.inputs.map { input in
                let layer = model.layer(input)!
                return .object([("name", .string(input)), ("shape", .array(layer.outputShape.map { .int($0) })), ("dtype", .string(layer.dtype))])
            }
            let layers: [JSONValue] = model.layers.filter { !$0.weights.isEmpty }.map { layer in
                let tensors = weights[layer.name]!
                return .object([
                    ("name", .string(layer.name)), ("class", .string(layer.className)),
                    ("weights", .array(zip(layer.weights, tensors).map { spec, tensor in
                        let head = (try? tensor.floats().prefix(4).map { JSONValue.double(Double($0)) }) ?? []
                        return .object([("name", .string(spec.name)), ("shape", .array(spec.shape.map { .int($0) })),
                                        ("crc32", .int(Int(crc32(tensor.bytes)))), ("head", .array(head))])
                    })),
                ])
            }
            described.append(.object([("name", .string(name)), ("files", .object(files)), ("inputs", .array(inputs)),
                                      ("outputs", .array(model.outputs.map { .string($0) })), ("layers", .array(layers))]))
        }
        let json = JSONValue.object([("generator", .string("Tests/KerasIOTests/KerasInteropTests.swift")), ("models", .array(described))])
        try Data(json.pretty.utf8).write(to: URL(fileURLWithPath: folder + "/weights.json"))
    }
}
