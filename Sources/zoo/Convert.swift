import ArgumentParser
import Architectures
import Conversion
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KerasIO
import TorchIO
import ZooCore
import ZooGraph

/// `[ARCH] WEIGHTS …` positionals: the architecture is optional when the checkpoint says it.
struct CheckpointSelection: ParsableArguments {
    @Option(help: ArgumentHelp("Dotted path to the dict that holds the tensors, e.g. 'ema.weights', or to a module inside the state dict, e.g. 'encoder' (its tensors alone, without the prefix).", valueName: "path"))
    var key: String?

    @Option(name: .customLong("strip-prefix"), help: ArgumentHelp("Remove this prefix from every tensor name (found automatically when removing a prefix all names share makes them match, e.g. Lightning's 'model.').", valueName: "prefix"))
    var stripPrefix: String?

    @OptionGroup var sizing: SizingOptions

    /// Splits positionals into (architecture?, checkpoint, rest).
    static func split(_ items: [String]) throws -> (String?, String, [String]) {
        guard let first = items.first else { throw ValidationError("expected a checkpoint file") }
        if Registry.named(first) != nil && access(first, F_OK) != 0 {
            guard items.count >= 2 else { throw ValidationError("expected a checkpoint file after the architecture '\(first)'") }
            return (first, items[1], Array(items.dropFirst(2)))
        }
        // ARCH WEIGHTS with an ARCH zoo does not know: say so, rather than try to open it as a file
        if items.count >= 2, access(first, F_OK) != 0 {
            throw ZooError(.usage, unknownArchitecture(first))
        }
        return (nil, first, Array(items.dropFirst()))
    }

    func open(_ path: String, architecture name: String?) throws -> (Checkpoint, Architecture, ArchitectureOptions) {
        let checkpoint = try Checkpoint.open(path, key: key)
        let config = try sizing.modelConfig(beside: path)
        let arch = try Converter.architecture(for: checkpoint, named: name, config: config, stripPrefix: stripPrefix)
        let shapes = try Converter.shapes(of: checkpoint, for: arch, stripPrefix: stripPrefix)
        let options = try sizing.options(for: arch, shapes: shapes, checkpointPath: path, config: .some(config))
        return (checkpoint, arch, options)
    }
}

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a PyTorch checkpoint into a Keras file, and verify it.",
        discussion: """
        The format follows the output's name: .keras (default; loads with \
        keras.saving.load_model and no custom code), .weights.h5 (Keras 3 load_weights into the \
        model of the matching .keras), or .h5 (legacy tf.keras layout). The architecture may be \
        omitted when the checkpoint matches exactly one registered architecture.

        After writing, zoo reads the file back and runs the network in PyTorch layout on the \
        checkpoint and in Keras layout on the file, on seeded random inputs; the output exists \
        only if they agree within the tolerance (max |Δ| / max |y|; 1e-5 for CNNs, 1e-4 for \
        transformers by default).

        Examples:
          zoo convert resnet18 weights.pth              # → resnet18.keras
          zoo convert weights.pth -o model.weights.h5
          zoo convert vgg16 vgg16.pth -o vgg16.h5       # loads into keras.applications.VGG16
          zoo convert bert model.safetensors --heads 12
          zoo convert ./all-MiniLM-L6-v2 -o minilm.keras   # a save_pretrained folder, sharded or not
        """
    )

    @Argument(help: ArgumentHelp("[ARCH] WEIGHTS: an optional registered architecture, then the checkpoint (a file, or a Hugging Face model folder).", valueName: "arch-and-weights"))
    var items: [String]

    @Option(name: .shortAndLong, help: ArgumentHelp("Output file (.keras, .weights.h5 or .h5). Default: <architecture>.keras in the current folder.", valueName: "file"))
    var output: String?

    @OptionGroup var selection: CheckpointSelection

    @Flag(help: "Replace the output file if it exists.")
    var force = false

    @Option(help: "How the Keras file stores weights: float32 (float16 and bfloat16 checkpoints are widened), or float16 (half the size, rounded; verified to 1e-2).")
    var dtype: String = "float32"

    @Flag(name: .customLong("no-verify"), help: "Skip the numerical verification.")
    var noVerify = false

    @Flag(name: .customLong("keep-unverified"), help: "Keep the output even when verification fails.")
    var keepUnverified = false

    @Flag(name: .customLong("sync"), help: "Flush the output to disk before moving it into place, so it survives a power cut (slower: waits for the disk).")
    var sync = false

    @OptionGroup var check: VerificationOptions

    @Flag(help: "Print a JSON summary instead of text.")
    var json = false

    @Flag(name: .shortAndLong, help: "Print nothing but errors.")
    var quiet = false

    func validate() throws {
        guard (1...2).contains(items.count) else { throw ValidationError("expected [ARCH] WEIGHTS, found \(items.count) arguments") }
        guard KerasDType(rawValue: dtype) != nil else {
            let why = dtype == "bfloat16" ? " (HDF5 and h5py have no bfloat16 type, so Keras files cannot hold it)" : ""
            throw ValidationError("--dtype: expected float32 or float16, found '\(dtype)'\(why)")
        }
        if let output, KerasFormat(path: output) == nil {
            throw ValidationError("expected an output name ending in .keras, .weights.h5 or .h5, found '\(output)'")
        }
    }

    func run() throws {
        try reportingErrors(json: json) {
            let (name, path, _) = try CheckpointSelection.split(items)
            let (checkpoint, arch, options) = try selection.open(path, architecture: name)
            if arch.defaults.overridden(by: options).transformInput == false && selection.sizing.transformInput == nil && !quiet {
                // the one choice verification cannot check: both are the same weights
                printError("zoo: note: \(arch.name): the weights do not record torchvision's transform_input; converting with it off, as for a model built without weights (torchvision's pretrained weights run with it on: pass --transform-input)")
            }
            let out = output ?? "\(arch.name).keras"
            var request = ConversionRequest(checkpoint: path, output: out, format: KerasFormat(path: out)!)
            request.key = selection.key
            request.architecture = arch.name
            request.overwrite = force
            request.verify = !noVerify
            request.keepUnverified = keepUnverified
            request.sync = sync
            request.dtype = KerasDType(rawValue: dtype)!
            request.seed = check.seed
            request.batch = check.batch
            request.tolerance = check.tolerance
            request.stripPrefix = selection.stripPrefix
            let terminal = isatty(2) != 0 && !quiet && !json
            let result = try Converter.convert(request, checkpoint: checkpoint, architecture: arch, options: options,
                                               progress: terminal ? { printProgress($0) } : nil,
                                               mismatch: { printError($0.description) })
            if terminal { printProgress(nil) }
            if json {
                print(summaryJSON(result).pretty)
            } else if !quiet {
                print(summaryText(result, unrecorded: unrecorded(options)))
            }
            if let v = result.verification, !v.passed {
                writeStandardError("zoo: error: \(out): verification failed: \(v.summary); the file was kept because of --keep-unverified".lineSafe)
                throw ExitCode(1)
            }
        }
    }

    /// What the conversion assumed that the weights do not record (nn.TransformerEncoderLayer's
    /// activation and norm placement), so a user sees it beside the result.
    func unrecorded(_ options: ArchitectureOptions) -> String? {
        guard let t = options.transformer, let normFirst = t.normFirst else { return nil }
        let activation = t.activation == .gelu ? "GELU" : "ReLU"
        return "layers read as \(activation), \(normFirst ? "norm first" : "norm after each residual") (not in the weights; --activation, --norm-first say otherwise)"
    }

    func summaryText(_ r: ConversionResult, unrecorded: String? = nil) -> String {
        let stored = dtype == "float32" ? "" : ", \(dtype)"
        var lines = ["converted \(r.architecture): \(r.tensorsMapped) tensors, \(grouped(r.parameters)) parameters → \(r.output) (\(humanBytes(r.outputBytes))\(stored)) in \(fixed(r.seconds, 2)) s"]
        var found: [String] = []
        if let key = r.weightsAt { found.append("weights at '\(shown: key)'") }
        if !r.strippedPrefix.isEmpty { found.append("prefix '\(shown: r.strippedPrefix)' removed from every name") }
        if !r.alternatives.isEmpty {
            found.append("the checkpoint also holds " + r.alternatives.map { "'\(shown: $0)'" }.joined(separator: ", ") + " (convert it with --key \(shown: r.alternatives[0]))")
        }
        if let (slot, head, own) = r.head, !own { found.append("head '\(slot)': \(head)") }
        if let unrecorded { found.append(unrecorded) }
        if !found.isEmpty { lines.append(found.joined(separator: "; ")) }
        if let v = r.verification {
            lines.append("verified: \(v.summary) \(v.passed ? "✓" : "✗")")
        } else {
            lines.append("not verified (--no-verify)")
        }
        return lines.joined(separator: "\n")
    }

    func summaryJSON(_ r: ConversionResult) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("architecture", .string(r.architecture)), ("tensors", .int(r.tensorsMapped)), ("parameters", .int(r.parameters)),
            ("output", .string(r.output)), ("format", .string(KerasFormat(path: r.output)?.rawValue ?? "")),
            ("dtype", .string(dtype)), ("bytes", .int(r.outputBytes)), ("seconds", .double(r.seconds)),
            ("weights_at", r.weightsAt.map(JSONValue.string) ?? .null), ("stripped_prefix", .string(r.strippedPrefix)),
            ("other_weights", .array(r.alternatives.map(JSONValue.string))),
            ("head", r.head.map { $0.head.json(slot: $0.slot) } ?? .null),
        ]
        if let v = r.verification {
            fields.append(("verification", verificationJSON(v)))
        }
        return .object(fields)
    }
}

func verificationJSON(_ v: VerificationReport) -> JSONValue {
    .object([
        ("passed", .bool(v.passed)),
        ("max_abs_diff", .double(v.maxAbsolute)),
        ("max_rel_diff", .double(v.maxRelative)),
        ("tolerance", .double(v.tolerance)),
        ("sequence_lengths", .array(v.sequenceLengths.map(JSONValue.int))),
        ("first_divergent_layer", v.comparison.firstDivergent.map { .string($0.name) } ?? .null),
        ("keras_model", .string(v.structure == .file ? "file" : "descriptor")),
        ("explanation", v.explanation.map(JSONValue.string) ?? .null),
        ("layers", .array(v.comparison.layers.map {
            .object([("name", .string($0.name)), ("max_abs_diff", .double($0.maxAbsolute)), ("max_rel_diff", .double($0.relative))])
        })),
        ("timings_ms", .object([("torch_nchw", .double(v.torchMilliseconds)), ("keras_nhwc", .double(v.kerasMilliseconds))])),
    ])
}

/// One overwritten status line on stderr; nil clears it.
func printProgress(_ message: String?) {
    let text = message.map { "\r\u{1b}[2K  \($0)" } ?? "\r\u{1b}[2K"
    fputs(text, stderrStream)
    fflush(stderrStream)
}
