import Testing
@testable import ZooCore

@Suite struct JSONTests {
    @Test func keepsKeyOrderAndExactNumbers() throws {
        let v = try JSONValue.parse(Array(#"{"b": 1, "a": [2, 3.5e-1, -0], "c": {"x": null, "y": true}, "s": "\u00e9\n"}"#.utf8))
        #expect(v.object?.map(\.0) == ["b", "a", "c", "s"])
        #expect(v["b"]?.int == 1)
        #expect(v["a"]?.array?[1] == .number("3.5e-1"))
        #expect(v["c"]?["y"]?.bool == true)
        #expect(v["s"]?.string == "é\n")
        #expect(try JSONValue.parse(Array(v.serialized.utf8)) == v)
    }

    @Test(arguments: ["", "{", "{\"a\":}", "[1,]", "{\"a\":1}x", "01x", "\"\u{01}\"", "{\"a\" 1}", "nul"])
    func rejectsMalformed(_ text: String) {
        #expect(throws: ZooError.self) { try JSONValue.parse(Array(text.utf8)) }
    }

    @Test func boundsNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: ZooError.self) { try JSONValue.parse(Array(deep.utf8)) }
    }
}

@Suite struct ElementConversionTests {
    @Test func halfPrecisionDecodesEveryClass() {
        #expect(ElementConversion.halfToFloat(0x3c00) == 1)
        #expect(ElementConversion.halfToFloat(0xc000) == -2)
        #expect(ElementConversion.halfToFloat(0x7bff) == 65504)
        #expect(ElementConversion.halfToFloat(0x0001) == Float(sign: .plus, exponent: -24, significand: 1))
        #expect(ElementConversion.halfToFloat(0x8000).sign == .minus)
        #expect(ElementConversion.halfToFloat(0x7c00) == .infinity)
        #expect(ElementConversion.halfToFloat(0x7e00).isNaN)
        // every finite half agrees with Swift's own Float16 where the platform has it
        #if !(os(macOS) && arch(x86_64))
        let disagreeing = (UInt16(0)...UInt16.max).filter {
            ($0 >> 10) & 0x1f != 31 && ElementConversion.halfToFloat($0) != Float(Float16(bitPattern: $0))
        }
        #expect(disagreeing.isEmpty)
        #endif
    }

    @Test func bfloat16IsTheHighHalfOfFloat() {
        #expect(ElementConversion.bfloat16ToFloat(0x3f80) == 1)
        #expect(ElementConversion.bfloat16ToFloat(0xc049) == Float(bitPattern: 0xc049_0000))
    }

    @Test func nativeLibrariesLinkAndCompute() {
        #expect(NativeLibraries.blasSelfCheck())
        #expect(NativeLibraries.hdf5Version.hasPrefix("1."))
        #expect(!NativeLibraries.libzipVersion.isEmpty)
    }
}
