import Foundation
import Testing
@testable import TorchIO
import ZooCore

@Suite struct PthWriterTests {
    func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "zoo-pth-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func writtenFilesReadBackExactly() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tensors: [(String, Tensor)] = [
            ("conv.weight", Tensor(shape: [2, 3, 1, 1], floats: (0..<6).map { Float($0) * 0.5 - 1 })),
            ("bn.num_batches_tracked", Tensor(dtype: .int64, shape: [], bytes: withUnsafeBytes(of: Int64(7).littleEndian) { Array($0) })),
            ("half", Tensor(dtype: .float16, shape: [3], bytes: [0x00, 0x3c, 0x00, 0xc0, 0x00, 0x00])),
            ("big", Tensor(shape: [300], floats: (0..<300).map(Float.init))),
        ]
        let path = folder + "/model.pth"
        try PthWriter.write(tensors, to: path, overwrite: false)
        let checkpoint = try Checkpoint.open(path)
        #expect(checkpoint.format == .zip)
        #expect(checkpoint.entries.map(\.name) == tensors.map(\.0))
        for (name, tensor) in tensors {
            #expect(try checkpoint.tensor(named: name) == tensor, "\(name)")
        }
        // an existing file is kept unless asked
        let error = #expect(throws: ZooError.self) { try PthWriter.write(tensors, to: path, overwrite: false) }
        #expect(error?.message.contains("already exists") == true)
        // nothing but the file itself is left in the folder
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["model.pth"])
    }

    /// Module versions go into the state dict's `_metadata`, set by BUILD after the items as
    /// torch.save writes it (scripts/interop.sh loads such a file into torchvision's MNASNet).
    @Test func moduleVersionsBecomeMetadataAndLeaveTheTensorsAlone() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tensors: [(String, Tensor)] = [("layers.0.weight", Tensor(shape: [2], floats: [1, -2]))]
        let pickle = try PthWriter.pickle(tensors, moduleVersions: ["": 2, "layers": 1])
        let tail = Array("_metadata".utf8)
        #expect(pickle.indices.contains { pickle[$0...].starts(with: tail) })
        #expect(Array(pickle.suffix(4)) == [0x75, 0x73, 0x62, 0x2e]) // SETITEMS, SETITEM, BUILD, STOP
        #expect(try PthWriter.pickle(tensors).last == 0x2e)
        let path = folder + "/model.pth"
        try PthWriter.write(tensors, moduleVersions: ["": 2], to: path, overwrite: false)
        let checkpoint = try Checkpoint.open(path)
        #expect(checkpoint.entries.map(\.name) == ["layers.0.weight"])
        #expect(try checkpoint.tensor(named: "layers.0.weight").floats() == [1, -2])
    }

    @Test func unwritableFolderLeavesNothing() throws {
        let error = #expect(throws: ZooError.self) {
            try PthWriter.write([("x", Tensor(shape: [1], floats: [1]))], to: "/proc/zoo-cannot-write/model.pth", overwrite: true)
        }
        #expect(error?.kind == .io)
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }
}

@Suite struct FormatDetectionTests {
    /// A safetensors header of exactly 128 bytes starts the file with 0x80, a pickle's PROTO byte.
    @Test func safetensorsWhoseHeaderLengthLooksLikeAPickle() throws {
        for length in [128, 384, 640] {
            var header = Array(#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.utf8)
            header += [UInt8](repeating: 0x20, count: length - header.count)
            var bytes: [UInt8] = []
            withUnsafeBytes(of: UInt64(length).littleEndian) { bytes += $0 }
            bytes += header
            withUnsafeBytes(of: Float(1.5)) { bytes += $0 }
            withUnsafeBytes(of: Float(-2)) { bytes += $0 }
            #expect(bytes[0] == 0x80)
            let path = NSTemporaryDirectory() + "zoo-st-\(length)-\(UUID().uuidString).safetensors"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let checkpoint = try Checkpoint.open(path)
            #expect(checkpoint.format == .safetensors)
            #expect(try checkpoint.tensor(named: "x").floats() == [1.5, -2])
        }
    }
}
