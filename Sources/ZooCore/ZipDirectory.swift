/// Where the bytes of each STORED entry of a zip lie, read from the central directory and local
/// headers of a mapped archive (zip64 included), so large records can be used in place instead
/// of copied out through libzip. Anything this does not recognise (a compressed entry, an
/// inconsistent header) is simply absent: callers then read through `ZipReader`, which reports
/// damage properly.
public struct ZipDirectory: Sendable {
    public struct Stored: Sendable {
        /// Byte range of the entry's data in the archive.
        public let range: Range<Int>
        /// CRC-32 the central directory records for it.
        public let crc: UInt32
    }

    public let stored: [String: Stored]

    public init(_ bytes: UnsafeRawBufferPointer) {
        stored = Self.parse(bytes) ?? [:]
    }

    private static func parse(_ b: UnsafeRawBufferPointer) -> [String: Stored]? {
        let n = b.count
        // `i <= n - 2`, not `i + 2 <= n`: offsets come from the file (zip64 ones up to Int.max)
        func u16(_ i: Int) -> Int? { i >= 0 && i <= n - 2 ? Int(b.loadUnaligned(fromByteOffset: i, as: UInt16.self).littleEndian) : nil }
        func u32(_ i: Int) -> Int? { i >= 0 && i <= n - 4 ? Int(b.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian) : nil }
        func u64(_ i: Int) -> Int? {
            guard i >= 0 && i <= n - 8 else { return nil }
            let v = b.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian
            return v <= UInt64(Int.max) ? Int(v) : nil
        }
        guard n >= 22 else { return nil }
        // end of central directory: the last signature within the final 64 KiB + 22 bytes
        var eocd = n - 22
        while eocd >= max(0, n - 22 - 65535), u32(eocd) != 0x0605_4b50 { eocd -= 1 }
        guard eocd >= 0, u32(eocd) == 0x0605_4b50, var count = u16(eocd + 10), var start = u32(eocd + 16) else { return nil }
        if count == 0xFFFF || start == 0xFFFF_FFFF {
            guard u32(eocd - 20) == 0x0706_4b50, let z = u64(eocd - 12), u32(z) == 0x0606_4b50,
                  let c = u64(z + 32), let s = u64(z + 48) else { return nil }
            count = c
            start = s
        }
        var out: [String: Stored] = [:]
        var p = start
        for _ in 0..<count {
            guard u32(p) == 0x0201_4b50, let method = u16(p + 10), let crc = u32(p + 16),
                  var compressed = u32(p + 20), var size = u32(p + 24), let nameLength = u16(p + 28),
                  let extraLength = u16(p + 30), let commentLength = u16(p + 32), var local = u32(p + 42),
                  p + 46 + nameLength + extraLength <= n else { return nil }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: b[(p + 46)..<(p + 46 + nameLength)]), as: UTF8.self)
            // zip64 extended information: the 64-bit values of the fields that hold 0xFFFFFFFF, in order
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd, let id = u16(e), let length = u16(e + 2) {
                if id == 0x0001 {
                    var q = e + 4
                    if size == 0xFFFF_FFFF { guard let v = u64(q) else { return nil }; size = v; q += 8 }
                    if compressed == 0xFFFF_FFFF { guard let v = u64(q) else { return nil }; compressed = v; q += 8 }
                    if local == 0xFFFF_FFFF { guard let v = u64(q) else { return nil }; local = v }
                }
                e += 4 + length
            }
            p = extraEnd + commentLength
            guard method == 0, compressed == size, u32(local) == 0x0403_4b50,
                  let localName = u16(local + 26), let localExtra = u16(local + 28) else { continue }
            let data = local + 30 + localName + localExtra
            guard data <= n, size <= n - data else { continue }
            out[name] = Stored(range: data..<(data + size), crc: UInt32(crc))
        }
        return out
    }
}
