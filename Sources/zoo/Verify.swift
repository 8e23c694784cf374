import ArgumentParser
import Conversion
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ZooCore

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prove a Keras file computes what the PyTorch checkpoint computes.",
        discussion: """
        Runs the architecture once in PyTorch layout (NCHW) on the checkpoint's tensors and once \
        in Keras layout (NHWC) on the weights read back from KERAS_FILE, on the same seeded random \
        inputs, and compares the outputs and every layer. Without KERAS_FILE the conversion is \
        written to a temporary .keras and checked. Exit status 1 when max |Δ| / max |y| exceeds \
        the tolerance (1e-5 for CNNs, 1e-4 for transformers by default); the first divergent \
        layer is named. The text report sums the layers up (the first divergent one, the worst \
        five); --layers prints every layer, and --json always holds every layer.

        Examples:
          zoo verify resnet50 weights.pth resnet50.keras
          zoo verify resnet50 weights.pth resnet50.keras --layers
          zoo verify weights.pth --json --seed 3 --batch 4
        """
    )

    @Argument(help: ArgumentHelp("[ARCH] WEIGHTS [KERAS_FILE]", valueName: "arch-weights-keras"))
    var items: [String]

    @OptionGroup var selection: CheckpointSelection

    @OptionGroup var check: VerificationOptions

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Flag(help: "Print every layer's difference, not only the summary.")
    var layers = false

    func validate() throws {
        guard (1...3).contains(items.count) else { throw ValidationError("expected [ARCH] WEIGHTS [KERAS_FILE], found \(items.count) arguments") }
    }

    func run() throws {
        try reportingErrors(json: json) {
            let (name, path, rest) = try CheckpointSelection.split(items)
            guard rest.count <= 1 else { throw ZooError(.usage, "expected [ARCH] WEIGHTS [KERAS_FILE], found extra arguments \(rest.dropFirst())") }
            let (checkpoint, arch, options) = try selection.open(path, architecture: name)
            let report = try Converter.verify(checkpoint: checkpoint, architecture: arch, options: options, kerasFile: rest.first,
                                              seed: check.seed, batch: check.batch, tolerance: check.tolerance,
                                              stripPrefix: selection.stripPrefix,
                                              mismatch: { printError($0.description) })
            if json {
                var object = verificationJSON(report)
                if case .object(var fields) = object {
                    fields.insert(("architecture", .string(arch.name)), at: 0)
                    object = .object(fields)
                }
                print(object.pretty)
            } else {
                print(text(report, architecture: arch.name, file: rest.first).terminalSafe)
            }
            if !report.passed {
                let layer = report.comparison.firstDivergent.map { "; first divergent layer: \($0.name)" } ?? ""
                let why = report.explanation.map { "; \($0)" } ?? ""
                // the report (JSON or text) is on stdout already: the error goes to stderr only
                writeStandardError("zoo: error: verification failed: \(report.summary)\(layer)\(why)".lineSafe)
                throw ExitCode(1)
            }
        }
    }

    func text(_ r: VerificationReport, architecture: String, file: String?) -> String {
        var lines = ["\(architecture): \(file ?? "temporary .keras") against the checkpoint, seed \(check.seed), batch \(check.batch)"]
        lines.append("Keras model: \(r.structure.rawValue)")
        lines.append(cFormat("forward: PyTorch layout %.1f ms, Keras layout %.1f ms", r.torchMilliseconds, r.kerasMilliseconds))
        let compared = r.comparison.layers
        // every layer with --layers; else the first divergent one and the five worst
        var shown = compared
        if !layers {
            let beyond = compared.filter { $0.exceeds(r.tolerance) }.count
            let tolerance = cFormat("%.0e", r.tolerance)
            if let first = r.comparison.firstDivergent {
                lines.append("layers: \(compared.count) compared, \(beyond) beyond \(tolerance); first divergent: \(first.name) (max |Δ|/max|y| \(cFormat("%.2e", first.relative)))")
            } else {
                lines.append("layers: \(compared.count) compared, all within \(tolerance)")
            }
            shown = Array(compared.sorted { $0.relative > $1.relative }.prefix(5))
            if !shown.isEmpty { lines.append("the worst \(shown.count):") }
        }
        let width = min(48, (shown + r.comparison.outputs).map(\.name.count).max() ?? 10)
        lines.append("layer".padding(width) + "  max |Δ|     max |Δ|/max|y|")
        for layer in shown + r.comparison.outputs {
            let mark = layer.exceeds(r.tolerance) ? "  ✗" : ""
            lines.append(layer.name.padding(width) + "  " + cFormat("%-10.2e  %.2e", layer.maxAbsolute, layer.relative) + mark)
        }
        if !layers && compared.count > shown.count { lines.append("(--layers prints all \(compared.count) layers)") }
        lines.append("result: \(r.summary) \(r.passed ? "✓" : "✗")")
        return lines.joined(separator: "\n")
    }
}

/// How the random-input check runs; shared by `convert` and `verify`.
struct VerificationOptions: ParsableArguments {
    @Option(help: "Seed of the random inputs of the verification.")
    var seed: UInt64 = 0

    @Option(help: "Batch size of the random inputs of the verification.")
    var batch: Int = 2

    @Option(help: "Tolerance on max |Δ| / max |y| (default 1e-5 for CNNs, 1e-4 for transformers).")
    var tolerance: Double?

    func validate() throws {
        guard batch >= 1 && batch <= 64 else { throw ValidationError("--batch must be between 1 and 64, found \(batch)") }
        if let tolerance, !(tolerance > 0) { throw ValidationError("--tolerance must be positive, found \(tolerance)") }
    }
}
