import CZooKernels

/// Writes a zip archive of STORED entries, each entry's data aligned (by a padding extra field
/// in its local header, as PyTorch's writer does) so readers can map it in place. Zip64 is not
/// written: an archive or entry past 4 GiB is refused with an error.
public final class ZipWriter {
    private let sink: FileSink
    private let alignment: Int
    private var central: [UInt8] = []
    private var count = 0

    public init(sink: FileSink, alignment: Int = 64) {
        self.sink = sink
        self.alignment = alignment
    }

    public func add(_ name: String, _ data: [UInt8]) throws {
        try data.withUnsafeBytes { try add(name, raw: $0) }
    }

    public func add(_ name: String, raw data: UnsafeRawBufferPointer) throws {
        let headerOffset = sink.offset
        guard headerOffset + data.count + 4096 < Int(UInt32.max), data.count < Int(UInt32.max) else {
            throw ZooError(.mismatch, "expected a zip under 4 GiB (zip64 is not written), found '\(name)' would end past it")
        }
        let entry = ZipEntryHeader(name: name, crc: CRC32.checksum(data), size: data.count, offset: headerOffset)
        try sink.write(entry.local(padding: ZipEntryHeader.padding(headerAt: headerOffset, name: name, alignment: alignment)))
        try sink.write(raw: data)
        central += entry.central()
        count += 1
    }

    /// Writes the central directory and flushes.
    public func finish() throws {
        let start = sink.offset
        try sink.write(central)
        try sink.write(ZipEntryHeader.end(count: count, directorySize: central.count, directoryOffset: start))
        try sink.flush()
    }
}

/// The headers of one STORED zip entry (no zip64): its local header, its central-directory
/// record, and the end record, byte for byte as zoo writes them (UTF-8 names, 1980-01-01).
public struct ZipEntryHeader: Sendable {
    public var name: String
    public var crc: UInt32
    public var size: Int
    /// Where the local header starts.
    public var offset: Int

    public init(name: String, crc: UInt32, size: Int, offset: Int) {
        self.name = name
        self.crc = crc
        self.size = size
        self.offset = offset
    }

    /// Bytes before the data: 30 + name, plus `padding` bytes of extra field.
    public static func localLength(name: String, padding: Int) -> Int { 30 + name.utf8.count + padding }

    /// The extra-field length (0, or ≥ 4) that starts the data of an entry whose header is at
    /// `headerAt` on a multiple of `alignment`.
    public static func padding(headerAt: Int, name: String, alignment: Int) -> Int {
        guard alignment > 1 else { return 0 }
        let unpadded = headerAt + 30 + name.utf8.count
        return (alignment - (unpadded + 4) % alignment) % alignment + 4
    }

    /// The local header with an extra field of `padding` bytes (0, or 4 … 65535): PyTorch's
    /// "FB" padding field, as its writer aligns records.
    public func local(padding: Int) -> [UInt8] {
        let nameBytes = Array(name.utf8)
        var local: [UInt8] = []
        local.reserveCapacity(30 + nameBytes.count + padding)
        local.le(UInt32(0x0403_4b50))
        local.le(UInt16(20)); local.le(UInt16(0x0800)); local.le(UInt16(0)) // version, flags (UTF-8 names), stored
        local.le(UInt16(0)); local.le(UInt16(0x21)) // time, date (1980-01-01)
        local.le(crc); local.le(UInt32(size)); local.le(UInt32(size))
        local.le(UInt16(nameBytes.count)); local.le(UInt16(padding))
        local += nameBytes
        if padding > 0 {
            local.le(UInt16(0x4246)) // "FB"
            local.le(UInt16(padding - 4))
            local += [UInt8](repeating: 0x5a, count: padding - 4)
        }
        return local
    }

    public func central() -> [UInt8] {
        let nameBytes = Array(name.utf8)
        var central: [UInt8] = []
        central.le(UInt32(0x0201_4b50))
        central.le(UInt16(0x031e)); central.le(UInt16(20)); central.le(UInt16(0x0800)); central.le(UInt16(0))
        central.le(UInt16(0)); central.le(UInt16(0x21))
        central.le(crc); central.le(UInt32(size)); central.le(UInt32(size))
        central.le(UInt16(nameBytes.count)); central.le(UInt16(0)); central.le(UInt16(0))
        central.le(UInt16(0)); central.le(UInt16(0)); central.le(UInt32(0o100644 << 16))
        central.le(UInt32(offset))
        central += nameBytes
        return central
    }

    public static func end(count: Int, directorySize: Int, directoryOffset: Int) -> [UInt8] {
        var end: [UInt8] = []
        end.le(UInt32(0x0605_4b50))
        end.le(UInt16(0)); end.le(UInt16(0))
        end.le(UInt16(count)); end.le(UInt16(count))
        end.le(UInt32(directorySize)); end.le(UInt32(directoryOffset))
        end.le(UInt16(0))
        return end
    }
}
extension Array where Element == UInt8 {
    /// Appends `value` in little-endian byte order.
    public mutating func le<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

/// A byte count for people: "512 B", "45.0 MB" (decimal units, one decimal).
public func humanBytes(_ n: Int) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var value = Double(n), unit = 0
    while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
    let rounded = (value * 10).rounded() / 10
    return unit == 0 ? "\(n) B" : "\(rounded) \(units[unit])"
}

/// CRC-32 (IEEE 802.3, as zip uses): carry-less multiplication folding where the CPU has it
/// (CZooKernels), zlib otherwise.
public enum CRC32 {
    public static func checksum(_ data: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        guard let base = data.baseAddress, data.count > 0 else { return seed }
        return zoo_crc32(seed, base, data.count)
    }

    public static func checksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, seed: seed) }
    }

    /// The checksum of A followed by B, from the checksums of both and B's length.
    public static func combine(_ a: UInt32, _ b: UInt32, lengthOfSecond: Int) -> UInt32 {
        zoo_crc32_combine(a, b, UInt64(lengthOfSecond))
    }

    /// Whether this machine takes the carry-less multiplication path.
    public static var isAccelerated: Bool { zoo_crc32_is_accelerated() != 0 }
}
