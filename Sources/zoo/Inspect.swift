import ArgumentParser
import Conversion
import TorchIO
import ZooGraph
import ZooCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a checkpoint: format, tensors, parameters, dtypes, and every tensor's name and shape.",
        discussion: """
        Reads only the file's index (pickle or header), never the tensor data, so it is fast on \
        large files. Wrapped checkpoints ({"state_dict": …, "epoch": …}) are unwrapped and \
        DataParallel's `module.` prefix is removed; use --key when the weights sit elsewhere. \
        A Hugging Face model folder (save_pretrained) is read from model.safetensors, its shards \
        (model.safetensors.index.json), pytorch_model.bin or its shards, in that order of preference.

        Examples:
          zoo inspect resnet18.pth
          zoo inspect model.safetensors --json
          zoo inspect checkpoint.pth --key ema.weights
          zoo inspect ./all-MiniLM-L6-v2              # a model folder
        """
    )

    @Argument(help: "A .pth/.pt/.bin checkpoint (zip or legacy), a .safetensors file, or a Hugging Face model folder.")
    var file: String

    @Option(help: ArgumentHelp("Dotted path to the dict that holds the tensors, e.g. 'ema.weights', or to a module inside the state dict, e.g. 'encoder' (its tensors alone, without the prefix).", valueName: "path"))
    var key: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        try reportingErrors(json: json) {
            let checkpoint = try Checkpoint.open(file, key: key)
            let matching = Converter.matchingArchitectures(checkpoint)
            let matches = matching.map(\.name)
            // the image classifier's head, as the first matching architecture with a head slot reads it
            let head = try matching.first { $0.headSlot != nil }.map { arch in
                (arch.headSlot!, arch.infer(try Converter.shapes(of: checkpoint, for: arch)).head ?? arch.ownHead)
            }
            // which of them `zoo convert FILE` takes: the config's model type decides, and a family
            // whose keys another shares is not taken from the weights alone
            var detected: (name: String?, why: String) = (nil, "")
            if !matching.isEmpty {
                let config = try? ModelConfig.find(explicit: nil, beside: file)
                do {
                    let arch = try Converter.architecture(for: checkpoint, named: nil, config: config)
                    _ = try Converter.options(for: arch, shapes: try Converter.shapes(of: checkpoint, for: arch), config: config, checkpointPath: file)
                    detected = (arch.name, config?.modelType.map { "\(config!.path) says model_type '\(shown: $0)'" } ?? "")
                } catch let error as ZooError {
                    detected = (nil, error.message)
                }
            }
            print(json ? describeJSON(checkpoint, matches: matches, detected: detected, head: head).pretty
                       : describeText(checkpoint, matches: matches, detected: detected, head: head).terminalSafe)
        }
    }

    func dtypeCounts(_ c: Checkpoint) -> [(DType, Int)] {
        var counts: [DType: Int] = [:]
        for e in c.entries { counts[e.dtype, default: 0] += 1 }
        return DType.allCases.compactMap { d in counts[d].map { (d, $0) } }
    }

    func describeJSON(_ c: Checkpoint, matches: [String], detected: (name: String?, why: String) = (nil, ""),
                      head: (slot: String, head: ClassifierHead)? = nil) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("file", .string(c.path)),
            ("folder", c.isFolder ? .string(c.path) : .null),
            ("weights_files", .array(c.weightFiles.map(JSONValue.string))),
            ("shards", .int(c.weightFiles.count)),
            ("index", c.indexFile.map(JSONValue.string) ?? .null),
            ("unused_weights_files", .array(c.unusedWeightFiles.map(JSONValue.string))),
            ("format", .string(c.format.rawValue)),
            ("byteorder", .string(c.isBigEndian ? "big" : "little")),
            ("tensor_count", .int(c.entries.count)),
            ("parameters", .int(c.parameterCount)),
            ("bytes", .int(c.byteCount)),
            ("dtypes", .object(dtypeCounts(c).map { ($0.0.rawValue, .int($0.1)) })),
            ("key", c.selectedKey.map(JSONValue.string) ?? .null),
            ("architectures", .array(matches.map(JSONValue.string))),
            ("converts_as", detected.name.map(JSONValue.string) ?? .null),
            ("converts_as_because", detected.why.isEmpty ? .null : .string(detected.why)),
            ("head", head.map { $0.head.json(slot: $0.slot) } ?? .null),
            ("stripped_prefix", c.strippedPrefix.map(JSONValue.string) ?? .null),
            ("tensors", .array(c.entries.map {
                .object([("name", .string($0.name)), ("dtype", .string($0.dtype.rawValue)), ("shape", .array($0.shape.map(JSONValue.int)))])
            })),
            ("other", .object(c.otherEntries.map { ($0.name, .string($0.summary)) })),
        ]
        if c.format == .safetensors {
            fields.append(("metadata", .object(c.metadata.map { ($0.0, .string($0.1)) })))
        }
        return .object(fields)
    }

    func describeText(_ c: Checkpoint, matches: [String], detected: (name: String?, why: String) = (nil, ""),
                      head: (slot: String, head: ClassifierHead)? = nil) -> String {
        var lines: [String] = []
        if c.isFolder {
            lines.append("folder:      \(c.path)")
            let unused = c.unusedWeightFiles.isEmpty ? "" : " (" + c.unusedWeightFiles.map { "\(shown: baseName($0))" }.joined(separator: ", ") + " also there, not read)"
            if let index = c.indexFile {
                let shards = c.weightFiles.map { "\(shown: baseName($0))" }
                let listed = shards.count > 6 ? shards.prefix(3) + ["…"] + shards.suffix(2) : shards[...]
                lines.append("weights:     \(shards.count) shards listed by \(baseName(index)): \(listed.joined(separator: ", "))\(unused)")
            } else {
                lines.append("weights:     \(shown: baseName(c.weightFiles[0]))\(unused)")
            }
        } else {
            lines.append("file:        \(c.path)")
        }
        lines.append("format:      \(c.format.description)\(c.isBigEndian ? ", big-endian" : "")")
        if let key = c.selectedKey { lines.append("weights at:  '\(shown: key)'") }
        if let prefix = c.strippedPrefix { lines.append("prefix:      '\(prefix)' removed from every name") }
        lines.append("tensors:     \(c.entries.count)")
        lines.append("parameters:  \(grouped(c.parameterCount))")
        lines.append("bytes:       \(grouped(c.byteCount)) (\(humanBytes(c.byteCount)))")
        lines.append("dtypes:      " + dtypeCounts(c).map { "\($0.0.rawValue) ×\($0.1)" }.joined(separator: ", "))
        lines.append("matches:     " + (matches.isEmpty ? "no registered architecture (see `zoo list`; `zoo map ARCH --checkpoint FILE` shows why)" : matches.joined(separator: ", ")))
        if !matches.isEmpty {
            let why = detected.why.isEmpty ? "" : (detected.name == nil ? ": " : " (") + detected.why + (detected.name == nil ? "" : ")")
            lines.append("converts as: " + (detected.name ?? "none unless an architecture is named") + why)
        }
        if let (slot, h) = head {
            let doubt = h.doubt(slot: slot).map { _ in " — modules without weights: name them with --head when converting" } ?? ""
            lines.append("head:        '\(slot)' \(h)\(doubt)")
        }
        if !c.metadata.isEmpty {
            lines.append("metadata:    " + c.metadata.map { "\(shown: $0.0)=\(shown: $0.1)" }.joined(separator: ", "))
        }
        if !c.otherEntries.isEmpty {
            lines.append("other:       " + c.otherEntries.map { "\(shown: $0.name): \($0.summary)" }.joined(separator: "; "))
        }
        lines.append("")
        let names = c.entries.map(\.name.displaySafe)
        let nameWidth = min(60, names.map(\.count).max() ?? 4)
        lines.append("name".padding(nameWidth) + "  dtype     shape")
        for (e, name) in zip(c.entries, names) {
            lines.append(name.padding(nameWidth) + "  " + e.dtype.rawValue.padding(8) + "  [" + e.shape.map(String.init).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n")
    }
}

/// The last component of a path.
func baseName(_ path: String) -> String {
    path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
}

func grouped(_ n: Int) -> String {
    let digits = String(n)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
        out.append(ch)
    }
    return out
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

/// `x` with `digits` decimals ("4.20").
func fixed(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return String(x) }
    var scale = 1
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int((abs(x) * Double(scale)).rounded())
    let fraction = String(scaled % scale)
    let tail = digits == 0 ? "" : "." + String(repeating: "0", count: digits - fraction.count) + fraction
    return (x < 0 && scaled > 0 ? "-" : "") + String(scaled / scale) + tail
}

/// printf-style formatting through the C library (`String(format:)` without Foundation).
func cFormat(_ format: String, _ args: CVarArg...) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    let n = withVaList(args) { vsnprintf(&buffer, buffer.count, format, $0) }
    return String(decoding: buffer.prefix(max(0, min(Int(n), buffer.count - 1))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
