#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Architectures
import KerasIO
import TorchIO
import ZooCore
import ZooGraph

/// What one architecture's nightly run measured.
public struct NightlyResult: Sendable {
    public struct FormatResult: Sendable {
        public var format: String
        public var bytes: Int
        public var convertMilliseconds: Double
        public var maxAbsolute: Double
        public var maxRelative: Double
        public var passed: Bool
        public var error: String?
    }

    public var architecture: String
    public var family: String
    public var parameters: Int
    public var checkpointBytes: Int
    public var tolerance: Double
    public var formats: [FormatResult]
    /// Per-layer max |Δ| / max |y| of the `.keras` verification, in graph order.
    public var layers: [(name: String, relative: Double)]
    public var firstDivergentLayer: String?
    public var torchForwardMilliseconds: Double
    public var kerasForwardMilliseconds: Double
    public var error: String?

    public var passed: Bool { error == nil && !formats.isEmpty && formats.allSatisfy(\.passed) }
    public var convertMilliseconds: Double { formats.map(\.convertMilliseconds).reduce(0, +) }
}

/// Options of a nightly run.
public struct NightlyPlan: Sendable {
    public var architectures: [Architecture]
    /// CI-sized: 10 classes, small images where the architecture allows, a tiny encoder.
    public var small: Bool
    public var seed: UInt64
    public var formats: [KerasFormat] = [.keras, .weightsH5, .legacyH5]
    /// Architectures whose first Keras kernel is deliberately corrupted (proves failures show).
    public var faults: Set<String> = []

    public init(architectures: [Architecture], small: Bool, seed: UInt64) {
        self.architectures = architectures
        self.small = small
        self.seed = seed
    }

    /// Sizes for one architecture in this plan.
    public func options(for arch: Architecture) -> ArchitectureOptions {
        small ? arch.smallOptions : ArchitectureOptions()
    }
}

public enum Nightly {
    /// Runs every architecture of the plan in `folder`: seeded random checkpoint (written as
    /// torch.save would, then read back like any user file), conversion to every format, each
    /// file read back and verified in both layouts.
    public static func run(_ plan: NightlyPlan, folder: String, progress: (String) -> Void) -> [NightlyResult] {
        var results: [NightlyResult] = []
        for (index, arch) in plan.architectures.enumerated() {
            progress("[\(index + 1)/\(plan.architectures.count)] \(arch.name)")
            results.append(runOne(arch, plan: plan, folder: folder, progress: progress))
            let r = results.last!
            let worst = r.formats.map(\.maxRelative).max() ?? .nan
            progress("[\(index + 1)/\(plan.architectures.count)] \(arch.name): \(r.passed ? "ok" : "FAILED") — max |Δ|/max|y| \(scientific(worst)), convert \(Int(r.convertMilliseconds)) ms\(r.error.map { " — \($0)" } ?? "")")
        }
        return results
    }

    static func runOne(_ arch: Architecture, plan: NightlyPlan, folder: String, progress: (String) -> Void) -> NightlyResult {
        var result = NightlyResult(architecture: arch.name, family: arch.family, parameters: 0, checkpointBytes: 0, tolerance: 0,
                                   formats: [], layers: [], firstDivergentLayer: nil, torchForwardMilliseconds: 0,
                                   kerasForwardMilliseconds: 0, error: nil)
        let checkpointPath = "\(folder)/\(arch.name).pth"
        defer { unlink(checkpointPath) }
        do {
            let graph = try arch.graph(plan.options(for: arch))
            result.parameters = graph.parameterCount
            result.tolerance = Verifier.defaultTolerance(for: graph)
            try PthWriter.write(graph.randomStateDict(seed: plan.seed), moduleVersions: arch.moduleVersions, to: checkpointPath, overwrite: true)
            result.checkpointBytes = fileSize(checkpointPath)
            let checkpoint = try Checkpoint.open(checkpointPath)
            let report = arch.match(checkpoint.tensorShapes, graph: graph)
            guard report.isExact else { throw ZooError(.mismatch, report.summary) }
            let model = try graph.kerasModel()
            // the PyTorch-layout pass once, for every format's file
            let reference = try Verifier.Reference(graph: graph, seed: plan.seed, batch: 1,
                                                   torch: try KerasWeightBuilder.torchExecutor(checkpoint: checkpoint, graph: graph, report: report))
            for format in plan.formats {
                let output = "\(folder)/\(arch.name)\(format.fileExtension)"
                defer { unlink(output) }
                var entry = NightlyResult.FormatResult(format: String(format.fileExtension.dropFirst()), bytes: 0, convertMilliseconds: 0,
                                                       maxAbsolute: .nan, maxRelative: .nan, passed: false, error: nil)
                do {
                    let start = monotonicSeconds()
                    if plan.faults.contains(arch.name) {
                        var weights = try KerasWeightBuilder.build(checkpoint: checkpoint, graph: graph, model: model, report: report)
                        corrupt(&weights, model: model, graph: graph)
                        try KerasFile.write(model, weights: weights, to: output, format: format, overwrite: true)
                    } else { // the path `zoo convert` takes
                        try KerasFile.write(model, to: output, format: format, overwrite: true,
                                            feeder: KerasWeightBuilder.feeder(checkpoint: checkpoint, graph: graph, report: report))
                    }
                    entry.convertMilliseconds = (monotonicSeconds() - start) * 1000
                    entry.bytes = fileSize(output)
                    // read back as `zoo verify` reads it: a .keras runs the model its config.json describes
                    let reader = try KerasFile.reader(output, format: format, expecting: model)
                    var verification = try Verifier.compare(reference, keras: try KerasWeightBuilder.kerasExecutor(model: reader.model ?? model, file: reader),
                                                            tolerance: result.tolerance)
                    verification.structure = reader.model == nil ? .descriptor : .file
                    entry.maxAbsolute = verification.maxAbsolute
                    entry.maxRelative = verification.maxRelative
                    entry.passed = verification.passed
                    if format == plan.formats.first {
                        result.layers = verification.comparison.layers.map { ($0.name, $0.relative) }
                        result.firstDivergentLayer = verification.comparison.firstDivergent?.name
                        result.torchForwardMilliseconds = verification.torchMilliseconds
                        result.kerasForwardMilliseconds = verification.kerasMilliseconds
                    }
                } catch {
                    entry.error = "\(error)"
                }
                result.formats.append(entry)
            }
        } catch {
            result.error = "\(error)"
        }
        return result
    }

    /// A deliberate mapping error: the first kernel from the checkpoint mirrored, as a wrong
    /// transpose would (the fixed weights some lowerings add hold no checkpoint values).
    static func corrupt(_ weights: inout KerasWeights, model: KerasModel, graph: Graph) {
        let mapped = Set(graph.parameters.compactMap(\.kerasLayer))
        guard let layer = model.layers.first(where: { !$0.weights.isEmpty && mapped.contains($0.name) }), let kernel = weights[layer.name]?.first,
              let floats = try? kernel.floats() else { return }
        weights[layer.name]![0] = Tensor(shape: kernel.shape, floats: floats.reversed())
    }

    static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }
}
