import Foundation
import Testing
@testable import Architectures
@testable import Conversion
import KerasIO
import TorchIO
import ZooCore
@testable import ZooGraph

/// The streaming writer (checkpoint → slabs → reserved HDF5 datasets, in place or through a
/// converted copy) against the in-memory reference (`KerasWeightBuilder.build`: whole tensors,
/// `Transform.apply`), on the built-in example saved by real PyTorch and safetensors in every
/// layout (scripts/make_conversion_fixtures.py), in every Keras format.
@Suite struct StreamingTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/conversion")

    static func folder() throws -> String {
        let path = NSTemporaryDirectory() + "zoo-stream-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func options() throws -> ArchitectureOptions {
        let config = try JSONValue.parse(Array(FileManager.default.contents(atPath: Example.folder.appendingPathComponent("config.json").path)!))
        return ArchitectureOptions(transformer: try BERT.config(fromHuggingFace: config, pooler: true))
    }

    static func request(_ checkpoint: String, _ output: String) -> ConversionRequest {
        var request = ConversionRequest(checkpoint: checkpoint, output: output, format: KerasFormat(path: output)!)
        request.verify = true
        return request
    }

    @Test(arguments: ["../../../examples/bert-tiny/pytorch_model.pth", "legacy.pth", "float16.safetensors", "bfloat16.pth", "views.pth"])
    func streamedFilesHoldWhatTheReferenceComputes(_ name: String) throws {
        let path = Self.fixtures.appendingPathComponent(name).standardized.path
        let checkpoint = try Checkpoint.open(path)
        let arch = Registry.named("bert")!
        let (graph, report, model, _) = try Converter.prepare(checkpoint, arch, try Self.options(), mismatch: nil)
        let reference = try KerasWeightBuilder.build(checkpoint: checkpoint, graph: graph, model: model, report: report)
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for format in KerasFormat.allCases {
            let output = folder + "/model" + format.fileExtension
            let result = try Converter.convert(Self.request(path, output), checkpoint: checkpoint, architecture: arch, options: try Self.options())
            #expect(result.verification?.passed == true, "\(name) → \(format)")
            let back = try KerasFile.read(output, expecting: model)
            #expect(back.keys.sorted() == reference.keys.sorted())
            for (layer, tensors) in reference {
                #expect(back[layer] == tensors, "\(name) → \(format): \(layer)")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["model.h5", "model.keras", "model.weights.h5"])
    }

    /// `--dtype float16`: every dataset holds IEEE halves (the reference rounded to nearest
    /// even), the file is smaller, and verification passes at the float16 tolerance.
    @Test(arguments: KerasFormat.allCases)
    func float16FilesHoldRoundedWeights(_ format: KerasFormat) throws {
        let checkpoint = try Checkpoint.open(Example.checkpoint)
        let arch = Registry.named("bert")!
        let (graph, report, model, _) = try Converter.prepare(checkpoint, arch, try Self.options(), mismatch: nil)
        let reference = try KerasWeightBuilder.build(checkpoint: checkpoint, graph: graph, model: model, report: report)
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var sizes: [KerasDType: Int] = [:]
        for dtype in KerasDType.allCases {
            let output = folder + "/\(dtype.rawValue)" + format.fileExtension
            var request = Self.request(Example.checkpoint, output)
            request.dtype = dtype
            let result = try Converter.convert(request, checkpoint: checkpoint, architecture: arch, options: try Self.options())
            #expect(result.verification?.passed == true)
            #expect(result.verification?.tolerance == (dtype == .float16 ? 1e-2 : 1e-4))
            sizes[dtype] = result.outputBytes
            guard dtype == .float16 else { continue }
            #expect((result.verification?.maxRelative ?? 1) > 0, "rounding must show")
            let back = try KerasFile.read(output, expecting: model)
            for (layer, tensors) in reference {
                let rounded = try tensors.map { Tensor(shape: $0.shape, floats: try $0.floats().map { Float(Float16($0)) }) }
                #expect(back[layer] == rounded, "\(format) \(layer)")
            }
        }
        let weightBytes = reference.values.flatMap { $0 }.reduce(0) { $0 + $1.count }
        // two bytes fewer a weight; HDF5 lays small datasets out a little differently (< 1 KB)
        #expect(abs(sizes[.float32]! - sizes[.float16]! - weightBytes * 2) < 1024, "\(sizes) for \(weightBytes / 4) weights")
    }

    /// A flipped byte inside a tensor record of a zip checkpoint: the in-place path checks the
    /// record's CRC-32, names the record and leaves nothing behind.
    @Test func aDamagedRecordIsRefused() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var bytes = try #require(FileManager.default.contents(atPath: Example.checkpoint).map { [UInt8]($0) })
        let stored = bytes.withUnsafeBytes { ZipDirectory($0).stored }
        let (record, entry) = try #require(stored.filter { $0.key.hasSuffix("/data/0") }.first)
        bytes[entry.range.lowerBound + 5] ^= 0x40
        let damaged = folder + "/damaged.pth"
        #expect(FileManager.default.createFile(atPath: damaged, contents: Data(bytes)))
        let checkpoint = try Checkpoint.open(damaged)
        let output = folder + "/model.keras"
        let error = #expect(throws: ZooError.self) {
            try Converter.convert(Self.request(damaged, output), checkpoint: checkpoint, architecture: Registry.named("bert")!,
                                  options: try Self.options())
        }
        #expect(error?.kind == .format)
        #expect(error?.message.contains("CRC-32") == true && error?.message.contains(record) == true, "\(error?.message ?? "")")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["damaged.pth"])
    }
}
