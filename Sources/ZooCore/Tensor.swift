/// A dense tensor in row-major (C) order, little-endian, owning its bytes.
public struct Tensor: Sendable, Equatable {
    public let dtype: DType
    public let shape: [Int]
    public private(set) var bytes: [UInt8]

    public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
        precondition(bytes.count == shape.reduce(1, *) * dtype.size, "tensor byte count does not match shape")
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    public init(shape: [Int], floats: [Float]) {
        precondition(floats.count == shape.reduce(1, *), "tensor element count does not match shape")
        self.dtype = .float32
        self.shape = shape
        self.bytes = floats.withUnsafeBytes { Array($0) }
    }

    public var count: Int { shape.reduce(1, *) }

    /// Every element widened to `Double` (exact for all supported dtypes but the 64-bit integers
    /// beyond 2^53).
    public func doubles() throws -> [Double] {
        var out = [Double](repeating: 0, count: count)
        try bytes.withUnsafeBytes { raw in
            try out.withUnsafeMutableBufferPointer { dst in
                try ElementConversion.toDouble(raw, dtype: dtype, into: dst)
            }
        }
        return out
    }

    /// Every element as `Float` (float32 is copied, narrower floats widened, others converted).
    public func floats() throws -> [Float] {
        if dtype == .float32 {
            return bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        var out = [Float](repeating: 0, count: count)
        try bytes.withUnsafeBytes { raw in
            try out.withUnsafeMutableBufferPointer { dst in
                try ElementConversion.toFloat(raw, dtype: dtype, into: dst)
            }
        }
        return out
    }
}

/// Conversions from stored element bytes to wider numeric types.
public enum ElementConversion {
    @inline(__always) public static func bfloat16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    @inline(__always) public static func halfToFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int((bits >> 10) & 0x1f)
        let mantissa = UInt32(bits & 0x3ff)
        if exponent == 0 {
            // zero or subnormal: value = mantissa × 2^-24
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 31 {
            return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | (UInt32(exponent - 15 + 127) << 23) | (mantissa << 13))
    }

    static func toFloat(_ raw: UnsafeRawBufferPointer, dtype: DType, into dst: UnsafeMutableBufferPointer<Float>) throws {
        let n = dst.count
        switch dtype {
        case .float32: for i in 0..<n { dst[i] = raw.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
        case .float16: for i in 0..<n { dst[i] = halfToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .bfloat16: for i in 0..<n { dst[i] = bfloat16ToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        default:
            var wide = [Double](repeating: 0, count: n)
            try wide.withUnsafeMutableBufferPointer { try toDouble(raw, dtype: dtype, into: $0) }
            for i in 0..<n { dst[i] = Float(wide[i]) }
        }
    }

    static func toDouble(_ raw: UnsafeRawBufferPointer, dtype: DType, into dst: UnsafeMutableBufferPointer<Double>) throws {
        let n = dst.count
        switch dtype {
        case .float32: for i in 0..<n { dst[i] = Double(raw.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)) }
        case .float64: for i in 0..<n { dst[i] = raw.loadUnaligned(fromByteOffset: 8 * i, as: Double.self) }
        case .float16: for i in 0..<n { dst[i] = Double(halfToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .bfloat16: for i in 0..<n { dst[i] = Double(bfloat16ToFloat(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .int64: for i in 0..<n { dst[i] = Double(raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
        case .int32: for i in 0..<n { dst[i] = Double(raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
        case .int16: for i in 0..<n { dst[i] = Double(raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
        case .int8: for i in 0..<n { dst[i] = Double(raw.loadUnaligned(fromByteOffset: i, as: Int8.self)) }
        case .uint8: for i in 0..<n { dst[i] = Double(raw[i]) }
        case .bool: for i in 0..<n { dst[i] = raw[i] != 0 ? 1 : 0 }
        case .uint16: for i in 0..<n { dst[i] = Double(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .uint32: for i in 0..<n { dst[i] = Double(raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        case .uint64: for i in 0..<n { dst[i] = Double(raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) }
        case .float8_e4m3fn, .float8_e5m2:
            throw ZooError(.mismatch, "\(dtype.rawValue) tensors can be inspected but not yet converted; expected one of float32, float16, bfloat16, float64 or an integer type")
        }
    }
}
