import Foundation
import Testing
@testable import TorchIO
import ZooCore

/// Hugging Face model folders written by real transformers (scripts/make_hf_fixtures.py): the
/// tiny BERT of examples/bert-tiny in every save_pretrained layout reads back as that model.
@Suite struct ModelFolderTests {
    static let hf = Fixtures.root.appendingPathComponent("hf").path
    static let folders = ["bert-tiny-safetensors", "bert-tiny-bin", "bert-tiny-sharded-safetensors", "bert-tiny-sharded-bin"]
    /// The same weights, saved by torch.save alone.
    static let reference = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples/bert-tiny/pytorch_model.pth").path

    static func manifest() throws -> [(name: String, shape: [Int])] {
        let data = try #require(FileManager.default.contents(atPath: "\(hf)/bert-tiny-manifest.json"))
        return try (JSONValue.parse(Array(data))["tensors"]?.array ?? []).map { pair in
            (try #require(pair.array?[0].string), (pair.array?[1].array ?? []).compactMap(\.int))
        }
    }

    func copy(_ folder: String) throws -> String {
        let path = NSTemporaryDirectory() + "zoo-folder-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: "\(Self.hf)/\(folder)", toPath: path)
        return path
    }

    @Test(arguments: folders)
    func everyLayoutReadsAsTheModelThatWroteIt(_ folder: String) throws {
        let path = "\(Self.hf)/\(folder)"
        let checkpoint = try Checkpoint.open(path)
        let reference = try Checkpoint.open(Self.reference)
        #expect(checkpoint.path == path)
        #expect(checkpoint.isFolder)
        let manifest = try Self.manifest()
        #expect(checkpoint.entries.map(\.name).sorted() == manifest.map(\.name).sorted())
        #expect(Set(checkpoint.entries.map(\.name)).count == checkpoint.entries.count)
        for (name, shape) in manifest {
            let entry = try #require(checkpoint.entry(named: name))
            #expect(entry.shape == shape, "\(name)")
            #expect(try checkpoint.tensor(entry) == reference.tensor(named: name), "\(folder): \(name)")
        }
        #expect(checkpoint.format == (folder.hasSuffix("bin") ? .zip : .safetensors))
    }

    @Test(arguments: folders)
    func aFolderNamesTheFilesItReads(_ folder: String) throws {
        let path = "\(Self.hf)/\(folder)"
        let checkpoint = try Checkpoint.open(path)
        let sharded = folder.contains("sharded")
        let stem = folder.hasSuffix("bin") ? "pytorch_model" : "model"
        let suffix = folder.hasSuffix("bin") ? ".bin" : ".safetensors"
        if sharded {
            let index = "\(path)/\(stem)\(suffix).index.json"
            #expect(checkpoint.indexFile == index)
            #expect(checkpoint.weightFiles == (1...3).map { "\(path)/\(stem)-0000\($0)-of-00003\(suffix)" })
            #expect(checkpoint.inputFiles == checkpoint.weightFiles + [index])
        } else {
            #expect(checkpoint.indexFile == nil)
            #expect(checkpoint.weightFiles == ["\(path)/\(stem)\(suffix)"])
            #expect(checkpoint.inputFiles == checkpoint.weightFiles)
        }
        #expect(checkpoint.unusedWeightFiles.isEmpty)
    }

    /// Shards in order, each in its own file's order (the index's weight_map is sorted by name,
    /// which is not the model's order).
    @Test(arguments: ["bert-tiny-sharded-safetensors", "bert-tiny-sharded-bin"])
    func entriesFollowTheShardsAndTheirFiles(_ folder: String) throws {
        let checkpoint = try Checkpoint.open("\(Self.hf)/\(folder)")
        var expected: [String] = []
        for (shard, file) in checkpoint.weightFiles.enumerated() {
            let alone = try Checkpoint.open(file)
            expected += alone.entries.map(\.name)
            #expect(checkpoint.entries.filter { $0.shard == shard }.map(\.name) == alone.entries.map(\.name))
        }
        #expect(checkpoint.entries.map(\.name) == expected)
        // torch.save keeps the state dict's order within each shard: the model's order overall
        if folder.hasSuffix("bin") { #expect(expected == (try Self.manifest()).map(\.name)) }
    }

    @Test(arguments: ["bert-tiny-sharded-safetensors", "bert-tiny-sharded-bin"])
    func shardsAreReadInPlace(_ folder: String) throws {
        let checkpoint = try Checkpoint.open("\(Self.hf)/\(folder)")
        #expect(Set(checkpoint.entries.map(\.shard)) == [0, 1, 2])
        for entry in checkpoint.entries {
            #expect(checkpoint.readsInPlace(entry), "\(entry.name)")
            let floats = try checkpoint.withFloats(entry) { Array($0) }
            #expect(floats == (try checkpoint.tensor(entry).floats()), "\(entry.name)")
            try checkpoint.verifyRecord(of: entry)
            checkpoint.release(entry)
        }
        #expect(try checkpoint.allTensors().count == 39)
    }

    /// A damaged record in the second shard is found by its CRC-32 and named with its shard.
    @Test func aDamagedShardRecordIsNamed() throws {
        let dir = try copy("bert-tiny-sharded-bin")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let damaged = "\(dir)/pytorch_model-00002-of-00003.bin"
        var bytes = try #require(FileManager.default.contents(atPath: damaged))
        let record = try bytes.withUnsafeBytes { raw in
            try #require(ZipDirectory(raw).stored.first { $0.key.hasSuffix("/data/0") })
        }
        bytes[record.value.range.lowerBound + 1] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: damaged))
        let checkpoint = try Checkpoint.open(dir)
        for entry in checkpoint.entries where entry.shard != 1 { try checkpoint.verifyRecord(of: entry) }
        var failures: [String] = []
        for entry in checkpoint.entries where entry.shard == 1 {
            do { try checkpoint.verifyRecord(of: entry) } catch let error as ZooError { failures.append(error.message) }
        }
        #expect(failures.count == 1)
        #expect(failures.first?.hasPrefix("\(damaged): expected record '\(record.key)'") == true, "\(failures)")
        #expect(failures.first?.contains("CRC-32") == true)
    }

    @Test func safetensorsArePreferredAndTheOthersNamed() throws {
        let dir = try copy("bert-tiny-safetensors")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: "\(Self.hf)/bert-tiny-bin/pytorch_model.bin", toPath: "\(dir)/pytorch_model.bin")
        let checkpoint = try Checkpoint.open(dir)
        #expect(checkpoint.format == .safetensors)
        #expect(checkpoint.weightFiles == ["\(dir)/model.safetensors"])
        #expect(checkpoint.unusedWeightFiles == ["\(dir)/pytorch_model.bin"])
    }

    @Test func aWeightsFileMustBeWhatItsNameSays() throws {
        let dir = try copy("bert-tiny-bin")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.moveItem(atPath: "\(dir)/pytorch_model.bin", toPath: "\(dir)/model.safetensors")
        #expect {
            try Checkpoint.open(dir)
        } throws: { error in
            (error as? ZooError)?.message == "\(dir)/model.safetensors: expected a safetensors file, as its name says, found a PyTorch zip (torch ≥ 1.6) file"
        }
    }

    /// DataParallel's prefix is removed from pickled shards when every shard's names carry it
    /// (the index names tensors as stored); safetensors keep their names, as one file does.
    @Test(arguments: ["bert-tiny-sharded-bin", "bert-tiny-sharded-safetensors"])
    func theModulePrefixIsDecidedOverAllShards(_ folder: String) throws {
        let dir = try copy(folder)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let original = try Checkpoint.open(dir)
        let index = try #require(original.indexFile)
        let data = try #require(FileManager.default.contents(atPath: index))
        var json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let map = try #require(json["weight_map"] as? [String: String])
        json["weight_map"] = Dictionary(uniqueKeysWithValues: map.map { ("module." + $0.key, $0.value) })
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: index))
        for file in original.weightFiles {
            let tensors = try Checkpoint.open(file).allTensors().map { (name: "module." + $0.name, tensor: $0.tensor) }
            if folder.hasSuffix("bin") {
                try PthWriter.write(tensors, to: file, overwrite: true)
            } else {
                try writeSafetensors(tensors, to: file)
            }
        }
        let checkpoint = try Checkpoint.open(dir)
        let names = (try Self.manifest()).map(\.name).sorted()
        if folder.hasSuffix("bin") {
            #expect(checkpoint.strippedPrefix == "module.")
            #expect(checkpoint.entries.map(\.name).sorted() == names)
        } else {
            #expect(checkpoint.strippedPrefix == nil)
            #expect(checkpoint.entries.map(\.name).sorted() == names.map { "module." + $0 })
        }
    }

    /// A float32 safetensors file, tensors in the given order.
    func writeSafetensors(_ tensors: [(name: String, tensor: Tensor)], to path: String) throws {
        var offset = 0
        var fields: [(String, JSONValue)] = []
        for (name, tensor) in tensors {
            fields.append((name, .object([("dtype", .string("F32")), ("shape", .array(tensor.shape.map(JSONValue.int))),
                                          ("data_offsets", .array([.int(offset), .int(offset + tensor.bytes.count)]))])))
            offset += tensor.bytes.count
        }
        var header = Array(JSONValue.object(fields).serialized.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var length = UInt64(header.count).littleEndian
        var bytes = withUnsafeBytes(of: &length) { Array($0) } + header
        for (_, tensor) in tensors { bytes += tensor.bytes }
        try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
