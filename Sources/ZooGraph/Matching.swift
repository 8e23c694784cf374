import ZooCore

/// The outcome of matching a checkpoint against a descriptor: every tensor used exactly once,
/// every weight filled, every shape equal. Anything else is listed.
public struct MatchReport: Sendable {
    public struct Mismatch: Sendable, Equatable {
        public let name: String
        public let expected: [Int]
        public let found: [Int]
    }

    public var architecture: String
    public var missing: [(name: String, shape: [Int])] = []
    public var unexpected: [(name: String, shape: [Int])] = []
    public var mismatched: [Mismatch] = []
    /// Checkpoint keys accepted without use (`num_batches_tracked` absent in old files is not here).
    public var ignored: [String] = []
    /// Checkpoint key for each descriptor key, after normalisation.
    public var sourceKey: [String: String] = [:]
    /// The prefix removed from every checkpoint name before matching ("" for none).
    public var strippedPrefix = ""

    public var isExact: Bool { missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty }

    /// A multi-line report a user can act on.
    public var description: String {
        var lines = ["checkpoint does not match \(architecture): \(missing.count) missing, \(unexpected.count) unexpected, \(mismatched.count) with another shape"]
        func shape(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }
        for m in missing.prefix(20) { lines.append("  missing     \(shown: m.name) \(shape(m.shape))") }
        if missing.count > 20 { lines.append("  … and \(missing.count - 20) more missing") }
        for u in unexpected.prefix(20) { lines.append("  unexpected  \(shown: u.name) \(shape(u.shape))") }
        if unexpected.count > 20 { lines.append("  … and \(unexpected.count - 20) more unexpected") }
        for m in mismatched.prefix(20) { lines.append("  shape       \(shown: m.name): expected \(shape(m.expected)), found \(shape(m.found))") }
        if mismatched.count > 20 { lines.append("  … and \(mismatched.count - 20) more with another shape") }
        return lines.joined(separator: "\n")
    }

    /// One sentence for an error message.
    public var summary: String {
        var parts: [String] = []
        if let m = missing.first { parts.append("\(missing.count) missing (first: '\(shown: m.name)')") }
        if let u = unexpected.first { parts.append("\(unexpected.count) unexpected (first: '\(shown: u.name)')") }
        if let m = mismatched.first {
            parts.append("\(mismatched.count) with another shape (first: '\(shown: m.name)' expected \(m.expected), found \(m.found))")
        }
        return "expected the tensors of \(architecture), found " + parts.joined(separator: ", ")
    }
}

extension Architecture {
    /// Matches checkpoint tensors against this architecture's graph, strictly.
    public func match(_ shapes: TensorShapes, graph: Graph) -> MatchReport {
        var report = MatchReport(architecture: name)
        report.strippedPrefix = shapes.strippedPrefix
        var byName: [String: (original: String, shape: [Int])] = [:]
        var duplicates: [String] = []
        for e in shapes.entries {
            let key = normalizeKey(e.name)
            if byName[key] != nil { duplicates.append(e.name) }
            byName[key] = (e.name, e.shape)
        }
        var used = Set<String>()
        for (name, shape, dtype) in graph.torchEntries {
            guard let found = byName[name] else {
                // BatchNorm's counter is absent from checkpoints written before PyTorch 0.4.1.
                if dtype == .int64 && name.hasSuffix(".num_batches_tracked") { continue }
                report.missing.append((name, shape))
                continue
            }
            used.insert(name)
            report.sourceKey[name] = shapes.original(found.original)
            if found.shape != shape {
                report.mismatched.append(.init(name: name, expected: shape, found: found.shape))
            }
        }
        for e in shapes.entries {
            let key = normalizeKey(e.name)
            if used.contains(key) { continue }
            if tolerated(key) { report.ignored.append(shapes.original(e.name)); continue }
            report.unexpected.append((shapes.original(e.name), e.shape))
        }
        for d in duplicates { report.unexpected.append((d + " (twice after renaming)", byName[normalizeKey(d)]!.shape)) }
        return report
    }

    /// The prefix under which the checkpoint's names are this architecture's: "" when they
    /// match as they are, else the first of the names' common dotted prefixes (`model.`,
    /// `_orig_mod.`, `model._orig_mod.` …, shortest first) whose removal makes the match exact;
    /// nil when none does. `explicit` (a user's `--strip-prefix`) is the only one tried when given.
    public func prefix(for shapes: TensorShapes, options: ArchitectureOptions = ArchitectureOptions(), explicit: String? = nil) -> String? {
        let candidates = explicit.map { [$0] } ?? ([""] + shapes.commonPrefixes)
        for candidate in candidates {
            guard let stripped = shapes.stripping(candidate) else { continue }
            if match(stripped, options: options).1.isExact { return candidate }
        }
        return nil
    }

    /// Infers options from the checkpoint, overrides them with `options`, builds and matches.
    public func match(_ shapes: TensorShapes, options: ArchitectureOptions = ArchitectureOptions()) -> (Graph?, MatchReport) {
        let chosen = infer(shapes).overridden(by: options)
        do {
            let graph = try self.graph(chosen)
            return (graph, match(shapes, graph: graph))
        } catch {
            var report = MatchReport(architecture: name)
            report.missing = [("(\(error))", [])]
            return (nil, report)
        }
    }
}
