import Foundation
import Testing
import ZooCore

/// Locating stored entries in place: the plain layout (as ZipWriter and PyTorch write it) and
/// the zip64 layout PyTorch uses past 4 GiB (sizes and offsets 0xFFFFFFFF in the central
/// directory, the real values in the zip64 extra field, a zip64 end record and locator).
@Suite struct ZipDirectoryTests {
    static let payload: [UInt8] = Array("weights: 0123456789abcdef".utf8)

    @Test func findsStoredEntriesAsZipWriterWritesThem() throws {
        let folder = "/tmp/zoo-zipdir-\(UInt32.random(in: 0...UInt32.max))"
        let path = folder + ".zip"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let zip = ZipWriter(sink: try FileSink(path: path), alignment: 64)
        try zip.add("a/data.pkl", Array("pickle".utf8))
        try zip.add("a/data/0", Self.payload)
        try zip.finish()
        let file = try MappedFile(path: path)
        let stored = ZipDirectory(file.bytes).stored
        let entry = try #require(stored["a/data/0"])
        #expect(entry.range.lowerBound % 64 == 0)
        #expect(Array(file.bytes[entry.range]) == Self.payload)
        #expect(entry.crc == CRC32.checksum(Self.payload))
        #expect(stored.count == 2)
    }

    @Test func readsTheZip64Layout() throws {
        var b: [UInt8] = []
        let name = Array("x/data/0".utf8)
        let crc = CRC32.checksum(Self.payload)
        // local header with a zip64 extra field (sizes 0xFFFFFFFF)
        b.le(UInt32(0x0403_4b50)); b.le(UInt16(45)); b.le(UInt16(0)); b.le(UInt16(0)); b.le(UInt16(0)); b.le(UInt16(0x21))
        b.le(crc); b.le(UInt32.max); b.le(UInt32.max); b.le(UInt16(name.count)); b.le(UInt16(20))
        b += name
        b.le(UInt16(1)); b.le(UInt16(16)); b.le(UInt64(Self.payload.count)); b.le(UInt64(Self.payload.count))
        let dataStart = b.count
        b += Self.payload
        let central = b.count
        b.le(UInt32(0x0201_4b50)); b.le(UInt16(45)); b.le(UInt16(45)); b.le(UInt16(0)); b.le(UInt16(0)); b.le(UInt16(0)); b.le(UInt16(0x21))
        b.le(crc); b.le(UInt32.max); b.le(UInt32.max); b.le(UInt16(name.count)); b.le(UInt16(28)); b.le(UInt16(0))
        b.le(UInt16(0)); b.le(UInt16(0)); b.le(UInt32(0)); b.le(UInt32.max)
        b += name
        b.le(UInt16(1)); b.le(UInt16(24)); b.le(UInt64(Self.payload.count)); b.le(UInt64(Self.payload.count)); b.le(UInt64(0))
        let centralSize = b.count - central
        let zip64End = b.count
        b.le(UInt32(0x0606_4b50)); b.le(UInt64(44)); b.le(UInt16(45)); b.le(UInt16(45)); b.le(UInt32(0)); b.le(UInt32(0))
        b.le(UInt64(1)); b.le(UInt64(1)); b.le(UInt64(centralSize)); b.le(UInt64(central))
        b.le(UInt32(0x0706_4b50)); b.le(UInt32(0)); b.le(UInt64(zip64End)); b.le(UInt32(1))
        b.le(UInt32(0x0605_4b50)); b.le(UInt16(0)); b.le(UInt16(0)); b.le(UInt16(0xFFFF)); b.le(UInt16(0xFFFF))
        b.le(UInt32.max); b.le(UInt32.max); b.le(UInt16(0))
        let stored = b.withUnsafeBytes { ZipDirectory($0).stored }
        let entry = try #require(stored["x/data/0"])
        #expect(entry.range == dataStart..<(dataStart + Self.payload.count))
        #expect(entry.crc == crc)
    }

    @Test func ignoresWhatItCannotPlace() {
        let garbage: [UInt8] = Array(repeating: 0x50, count: 100)
        #expect(garbage.withUnsafeBytes { ZipDirectory($0).stored }.isEmpty)
        let truncated: [UInt8] = [0x50, 0x4b, 0x05, 0x06] + Array(repeating: 0, count: 18)
        #expect(truncated.withUnsafeBytes { ZipDirectory($0).stored }.isEmpty)
    }
}
