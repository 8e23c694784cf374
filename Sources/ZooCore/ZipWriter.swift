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
        let nameBytes = Array(name.utf8)
        let headerOffset = sink.offset
        guard headerOffset + data.count + 4096 < Int(UInt32.max), data.count < Int(UInt32.max) else {
            throw ZooError(.mismatch, "expected a zip under 4 GiB (zip64 is not written), found '\(name)' would end past it")
        }
        // local header (30 bytes) + name + extra; pad the extra so the data starts aligned
        var extraLength = 0
        let unpadded = headerOffset + 30 + nameBytes.count
        if alignment > 1 {
            extraLength = (alignment - (unpadded + 4) % alignment) % alignment + 4
        }
        let crc = CRC32.checksum(data)
        var local: [UInt8] = []
        local.le(UInt32(0x0403_4b50))
        local.le(UInt16(20)); local.le(UInt16(0x0800)); local.le(UInt16(0)) // version, flags (UTF-8 names), stored
        local.le(UInt16(0)); local.le(UInt16(0x21)) // time, date (1980-01-01)
        local.le(crc); local.le(UInt32(data.count)); local.le(UInt32(data.count))
        local.le(UInt16(nameBytes.count)); local.le(UInt16(extraLength))
        local += nameBytes
        if extraLength > 0 {
            local.le(UInt16(0x4246)) // "FB": PyTorch's padding field
            local.le(UInt16(extraLength - 4))
            local += [UInt8](repeating: 0x5a, count: extraLength - 4)
        }
        try sink.write(local)
        try sink.write(raw: data)

        central.le(UInt32(0x0201_4b50))
        central.le(UInt16(0x031e)); central.le(UInt16(20)); central.le(UInt16(0x0800)); central.le(UInt16(0))
        central.le(UInt16(0)); central.le(UInt16(0x21))
        central.le(crc); central.le(UInt32(data.count)); central.le(UInt32(data.count))
        central.le(UInt16(nameBytes.count)); central.le(UInt16(0)); central.le(UInt16(0))
        central.le(UInt16(0)); central.le(UInt16(0)); central.le(UInt32(0o100644 << 16))
        central.le(UInt32(headerOffset))
        central += nameBytes
        count += 1
    }

    /// Writes the central directory and flushes.
    public func finish() throws {
        let start = sink.offset
        try sink.write(central)
        var end: [UInt8] = []
        end.le(UInt32(0x0605_4b50))
        end.le(UInt16(0)); end.le(UInt16(0))
        end.le(UInt16(count)); end.le(UInt16(count))
        end.le(UInt32(central.count)); end.le(UInt32(start))
        end.le(UInt16(0))
        try sink.write(end)
        try sink.flush()
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

/// CRC-32 (IEEE 802.3, as zip uses), slicing-by-8.
public enum CRC32 {
    static let tables: [[UInt32]] = {
        var t = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[0][i] = c
        }
        for i in 0..<256 {
            for k in 1..<8 { t[k][i] = (t[k - 1][i] >> 8) ^ t[0][Int(t[k - 1][i] & 0xff)] }
        }
        return t
    }()

    public static func checksum(_ data: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        var c = ~seed
        let n = data.count
        var i = 0
        tables.withUnsafeBufferPointer { tableRows in
            let t0 = tableRows[0], t1 = tableRows[1], t2 = tableRows[2], t3 = tableRows[3]
            let t4 = tableRows[4], t5 = tableRows[5], t6 = tableRows[6], t7 = tableRows[7]
            while i + 8 <= n {
                let lo = data.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian ^ c
                let hi = data.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self).littleEndian
                c = t7[Int(lo & 0xff)] ^ t6[Int((lo >> 8) & 0xff)] ^ t5[Int((lo >> 16) & 0xff)] ^ t4[Int(lo >> 24)]
                    ^ t3[Int(hi & 0xff)] ^ t2[Int((hi >> 8) & 0xff)] ^ t1[Int((hi >> 16) & 0xff)] ^ t0[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                c = t0[Int((c ^ UInt32(data[i])) & 0xff)] ^ (c >> 8)
                i += 1
            }
        }
        return ~c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
