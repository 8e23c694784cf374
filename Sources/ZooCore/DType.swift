/// Element types a checkpoint may hold, spelled as PyTorch spells them (`torch.float32` → `float32`).
public enum DType: String, CaseIterable, Sendable, Codable {
    case float32, float16, bfloat16, float64
    case int64, int32, int16, int8, uint8, bool
    case uint16, uint32, uint64
    case float8_e4m3fn, float8_e5m2

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float64, .int64, .uint64: return 8
        case .float32, .int32, .uint32: return 4
        case .float16, .bfloat16, .int16, .uint16: return 2
        case .int8, .uint8, .bool, .float8_e4m3fn, .float8_e5m2: return 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16, .float64, .float8_e4m3fn, .float8_e5m2: return true
        default: return false
        }
    }

    /// The safetensors header spelling (`F32`, `BF16`, `BOOL` …).
    public var safetensorsName: String {
        switch self {
        case .float32: return "F32"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .float64: return "F64"
        case .int64: return "I64"
        case .int32: return "I32"
        case .int16: return "I16"
        case .int8: return "I8"
        case .uint8: return "U8"
        case .bool: return "BOOL"
        case .uint16: return "U16"
        case .uint32: return "U32"
        case .uint64: return "U64"
        case .float8_e4m3fn: return "F8_E4M3"
        case .float8_e5m2: return "F8_E5M2"
        }
    }

    public init?(safetensorsName: String) {
        guard let match = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = match
    }

    /// The legacy typed-storage class that `torch.save` names for this dtype (`FloatStorage` …).
    public init?(storageClass: String) {
        switch storageClass {
        case "FloatStorage": self = .float32
        case "DoubleStorage": self = .float64
        case "HalfStorage": self = .float16
        case "BFloat16Storage": self = .bfloat16
        case "LongStorage": self = .int64
        case "IntStorage": self = .int32
        case "ShortStorage": self = .int16
        case "CharStorage": self = .int8
        case "ByteStorage", "UntypedStorage": self = .uint8
        case "BoolStorage": self = .bool
        default: return nil
        }
    }
}

/// Sizes computed from a shape a file declares, with every product checked.
public enum ShapeArithmetic {
    /// The byte count of `shape` in `dtype`, or nil when the shape is unusable: a negative
    /// dimension, or dimensions whose product times the element size overflows `Int` even with
    /// zero-sized dimensions counted as 1. That bound is stricter than the element count alone
    /// (`[0, 2^62]` holds no elements) so that every partial product any later step takes of the
    /// same shape (rows × columns, channels × height × width) is known to fit as well.
    public static func byteCount(_ shape: [Int], elementSize: Int) -> Int? {
        var bound = elementSize, count = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (b, overflow) = bound.multipliedReportingOverflow(by: max(d, 1))
            if overflow { return nil }
            bound = b
            count *= d // ≤ bound / elementSize, so it cannot overflow
        }
        return count * elementSize
    }
}
