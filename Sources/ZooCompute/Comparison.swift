// Layer-by-layer comparison of a PyTorch-semantics run with a Keras-semantics run of the same
// network: max |Δ| and max |Δ| / max |y| (y = the reference, the PyTorch side) for every layer
// both runs name, NCHW maps transposed to NHWC first, and the first layer above a tolerance.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ZooCore
import ZooGraph
import ZooKernels

/// How far one layer (or output) of a candidate run is from the reference.
public struct LayerDifference: Sendable, Equatable {
    public let name: String
    /// The compared shape in the candidate's layout (NHWC for feature maps).
    public let shape: [Int]
    public let maxAbsolute: Double
    /// max |y| of the reference.
    public let maxReference: Double
    /// maxAbsolute / maxReference; 0 when both are 0, infinite when only the reference is 0 or
    /// the shapes cannot be matched.
    public let relative: Double
    /// Why the layer could not be compared value by value, if it could not.
    public let problem: String?

    public func exceeds(_ tolerance: Double) -> Bool { !(relative <= tolerance) }
}

/// The per-layer table and the verdict.
public struct LayerComparison: Sendable {
    public let tolerance: Double
    /// Layers present in both runs, in the reference's execution order.
    public let layers: [LayerDifference]
    /// The outputs, pairwise in order.
    public let outputs: [LayerDifference]
    /// Reference layers the candidate does not name (graph nodes Keras folds away, such as an
    /// identity adaptive pool).
    public let unmatched: [String]

    /// The first layer, in execution order, whose relative difference exceeds the tolerance.
    public var firstDivergent: LayerDifference? { layers.first { $0.exceeds(tolerance) } }
    public var passed: Bool { !outputs.contains { $0.exceeds(tolerance) } && firstDivergent == nil }
    public var worstOutput: LayerDifference? { outputs.max { $0.relative < $1.relative } }

    /// A table a person can read: one line per layer, the first divergent one marked.
    public var report: String {
        func line(_ d: LayerDifference, mark: Bool) -> String {
            let rel = d.relative.isFinite ? formatted(d.relative) : "inf"
            return "\(mark ? "✗" : " ") \(d.name + String(repeating: " ", count: max(0, 40 - d.name.count))) max|Δ| \(formatted(d.maxAbsolute))  rel \(rel)"
                + (d.problem.map { "  (\($0))" } ?? "")
        }
        var lines = layers.map { line($0, mark: $0.exceeds(tolerance)) }
        lines += outputs.map { line($0, mark: $0.exceeds(tolerance)) }
        if let first = firstDivergent {
            lines.append("first layer above \(formatted(tolerance)) relative: \(first.name)")
        } else {
            lines.append(passed ? "all layers within \(formatted(tolerance)) relative" : "outputs differ by more than \(formatted(tolerance)) relative")
        }
        return lines.joined(separator: "\n")
    }
}

/// Compares every layer both runs name, and the outputs pairwise.
/// - Parameters:
///   - reference: the PyTorch-semantics run (NCHW maps).
///   - candidate: the Keras-semantics run (NHWC maps).
///   - tolerance: the largest acceptable max |Δ| / max |y|.
public func compareLayers(reference: ExecutionResult, candidate: ExecutionResult, tolerance: Double = 1e-5) -> LayerComparison {
    var byName: [String: Tensor] = [:]
    for (name, t) in candidate.intermediates { byName[name] = t }
    var layers: [LayerDifference] = [], unmatched: [String] = []
    for (name, t) in reference.intermediates {
        guard let other = byName[name] else { unmatched.append(name); continue }
        layers.append(difference(name: name, reference: t, candidate: other, layout: reference.layouts[name]))
    }
    var outputs: [LayerDifference] = []
    for i in 0..<max(reference.outputs.count, candidate.outputs.count) {
        guard i < reference.outputs.count, i < candidate.outputs.count else {
            outputs.append(LayerDifference(name: "output \(i)", shape: [], maxAbsolute: .infinity, maxReference: 0, relative: .infinity,
                                           problem: "expected \(reference.outputs.count) outputs, found \(candidate.outputs.count)"))
            continue
        }
        outputs.append(difference(name: "output \(i)", reference: reference.outputs[i], candidate: candidate.outputs[i]))
    }
    return LayerComparison(tolerance: tolerance, layers: layers, outputs: outputs, unmatched: unmatched)
}

/// `compareLayers` with the candidate compared while it runs: `run` receives an observer for
/// each candidate layer's output, which is compared at once and dropped, so only the
/// reference's intermediates are ever held.
public func compareLayers(reference: ExecutionResult, tolerance: Double = 1e-5,
                          candidate run: (@escaping (String, Tensor) -> Void) throws -> ExecutionResult) rethrows -> LayerComparison {
    var index: [String: Int] = [:]
    for (i, (name, _)) in reference.intermediates.enumerated() where index[name] == nil { index[name] = i }
    var found: [Int: LayerDifference] = [:]
    let candidate = try run { name, tensor in
        guard let i = index[name], found[i] == nil else { return }
        let ref = reference.intermediates[i]
        found[i] = difference(name: name, reference: ref.tensor, candidate: tensor, layout: reference.layouts[name])
    }
    var layers: [LayerDifference] = [], unmatched: [String] = []
    for (i, (name, _)) in reference.intermediates.enumerated() {
        if let d = found[i] { layers.append(d) } else if index[name] == i { unmatched.append(name) }
    }
    let outputs = compareLayers(reference: ExecutionResult(outputs: reference.outputs, intermediates: [], milliseconds: 0),
                                candidate: candidate, tolerance: tolerance).outputs
    return LayerComparison(tolerance: tolerance, layers: layers, outputs: outputs, unmatched: unmatched)
}

/// max |Δ| and max |Δ| / max |reference| between two tensors holding the same values, up to
/// layout: a rank-4 reference is taken as NCHW and compared to an NHWC candidate; shapes that
/// differ only by axes of size 1 (Keras's [N, 1, D] for PyTorch's [N, D]) compare flat, and a
/// reference flattened from a channels-first map (`layout`) is reordered to H,W,C first.
public func difference(name: String, reference: Tensor, candidate: Tensor, layout: ValueLayout? = nil) -> LayerDifference {
    func failed(_ why: String) -> LayerDifference {
        LayerDifference(name: name, shape: candidate.shape, maxAbsolute: .infinity, maxReference: 0, relative: .infinity, problem: why)
    }
    guard var r = try? reference.floats(), let c = try? candidate.floats() else { return failed("expected numeric tensors") }
    var shape = reference.shape
    let s = reference.shape
    switch layout {
    case .flattenedChannelsFirst(let ch, let h, let w)? where r.count % (ch * h * w) == 0:
        r = permuteNCHWtoNHWC(r, [r.count / (ch * h * w), ch, h, w])
    case .channelsFirst? where s.count == 4:
        r = permuteNCHWtoNHWC(r, s)
        shape = [s[0], s[2], s[3], s[1]]
    case nil where s.count == 4 && candidate.shape.count == 4 && s != candidate.shape:
        // no layout given: a rank-4 value is taken as NCHW when the shapes say so
        r = permuteNCHWtoNHWC(r, s)
        shape = [s[0], s[2], s[3], s[1]]
    default:
        break
    }
    let squeezed = { (s: [Int]) in s.filter { $0 != 1 } }
    guard shape == candidate.shape || (r.count == c.count && squeezed(shape) == squeezed(candidate.shape)) else {
        return failed("expected shape \(shapeText(shape)), found \(shapeText(candidate.shape))")
    }
    var maxAbs = 0.0, maxRef = 0.0
    for i in 0..<r.count {
        let a = Double(r[i]), b = Double(c[i])
        let d = abs(a - b)
        if d > maxAbs || d.isNaN { maxAbs = d.isNaN ? .nan : max(maxAbs, d) }
        maxRef = max(maxRef, abs(a))
    }
    let relative = maxAbs.isNaN ? .infinity : maxAbs == 0 ? 0 : maxRef == 0 ? .infinity : maxAbs / maxRef
    return LayerDifference(name: name, shape: candidate.shape, maxAbsolute: maxAbs.isNaN ? .infinity : maxAbs, maxReference: maxRef,
                           relative: relative, problem: nil)
}

func permuteNCHWtoNHWC(_ x: [Float], _ s: [Int]) -> [Float] {
    let (n, c, h, w) = (s[0], s[1], s[2], s[3])
    var y = [Float](repeating: 0, count: x.count)
    for i in 0..<n { for ch in 0..<c { for p in 0..<(h * w) { y[(i * h * w + p) * c + ch] = x[(i * c + ch) * h * w + p] } } }
    return y
}

func permuteNHWCtoNCHW(_ x: [Float], _ s: [Int]) -> [Float] {
    let (n, h, w, c) = (s[0], s[1], s[2], s[3])
    var y = [Float](repeating: 0, count: x.count)
    for i in 0..<n { for ch in 0..<c { for p in 0..<(h * w) { y[(i * c + ch) * h * w + p] = x[(i * h * w + p) * c + ch] } } }
    return y
}

/// Three significant digits in scientific notation.
func formatted(_ x: Double) -> String {
    guard x.isFinite else { return x.isNaN ? "nan" : "inf" }
    if x == 0 { return "0" }
    let exponent = Int((log10(abs(x))).rounded(.down))
    let mantissa = x / pow(10, Double(exponent))
    let m = (mantissa * 100).rounded() / 100
    return "\(m)e\(exponent)"
}
