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

/// One `zoo convert`: checkpoint in, verified Keras file out.
public struct ConversionRequest: Sendable {
    public var checkpoint: String
    public var key: String?
    /// nil: detect from the checkpoint (exactly one registered architecture must match).
    public var architecture: String?
    public var output: String
    public var format: KerasFormat
    public var overwrite = false
    public var verify = true
    public var keepUnverified = false
    /// Flush the file to disk before it is moved into place (survives a power cut; slower).
    public var sync = false
    /// How the weights are stored (float16: half the file, rounded; verified against 1e-2).
    public var dtype = KerasDType.float32
    public var seed: UInt64 = 0
    public var batch = 2
    public var tolerance: Double?
    /// A prefix to remove from every tensor name (`--strip-prefix`); nil: found automatically.
    public var stripPrefix: String?

    public init(checkpoint: String, output: String, format: KerasFormat) {
        self.checkpoint = checkpoint
        self.output = output
        self.format = format
    }
}

public struct ConversionResult: Sendable {
    public var architecture: String
    /// Where the weights were found: the dict's key path (nil: the top level), the prefix removed
    /// from every name ("" for none), and other dicts of tensors the checkpoint also holds.
    public var weightsAt: String?
    public var strippedPrefix: String = ""
    public var alternatives: [String] = []
    /// The image classifier's head, where it sits (`fc`) and whether it has the structure of
    /// the descriptor's own (torchvision's, of any class count); for architectures with a head slot.
    public var head: (slot: String, head: ClassifierHead, own: Bool)?
    public var tensorsMapped: Int
    public var parameters: Int
    public var output: String
    public var outputBytes: Int
    public var seconds: Double
    public var verification: VerificationReport?
}

/// The steps of a conversion, each one reporting to `progress` (for a terminal).
public enum Converter {
    /// Chooses the architecture: the named one, or the single registered one the checkpoint
    /// matches exactly — of those, when a config.json names a model type, only architectures of
    /// that type (see `ModelConfig`).
    public static func architecture(for checkpoint: Checkpoint, named name: String?, config: ModelConfig? = nil,
                                    stripPrefix: String? = nil) throws -> Architecture {
        if let name {
            guard let arch = Registry.named(name) else {
                throw ZooError(.usage, "expected an architecture zoo knows (`zoo list` shows all \(Registry.all.count)), found '\(shown: name)'; docs/adding-an-architecture.md says how to add one")
            }
            try config?.check(fits: arch)
            return arch
        }
        if let stripPrefix { _ = try stripped(checkpoint.tensorShapes, stripPrefix) }
        let shapeMatches = matchingArchitectures(checkpoint, stripPrefix: stripPrefix)
        // Without a config, a family whose keys are another's (RoBERTa's are BERT's) is never
        // the detected one: only its config.json or its name makes weights its own.
        let matches = shapeMatches.filter { arch in
            guard let config else { return arch.huggingFace?.detectedWithoutConfig != false }
            return (try? config.check(fits: arch)) != nil
        }
        guard matches.count == 1 else {
            if matches.isEmpty, let config, let type = config.modelType, let first = shapeMatches.first {
                throw config.refusal(type, for: first.name)
            }
            if matches.isEmpty, config == nil, !shapeMatches.isEmpty {
                let names = shapeMatches.map(\.name).joined(separator: ", ")
                throw ZooError(.mismatch, "\(checkpoint.path): the weights match \(names), whose tensor names another family shares, so they alone cannot say the model is \(names); name the architecture (`zoo convert \(shapeMatches[0].name) FILE`) or put the model's config.json \(ModelConfig.placeHint(for: checkpoint.path))")
            }
            if matches.isEmpty {
                if let config, let type = config.modelType, !Registry.all.contains(where: { $0.huggingFace?.modelTypes.contains(type) == true }) {
                    throw config.refusal(type, for: nil)
                }
                throw ZooError(.mismatch, "\(checkpoint.path): expected a checkpoint of an architecture zoo knows, found none that matches\(closest(to: checkpoint)); docs/adding-an-architecture.md says how to add one")
            }
            throw ZooError(.mismatch, "\(checkpoint.path): expected one matching architecture, found several (\(matches.map(\.name).joined(separator: ", "))); name one")
        }
        return matches[0]
    }

    /// ", the closest being X (…)": the registered architecture whose match differs least, what
    /// differs, and a prefix hint when every unexpected name is a missing one under a prefix.
    static func closest(to checkpoint: Checkpoint) -> String {
        let raw = checkpoint.tensorShapes
        // names as they are, and with the commonest first component removed where present
        var firsts: [String: Int] = [:]
        for name in raw.names { if let dot = name.firstIndex(of: ".") { firsts[String(name[...dot]), default: 0] += 1 } }
        var views: [(prefix: String, shapes: TensorShapes)] = [("", raw)]
        if let (prefix, count) = firsts.max(by: { $0.value < $1.value }), count > 1, count < raw.entries.count {
            views.append((prefix, TensorShapes(raw.entries.map { ($0.name.hasPrefix(prefix) ? String($0.name.dropFirst(prefix.count)) : $0.name, $0.shape, $0.dtype) })))
        }
        var best: (Architecture, MatchReport, String, Int)?
        for arch in Registry.all {
            for view in views {
                let report = arch.match(view.shapes).1
                let found = report.sourceKey.count
                if best == nil || found > best!.3 { best = (arch, report, view.prefix, found) }
            }
        }
        if let (arch, report, prefix, found) = best, !prefix.isEmpty, found > 0 {
            let rest = report.isExact ? "every other tensor matching as it is" : "\(report.missing.count) missing and \(report.unexpected.count) unexpected besides"
            return ", the closest being \(arch.name): \(found) of its tensors are there once '\(shown: prefix)' is removed from the names that have it, \(rest); the prefix is not on every name, so zoo cannot tell the model is \(arch.name) rather than a module holding one — if it is, re-save the state dict without the prefix"
        }
        let ranked = best.map { ($0.0, $0.1) }
        guard let (arch, report) = ranked, report.sourceKey.count > 0 else { return "" }
        var parts: [String] = []
        if let m = report.missing.first { parts.append("\(report.missing.count) missing (first '\(shown: m.name)')") }
        if let u = report.unexpected.first { parts.append("\(report.unexpected.count) unexpected (first '\(shown: u.name)')") }
        if let m = report.mismatched.first { parts.append("\(report.mismatched.count) with another shape (first '\(shown: m.name)')") }
        var hint = ""
        let missing = Set(report.missing.map(\.name))
        if let first = report.unexpected.first?.name, let dot = first.firstIndex(of: ".") {
            let prefix = String(first[...dot])
            if report.unexpected.allSatisfy({ $0.name.hasPrefix(prefix) && missing.contains(String($0.name.dropFirst(prefix.count))) }) {
                hint = "; every unexpected name is a missing one under '\(shown: prefix)': try --strip-prefix \(shown: prefix)"
            }
        }
        return ", the closest being \(arch.name) (\(parts.joined(separator: ", ")))\(hint); `zoo map \(arch.name) --checkpoint FILE` lists every difference"
    }

    /// Registered architectures the checkpoint matches exactly (after removing a prefix every
    /// name shares, where that is what makes it exact: see `Architecture.prefix(for:)`).
    public static func matchingArchitectures(_ checkpoint: Checkpoint, stripPrefix: String? = nil) -> [Architecture] {
        let shapes = checkpoint.tensorShapes
        return Registry.all.filter { $0.prefix(for: shapes, explicit: stripPrefix) != nil }
    }

    /// The checkpoint's tensors as `arch` names them: with the prefix removed that makes them
    /// match (`model.` of a Lightning checkpoint, `_orig_mod.` of torch.compile), or `explicit`
    /// (`--strip-prefix`); as they are when no prefix makes them match, so a mismatch report
    /// shows the file's own names.
    public static func shapes(of checkpoint: Checkpoint, for arch: Architecture, stripPrefix explicit: String? = nil,
                              options: ArchitectureOptions = ArchitectureOptions()) throws -> TensorShapes {
        let raw = checkpoint.tensorShapes
        if let explicit { return try stripped(raw, explicit) }
        guard let prefix = arch.prefix(for: raw, options: options) else { return raw }
        return raw.stripping(prefix) ?? raw
    }

    /// `shapes` without `prefix`, which every name must start with (`--strip-prefix`).
    static func stripped(_ shapes: TensorShapes, _ prefix: String) throws -> TensorShapes {
        guard let out = shapes.stripping(prefix) else {
            let first = shapes.names.first { !$0.hasPrefix(prefix) } ?? ""
            throw ZooError(.usage, "expected every tensor name to start with --strip-prefix '\(shown: prefix)', found '\(shown: first)'")
        }
        return out
    }

    /// Options for `arch`, layered: descriptor defaults < the checkpoint's shapes < config.json.
    /// A family that reads configs refuses weights that leave the model in doubt without one.
    public static func options(for arch: Architecture, shapes: TensorShapes?, config: ModelConfig?, checkpointPath: String?) throws -> ArchitectureOptions {
        var options = shapes.map(arch.infer) ?? ArchitectureOptions()
        guard let hf = arch.huggingFace else { return options }
        if let config {
            try config.check(fits: arch)
            do { options = options.overridden(by: try hf.read(config.json, options)) } catch let error as ZooError {
                throw error.prefixed(config.path)
            }
        } else if let shapes, let doubt = hf.ambiguousWithoutConfig(shapes) {
            throw ZooError(.mismatch, "\(checkpointPath ?? arch.name): \(doubt); put the model's config.json \(ModelConfig.placeHint(for: checkpointPath)) or name it with --config")
        }
        return options
    }

    /// Converts, writes and (by default) verifies. The output appears only when the file is
    /// complete and, unless `keepUnverified`, verified.
    /// - Parameters:
    ///   - options: sizes chosen by the caller (config.json, flags), over those read off the checkpoint.
    ///   - mismatch: called with the full report when the checkpoint does not match.
    public static func convert(_ request: ConversionRequest, checkpoint: Checkpoint, architecture arch: Architecture,
                               options: ArchitectureOptions, progress: ((String) -> Void)? = nil,
                               mismatch: ((MatchReport) -> Void)? = nil) throws -> ConversionResult {
        let start = monotonicSeconds()
        let (graph, report, model, chosen) = try prepare(checkpoint, arch, options, stripPrefix: request.stripPrefix, mismatch: mismatch)
        let head = arch.headSlot.map { slot in
            let found = chosen.head ?? arch.ownHead
            return (slot, found, found.structure == arch.ownHead.structure)
        }
        progress?("mapping \(report.sourceKey.count) tensors of \(arch.name)")
        let staged = try StagedFile(destination: request.output, overwrite: request.overwrite, protecting: checkpoint.inputFiles)
        defer { staged.discard() }
        do {
            try KerasFile.write(model, into: staged, format: request.format, dtype: request.dtype,
                                feeder: KerasWeightBuilder.feeder(checkpoint: checkpoint, graph: graph, report: report) { done, total in
                                    progress?("writing \(request.format.rawValue): \(humanBytes(done)) of \(humanBytes(total))")
                                })
        } catch let error as ZooError {
            // name the file the user asked for, not the staging file
            throw ZooError(error.kind, error.message.replacingAll(staged.path, request.output))
        }

        var verification: VerificationReport?
        if request.verify {
            progress?("verifying: reading back \(request.output) and running both layouts")
            let tolerance = request.tolerance ?? Verifier.defaultTolerance(for: graph, dtype: request.dtype)
            var result: VerificationReport
            do {
                let reader = try KerasFile.reader(staged.path, format: request.format, expecting: model)
                result = try Verifier.verify(graph: graph, model: model, seed: request.seed, batch: request.batch, tolerance: tolerance,
                    torch: { try KerasWeightBuilder.torchExecutor(checkpoint: checkpoint, graph: graph, report: report) },
                    keras: { try KerasWeightBuilder.kerasExecutor(model: reader.model ?? model, file: reader) })
                result.structure = reader.model == nil ? .descriptor : .file
            } catch let error as ZooError {
                throw ZooError(error.kind, error.message.replacingAll(staged.path, request.output))
            }
            verification = result
            if !result.passed && !request.keepUnverified {
                let layer = result.comparison.firstDivergent.map { " (first divergent layer: \($0.name))" } ?? ""
                let why = result.explanation.map { "; \($0)" } ?? ""
                throw ZooError(.verification, "\(request.output): verification failed: \(result.summary)\(layer)\(why); no file was written (pass --keep-unverified to keep it)")
            }
        }
        try staged.commit(sync: request.sync)
        var info = stat()
        let bytes = stat(request.output, &info) == 0 ? Int(info.st_size) : 0
        return ConversionResult(architecture: arch.name, weightsAt: checkpoint.selectedKey,
                                strippedPrefix: (checkpoint.strippedPrefix ?? "") + report.strippedPrefix,
                                alternatives: checkpoint.alternativeWeights, head: head,
                                tensorsMapped: report.sourceKey.count, parameters: graph.parameterCount,
                                output: request.output, outputBytes: bytes, seconds: monotonicSeconds() - start,
                                verification: verification)
    }

    /// Sizes the graph for the checkpoint (its shapes, then `options`), matches strictly and
    /// lowers the Keras model.
    static func prepare(_ checkpoint: Checkpoint, _ arch: Architecture, _ options: ArchitectureOptions, stripPrefix: String? = nil,
                        mismatch: ((MatchReport) -> Void)?) throws -> (Graph, MatchReport, KerasModel, ArchitectureOptions) {
        let shapes = try self.shapes(of: checkpoint, for: arch, stripPrefix: stripPrefix, options: options)
        let chosen = arch.infer(shapes).overridden(by: options)
        if let transformer = chosen.transformer, transformer.heads <= 0 {
            let source = arch.huggingFace == nil ? "pass --heads (nn.MultiheadAttention's num_heads)"
                : "put the model's config.json \(ModelConfig.placeHint(for: checkpoint.path)) or pass --heads"
            throw ZooError(.usage, "\(checkpoint.path): the number of attention heads is not recorded in the weights; \(source)")
        }
        if let missing = arch.unknown(arch.defaults.overridden(by: chosen)) {
            throw ZooError(.usage, "\(checkpoint.path): \(missing)")
        }
        if let slot = arch.headSlot, let doubt = chosen.head?.doubt(slot: slot) {
            throw ZooError(.usage, "\(checkpoint.path): \(doubt)")
        }
        let graph = try arch.graph(chosen)
        let report = arch.match(shapes, graph: graph)
        guard report.isExact else {
            mismatch?(report)
            throw ZooError(.mismatch, "\(checkpoint.path): \(report.summary)")
        }
        return (graph, report, try graph.kerasModel(), chosen)
    }
}

extension Checkpoint {
    public var tensorShapes: TensorShapes { TensorShapes(entries.map { ($0.name, $0.shape, $0.dtype) }) }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

extension Converter {
    /// Verifies a Keras file against a checkpoint: the checkpoint's tensors run in PyTorch layout,
    /// the file's weights (read back, not recomputed) in Keras layout. Without a file, the
    /// conversion is written to a temporary `.keras` first, so the check still covers a file.
    public static func verify(checkpoint: Checkpoint, architecture arch: Architecture, options: ArchitectureOptions,
                              kerasFile: String?, seed: UInt64, batch: Int, tolerance: Double?, stripPrefix: String? = nil,
                              mismatch: ((MatchReport) -> Void)? = nil) throws -> VerificationReport {
        let (graph, report, model, _) = try prepare(checkpoint, arch, options, stripPrefix: stripPrefix, mismatch: mismatch)
        // Without a file, a scratch .keras that is never given a name (it vanishes with the run).
        var scratch: StagedFile?
        defer { scratch?.discard() }
        if kerasFile == nil {
            let folder = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
            let staged = try StagedFile(destination: "\(folder)/zoo-verify-\(getpid()).keras", overwrite: true)
            scratch = staged
            try KerasFile.write(model, into: staged, format: .keras,
                                feeder: KerasWeightBuilder.feeder(checkpoint: checkpoint, graph: graph, report: report))
        }
        let reader = try KerasFile.reader(kerasFile ?? scratch!.path, format: kerasFile == nil ? .keras : nil, expecting: model)
        var result = try Verifier.verify(graph: graph, model: model, seed: seed, batch: batch, tolerance: tolerance ?? Verifier.defaultTolerance(for: graph),
                                         torch: { try KerasWeightBuilder.torchExecutor(checkpoint: checkpoint, graph: graph, report: report) },
                                         keras: { try KerasWeightBuilder.kerasExecutor(model: reader.model ?? model, file: reader) })
        result.structure = reader.model == nil ? .descriptor : .file
        return result
    }
}
