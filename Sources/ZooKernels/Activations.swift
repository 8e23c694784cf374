// The activation functions of the vocabulary: one type for descriptors, both executors, the
// Keras lowering and `zoo map`. Each case states its PyTorch module, its Keras 3 name and the
// formula, written operation for operation as PyTorch's CPU kernel evaluates it; Keras 3
// evaluates the same formulas (hard_sigmoid is relu6(x + 3) / 6 there; tf.keras 2's
// hard_sigmoid is another function and is never written).
import CZooKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum ActivationKind: String, CaseIterable, Equatable, Sendable {
    /// The identity (Keras's `linear`, a layer without activation).
    case linear
    case relu
    /// min(max(x, 0), 6): `nn.ReLU6`.
    case relu6
    /// x · relu6(x + 3) / 6: `nn.Hardswish`, Keras `hard_silu`.
    case hardSwish = "hard_swish"
    /// relu6(x + 3) / 6: `nn.Hardsigmoid`.
    case hardSigmoid = "hard_sigmoid"
    /// x · sigmoid(x): `nn.SiLU`, Keras `silu` (alias `swish`).
    case silu
    case sigmoid
    case tanh
    /// Exact GELU with the error function: `0.5·x·(1 + erf(x/√2))`, PyTorch's and Keras's default.
    case gelu
    /// GELU's tanh approximation `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`
    /// (`approximate='tanh'`, Hugging Face `gelu_new`).
    case geluTanh = "gelu_tanh"
    /// x · sigmoid(1.702·x): Hugging Face's `quick_gelu` (CLIP).
    case quickGelu = "quick_gelu"

    /// The PyTorch module that applies it.
    public var torchModule: String {
        switch self {
        case .linear: return "nn.Identity"
        case .relu: return "nn.ReLU"
        case .relu6: return "nn.ReLU6"
        case .hardSwish: return "nn.Hardswish"
        case .hardSigmoid: return "nn.Hardsigmoid"
        case .silu: return "nn.SiLU"
        case .sigmoid: return "nn.Sigmoid"
        case .tanh: return "nn.Tanh"
        case .gelu: return "nn.GELU"
        case .geluTanh: return "nn.GELU(approximate='tanh')"
        case .quickGelu: return "QuickGELUActivation"
        }
    }

    /// The name a Keras 3 `activation` argument takes, or nil when Keras has no activation of
    /// that name (tanh-approximate GELU is `keras.activations.gelu(x, approximate=True)`, which a
    /// string cannot select).
    public var kerasName: String? {
        switch self {
        case .linear: return "linear"
        case .relu: return "relu"
        case .relu6: return "relu6"
        case .hardSwish: return "hard_silu"
        case .hardSigmoid: return "hard_sigmoid"
        case .silu: return "silu"
        case .sigmoid: return "sigmoid"
        case .tanh: return "tanh"
        case .gelu: return "gelu"
        case .geluTanh, .quickGelu: return nil
        }
    }

    /// The activation a Keras `activation` name stands for (aliases included), or nil.
    public init?(kerasName: String) {
        switch kerasName {
        case "swish": self = .silu
        case "hard_swish": self = .hardSwish
        default:
            guard let kind = Self.allCases.first(where: { $0.kerasName == kerasName }) else { return nil }
            self = kind
        }
    }

    public func apply(_ x: inout [Float]) {
        guard self != .linear else { return }
        x.withUnsafeMutableBufferPointer { apply($0.baseAddress!, count: $0.count) }
    }

    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let kind = self
        let cheap = kind == .relu || kind == .relu6 || kind == .hardSigmoid || kind == .hardSwish
        Parallel.ranges(count, work: cheap ? count : count * 16) { range in
            switch kind {
            case .linear: break
            case .relu: for i in range { let v = x[i]; x[i] = v < 0 ? 0 : v } // a select (vectorises); NaN stays NaN
            case .relu6: for i in range { let v = x[i]; x[i] = v < 0 ? 0 : (v > 6 ? 6 : v) }
            case .hardSigmoid:
                for i in range { let v = x[i] + 3; x[i] = (v < 0 ? 0 : (v > 6 ? 6 : v)) / 6 }
            case .hardSwish:
                for i in range { let v = x[i], s = v + 3; x[i] = v * (s < 0 ? 0 : (s > 6 ? 6 : s)) / 6 }
            case .silu: zoo_activate(Int32(ZOO_ACTIVATION_SILU), x + range.lowerBound, range.count)
            case .sigmoid: zoo_activate(Int32(ZOO_ACTIVATION_SIGMOID), x + range.lowerBound, range.count)
            case .tanh: for i in range { x[i] = Glibc.tanh(x[i]) }
            case .gelu: zoo_activate(Int32(ZOO_ACTIVATION_GELU), x + range.lowerBound, range.count)
            case .geluTanh:
                let k = Float(0.79788456080286535588) // √(2/π)
                for i in range { let v = x[i]; x[i] = 0.5 * v * (1 + Glibc.tanh(k * (v + 0.044715 * v * v * v))) }
            case .quickGelu:
                // input * sigmoid(1.702 * input), as transformers writes it
                for i in range { let v = x[i]; x[i] = v * (1 / (1 + Glibc.exp(-(1.702 * v)))) }
            }
        }
    }
}
