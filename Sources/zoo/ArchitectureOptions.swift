import ArgumentParser
import Architectures
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TorchIO
import ZooCore
import ZooGraph

/// Options that size an architecture without making it a new one; shared by every command that
/// builds a graph.
struct SizingOptions: ParsableArguments {
    @Option(help: "Output classes of an image classifier (default: read from the checkpoint, else 1000).")
    var classes: Int?

    @Option(name: [.customLong("image-size"), .customLong("input-size")], help: "Input height and width of an image model (default 224).")
    var imageSize: Int?

    @Option(help: ArgumentHelp("A Hugging Face config.json for a transformer (default: config.json beside the checkpoint).", valueName: "file"))
    var config: String?

    @Option(help: "Attention heads of a transformer, when no config.json says it.")
    var heads: Int?

    func validate() throws {
        if let classes, classes < 1 { throw ValidationError("--classes must be at least 1, found \(classes)") }
        if let imageSize, imageSize < 8 { throw ValidationError("--image-size must be at least 8, found \(imageSize)") }
        if let heads, heads < 1 { throw ValidationError("--heads must be at least 1, found \(heads)") }
    }

    /// Options for `architecture`, layered: descriptor defaults < checkpoint shapes < config.json < flags.
    func options(for architecture: Architecture, shapes: TensorShapes?, checkpointPath: String?) throws -> ArchitectureOptions {
        var options = shapes.map(architecture.infer) ?? ArchitectureOptions()
        if architecture.family == "bert" {
            var transformer = options.transformer ?? architecture.defaults.transformer!
            let beside = checkpointPath.map { path -> String in
                guard let slash = path.lastIndex(of: "/") else { return "config.json" }
                return String(path[...slash]) + "config.json"
            }
            if let path = config ?? beside.flatMap({ access($0, F_OK) == 0 ? $0 : nil }) {
                guard let data = try? MappedFile.contents(of: path) else {
                    throw ZooError(.io, "cannot read config file '\(path)'")
                }
                let json: JSONValue
                do { json = try JSONValue.parse(Array(data)) } catch let e as ZooError { throw e.prefixed(path) }
                transformer = try BERT.config(fromHuggingFace: json, pooler: transformer.pooler)
            }
            if let heads { transformer.heads = heads }
            options.transformer = transformer
        }
        if let classes { options.classes = classes }
        if let imageSize { options.imageSize = imageSize }
        return options
    }
}

func lookUpArchitecture(_ name: String) throws -> Architecture {
    guard let arch = Registry.named(name) else {
        let known = Registry.all.map(\.name).joined(separator: ", ")
        throw ZooError(.usage, "expected a registered architecture (\(known)), found '\(name)'")
    }
    return arch
}
