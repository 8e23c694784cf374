#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZooKernels
import ZooCore

/// A small, seedable generator (SplitMix64) so random checkpoints and inputs are reproducible
/// across runs and machines.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A standard normal sample (Box–Muller).
    public mutating func normal() -> Float {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

extension Graph {
    /// A seeded random state dict for this graph, in `state_dict()` order, filled by each
    /// parameter's role: weights scaled by 1/√fan-in so activations stay O(1) through deep nets,
    /// and non-trivial normalisation parameters and statistics (γ around 1, β and running means
    /// around 0, running variances in [0.5, 1.5]) so that a mapping that drops or swaps them is
    /// caught.
    public func randomStateDict(seed: UInt64) -> [(name: String, tensor: Tensor)] {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        var seen = Set<String>()
        return parameters.compactMap { spec in
            guard seen.insert(spec.torchName).inserted else { return nil }
            let count = spec.torchShape.reduce(1, *)
            if case .index(let values) = spec.role {
                let bytes = values.flatMap { v in withUnsafeBytes(of: Int64(v).littleEndian) { Array($0) } }
                return (spec.torchName, Tensor(dtype: .int64, shape: spec.torchShape, bytes: bytes))
            }
            if spec.role == .counter {
                let value = Int64(zoo_random_below(&state, 1000))
                return (spec.torchName, Tensor(dtype: .int64, shape: spec.torchShape, bytes: withUnsafeBytes(of: value.littleEndian) { Array($0) }))
            }
            let values = [Float](unsafeUninitializedCapacity: count) { out, initialized in
                let p = out.baseAddress!
                switch spec.role {
                case .runningVariance: zoo_fill_uniform(&state, p, count, 0.5, 1.5)
                case .runningMean, .bias, .shift: zoo_fill_normal(&state, p, count, 0, 0.1)
                case .scale: zoo_fill_normal(&state, p, count, 1, 0.1)
                case .table: zoo_fill_normal(&state, p, count, 0, 0.5)
                case .weight, .counter, .index:
                    zoo_fill_normal(&state, p, count, 0, 1 / Float(max(1, spec.torchShape.dropFirst().reduce(1, *))).squareRoot())
                }
                initialized = count
            }
            return (spec.torchName, Tensor(shape: spec.torchShape, floats: values))
        }
    }
}
