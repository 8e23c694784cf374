import KerasIO
import ZooCompute
import ZooCore
import ZooGraph

/// Seeded random inputs for both layouts of one graph: NCHW images for PyTorch and the same
/// numbers in NHWC for Keras; token batches are shared (ids, a padded attention mask, random
/// segment ids, positions 0…T−1).
public struct VerificationInputs: Sendable {
    public var torch: [String: Tensor]
    public var keras: [String: Tensor]

    public init(graph: Graph, seed: UInt64, batch: Int, sequenceLength: Int = 16) throws {
        var rng = SeededGenerator(seed: seed)
        torch = [:]
        keras = [:]
        for spec in graph.inputSpecs {
            switch spec.fill {
            case .pixels:
                let (c, h, w) = (spec.shape[0], spec.shape[1], spec.shape[2])
                var nchw = [Float](repeating: 0, count: batch * c * h * w)
                for i in 0..<nchw.count { nchw[i] = rng.normal() }
                torch[spec.name] = Tensor(shape: [batch, c, h, w], floats: nchw)
                keras[spec.name] = Tensor(shape: [batch, h, w, c], floats: permute(nchw, shape: [batch, c, h, w], order: [0, 2, 3, 1]))
            case .features:
                let (t, d) = (sequenceLength, spec.shape[spec.shape.count - 1])
                var values = [Float](repeating: 0, count: batch * t * d)
                for i in 0..<values.count { values[i] = rng.normal() }
                let tensor = Tensor(shape: [batch, t, d], floats: values)
                torch[spec.name] = tensor
                keras[spec.name] = tensor
            case .tokenIDs, .attentionMask, .tokenTypes, .positions:
                let t = sequenceLength
                var values = [Float](repeating: 0, count: batch * t)
                for b in 0..<batch {
                    for i in 0..<t {
                        let v: Int
                        switch spec.fill {
                        case .attentionMask: v = Self.attends(i, row: b, length: t) ? 1 : 0
                        case .tokenTypes(let count): v = Int.random(in: 0..<max(1, count), using: &rng)
                        case .positions: v = i
                        case .tokenIDs(let vocabulary, let padding):
                            let drawn = Int.random(in: 0..<max(1, vocabulary), using: &rng)
                            v = padding.map { Self.attends(i, row: b, length: t) ? drawn : $0 } ?? drawn
                        case .pixels, .features: v = 0
                        }
                        values[b * t + i] = Float(v)
                    }
                }
                let tensor = Tensor(shape: [batch, t], floats: values)
                torch[spec.name] = tensor
                keras[spec.name] = tensor
            }
        }
    }

    /// The attention mask's pattern: later rows of a batch are padded more (3 tokens a row).
    static func attends(_ i: Int, row b: Int, length t: Int) -> Bool { i < t - 3 * b }
}

/// The outcome of running one graph in both layouts and comparing.
public struct VerificationReport: Sendable {
    public var comparison: LayerComparison
    public var torchMilliseconds: Double
    public var kerasMilliseconds: Double
    public var tolerance: Double
    /// Where the Keras-layout pass got its model: the file's own config.json (a `.keras`), or the
    /// descriptor (the weight-only formats, which carry no model).
    public var structure: ModelStructure = .descriptor
    /// Layers of the Keras model that end in a softmax (see `KerasExecutor.softmaxLayers`).
    public var softmaxLayers: [String] = []
    /// Why the Keras model stopped before its outputs, if it did.
    public var kerasFailure: String?
    /// The sequence lengths a model of token or feature sequences was run at (each its own
    /// padding pattern); empty for image models. The report is the worst of them.
    public var sequenceLengths: [Int] = []

    public enum ModelStructure: String, Sendable {
        case file = "the file's config.json"
        case descriptor = "the descriptor (the file holds weights only)"
    }

    /// Why the check failed, in words, when a likely cause is known.
    public var explanation: String? {
        guard !passed else { return nil }
        if let kerasFailure { return "the Keras model could not run to its outputs: \(kerasFailure)" }
        guard let layer = softmaxLayers.last else { return nil }
        return "the Keras model ends in a softmax (layer '\(layer)') that the PyTorch model does not have"
    }

    public var passed: Bool { comparison.passed && kerasFailure == nil }
    public var maxAbsolute: Double { comparison.outputs.map(\.maxAbsolute).max() ?? .nan }
    public var maxRelative: Double { comparison.outputs.map(\.relative).max() ?? .nan }

    /// One line for a summary: "max |Δ| 3.1e-07, max |Δ|/max|y| 2.4e-07 (tolerance 1e-05)".
    public var summary: String {
        let lengths = sequenceLengths.count > 1 ? ", sequence lengths \(sequenceLengths.map(String.init).joined(separator: " and "))" : ""
        return "max |Δ| \(scientific(maxAbsolute)), max |Δ|/max|y| \(scientific(maxRelative)) (tolerance \(scientific(tolerance))\(lengths))"
    }
}

func scientific(_ x: Double) -> String {
    guard x.isFinite else { return String(x) }
    if x == 0 { return "0" }
    var exponent = 0
    var m = abs(x)
    while m >= 10 { m /= 10; exponent += 1 }
    while m < 1 { m *= 10; exponent -= 1 }
    let rounded = (m * 10).rounded() / 10
    let mantissa = rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    return (x < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+") + (abs(exponent) < 10 ? "0" : "") + String(abs(exponent))
}

public enum Verifier {
    /// Default tolerances on max |Δ| / max |y|: float32 CNNs land near 1e-6; attention's
    /// softmax and LayerNorm over long sums sit an order higher.
    /// Weights stored as float16 are rounded to 11 significant bits (relative 4.9e-4 each), so
    /// their outputs are held to 1e-2.
    public static func defaultTolerance(for graph: Graph, dtype: KerasDType = .float32) -> Double {
        if dtype == .float16 { return 1e-2 }
        return graph.nodes.contains { $0.op is AttentionOp } ? 1e-4 : 1e-5
    }

    /// Runs the PyTorch-layout executor on the checkpoint's tensors and the Keras-layout executor
    /// on the weights read back from the written file, on the same seeded inputs, and compares
    /// outputs and every named intermediate.
    public static func verify(graph: Graph, model: KerasModel, torchWeights: [String: Tensor], kerasWeights: KerasWeights,
                              seed: UInt64, batch: Int, tolerance: Double) throws -> VerificationReport {
        try verify(graph: graph, model: model, seed: seed, batch: batch, tolerance: tolerance,
                   torch: { try TorchExecutor(graph: graph, weights: torchWeights) },
                   keras: { try KerasExecutor(model: model, weights: kerasWeights) })
    }

    /// The same check with each side's weights loaded only for its own run: the PyTorch-layout
    /// executor is built, run and released before the Keras-layout one is built, so at most one
    /// copy of the model is in memory.
    public static func verify(graph: Graph, model: KerasModel, seed: UInt64, batch: Int, tolerance: Double,
                              torch makeTorch: () throws -> TorchExecutor, keras makeKeras: () throws -> KerasExecutor) throws -> VerificationReport {
        let reference = try Reference(graph: graph, seed: seed, batch: batch, torch: try makeTorch())
        return try compare(reference, keras: try makeKeras(), tolerance: tolerance)
    }

    /// The PyTorch-layout side of a check, computed once: the seeded inputs and every
    /// intermediate, to compare any number of Keras files against (the nightly's three formats).
    public struct Reference {
        public let graph: Graph
        /// One run a sequence length (a single one for image models).
        let runs: [(length: Int?, inputs: VerificationInputs, result: ExecutionResult)]

        /// Sequence models run at 16 steps and at an odd 7 (another padding pattern: the second
        /// sample of a batch keeps 13 of 16 tokens, then 4 of 7), as callers pass batches of any length.
        public static let sequenceLengths = [16, 7]

        public init(graph: Graph, seed: UInt64, batch: Int, torch: TorchExecutor) throws {
            self.graph = graph
            let sequences = graph.inputSpecs.contains { $0.kind != .image }
            runs = try (sequences ? Self.sequenceLengths.map { Optional($0) } : [nil]).map { length in
                let inputs = try VerificationInputs(graph: graph, seed: seed, batch: batch, sequenceLength: length ?? 16)
                return (length, inputs, try torch.run(inputs.torch))
            }
        }
    }

    /// Runs the Keras-layout executor on the reference's inputs and compares it layer by layer.
    public static func compare(_ reference: Reference, keras executor: KerasExecutor, tolerance: Double) throws -> VerificationReport {
        var worst: VerificationReport?
        for run in reference.runs {
            var report = try compare(reference.graph, run.inputs, run.result, keras: executor, tolerance: tolerance)
            report.sequenceLengths = reference.runs.compactMap(\.length)
            // the first failing run decides, else the one furthest from the PyTorch side
            if worst == nil || (worst!.passed && (!report.passed || report.maxRelative > worst!.maxRelative)) { worst = report }
        }
        return worst!
    }

    static func compare(_ graph: Graph, _ inputs: VerificationInputs, _ torch: ExecutionResult, keras executor: KerasExecutor,
                        tolerance: Double) throws -> VerificationReport {
        let graphInputs = graph.inputSpecs.map(\.name), modelInputs = executor.model.inputs
        guard graphInputs.count == modelInputs.count else {
            throw ZooError(.mismatch, "expected the Keras model to take the \(graphInputs.count) inputs of the PyTorch model (\(graphInputs.joined(separator: ", "))), found \(modelInputs.count) (\(modelInputs.joined(separator: ", ")))")
        }
        var kerasInputs: [String: Tensor] = [:]
        for (ours, theirs) in zip(graphInputs, modelInputs) { kerasInputs[theirs] = inputs.keras[ours] }
        var kerasMilliseconds = 0.0
        var stopped: ZooError?
        // Keras-layout outputs are compared as they come, so only the PyTorch side's are kept. A
        // Keras model that cannot run to the end (a changed padding makes an Add's shapes differ)
        // fails the check where it stopped, after the layers it did run were compared.
        let comparison = compareLayers(reference: torch, tolerance: tolerance) { observe in
            do {
                let result = try executor.run(kerasInputs, recordIntermediates: false, observe: observe)
                kerasMilliseconds = result.milliseconds
                return result
            } catch let error as ZooError {
                stopped = error
                return ExecutionResult(outputs: [], intermediates: [], milliseconds: 0)
            } catch {
                stopped = ZooError(.internal, "\(error)")
                return ExecutionResult(outputs: [], intermediates: [], milliseconds: 0)
            }
        }
        return VerificationReport(comparison: comparison, torchMilliseconds: torch.milliseconds,
                                  kerasMilliseconds: kerasMilliseconds, tolerance: tolerance, softmaxLayers: executor.softmaxLayers,
                                  kerasFailure: stopped?.message)
    }
}
