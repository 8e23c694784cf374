import Testing
import ZooCore

/// The accelerated CRC-32 against a bit-at-a-time reference, at every alignment and length
/// around the 16- and 64-byte folding boundaries, plus combine.
@Suite struct CRC32Tests {
    static func reference(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return ~c
    }

    static func bytes(_ n: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    @Test func knownValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }

    @Test func matchesReferenceAtEveryLengthAndAlignment() {
        let data = Self.bytes(600, seed: 7)
        for offset in 0..<17 {
            for length in [0, 1, 15, 16, 17, 63, 64, 65, 79, 80, 127, 128, 129, 255, 256, 300, 511, 583 - offset] {
                let slice = data[offset..<(offset + length)]
                let fast = slice.withUnsafeBytes { CRC32.checksum($0) }
                #expect(fast == Self.reference(slice), "offset \(offset) length \(length)")
            }
        }
    }

    @Test func continuesFromASeedAndCombines() {
        let data = Self.bytes(5000, seed: 3)
        let whole = CRC32.checksum(data)
        for cut in [0, 1, 64, 1000, 4999, 5000] {
            let a = data[..<cut].withUnsafeBytes { CRC32.checksum($0) }
            let b = data[cut...].withUnsafeBytes { CRC32.checksum($0) }
            #expect(CRC32.combine(a, b, lengthOfSecond: 5000 - cut) == whole)
            #expect(data[cut...].withUnsafeBytes { CRC32.checksum($0, seed: a) } == whole)
        }
    }
}
