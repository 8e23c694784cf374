import ArgumentParser
import Architectures
import Conversion
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

    @Option(name: [.customLong("image-size"), .customLong("input-size")],
            help: ArgumentHelp("Input size of an image model: N for N×N, or HxW (e.g. 197x161) for another shape (default 224, or what the weights fix).", valueName: "size"))
    var imageSize: ImageSizeArgument?

    @Option(help: ArgumentHelp("A Hugging Face config.json for a transformer (default: config.json beside the checkpoint, or inside a model folder).", valueName: "file"))
    var config: String?

    @Option(help: "Attention heads of a transformer, when no config.json says it.")
    var heads: Int?

    @Option(help: ArgumentHelp("Image classifiers: the head at the last Linear's place (fc, classifier…), when the checkpoint cannot say it: 'none' (nn.Identity, features out), 'linear', or an nn.Sequential's modules in order, e.g. 'dropout,linear' or 'linear,relu,dropout,linear' (Linear sizes from the weights; 'linear(256)' where there are none). Default: read from the checkpoint.", valueName: "spec"))
    var head: String?

    @Flag(name: .customLong("token-types"), help: "Encoders: take token_type_ids as an input (sentence pairs); by default the Keras model takes input_ids and attention_mask, with token types 0 as Hugging Face computes them when none are passed.")
    var tokenTypes = false

    @Option(help: ArgumentHelp("transformer_encoder: the activation of nn.TransformerEncoderLayer, relu (PyTorch's default) or gelu; the weights do not record it.", valueName: "name"))
    var activation: String?

    @Flag(name: .customLong("norm-first"), help: "transformer_encoder: nn.TransformerEncoderLayer(norm_first=True), LayerNorm before attention and MLP; the weights do not record it.")
    var normFirst = false

    @Flag(name: .customLong("transform-input"), inversion: .prefixedNo,
          help: "torchvision's transform_input (googlenet, inception_v3): re-normalise ImageNet-normalised input inside the model, as torchvision does with its pretrained weights. The weights do not record it; default off, as the builders make a model without weights.")
    var transformInput: Bool?

    func validate() throws {
        if let classes, classes < 1 { throw ValidationError("--classes must be at least 1, found \(classes)") }
        if let imageSize, min(imageSize.height, imageSize.width) < 8 { throw ValidationError("--image-size must be at least 8 a side, found \(imageSize)") }
        if let heads, heads < 1 { throw ValidationError("--heads must be at least 1, found \(heads)") }
    }

    /// The config.json to use: --config, else the one beside the checkpoint.
    func modelConfig(beside checkpointPath: String?) throws -> ModelConfig? {
        try ModelConfig.find(explicit: config, beside: checkpointPath)
    }

    /// Options for `architecture`, layered: descriptor defaults < checkpoint shapes < config.json < flags.
    func options(for architecture: Architecture, shapes: TensorShapes?, checkpointPath: String?,
                 config found: ModelConfig?? = nil) throws -> ArchitectureOptions {
        let modelConfig = try found ?? self.modelConfig(beside: checkpointPath)
        var options = try Converter.options(for: architecture, shapes: shapes, config: modelConfig, checkpointPath: checkpointPath)
        if let head {
            guard let slot = architecture.headSlot else {
                let having = Registry.all.filter { $0.headSlot != nil }.map(\.family)
                throw ValidationError("--head applies to image classifiers (\(Array(Set(having)).sorted().joined(separator: ", "))); \(architecture.name) has no head slot")
            }
            options.head = try ClassifierHead.parse(head).resolved(against: shapes == nil ? nil : options.head, slot: slot)
            if case .sequential(let modules)? = options.head, case .linear(let out?)? = modules.last(where: \.isLinear) {
                options.classes = out
            }
        }
        if let heads {
            guard var transformer = options.transformer ?? architecture.defaults.transformer else {
                throw ValidationError("--heads applies to transformers; \(architecture.name) has no attention heads")
            }
            transformer.heads = heads
            options.transformer = transformer
        }
        if let transformInput {
            guard architecture.defaults.transformInput != nil else {
                let having = Registry.all.filter { $0.defaults.transformInput != nil }.map(\.name).joined(separator: ", ")
                throw ValidationError("--transform-input applies to \(having); \(architecture.name) has no transform_input")
            }
            options.transformInput = transformInput
        }
        if activation != nil || normFirst {
            guard var transformer = options.transformer ?? architecture.defaults.transformer, transformer.normFirst != nil else {
                let having = Registry.all.filter { $0.defaults.transformer?.normFirst != nil }.map(\.name).joined(separator: ", ")
                throw ValidationError("--activation and --norm-first apply to \(having), whose weights do not record them; \(architecture.name) has its own")
            }
            if let activation {
                switch activation {
                case "relu": transformer.activation = .relu
                case "gelu": transformer.activation = .gelu
                default: throw ValidationError("--activation: expected relu or gelu (nn.TransformerEncoderLayer's), found '\(activation)'")
                }
            }
            if normFirst { transformer.normFirst = true }
            options.transformer = transformer
        }
        if tokenTypes {
            guard var transformer = options.transformer ?? architecture.defaults.transformer else {
                throw ValidationError("--token-types applies to transformer encoders; \(architecture.name) takes no tokens")
            }
            transformer.tokenTypeInput = true
            options.transformer = transformer
        }
        if let classes { options.classes = classes }
        if let imageSize, architecture.imageSizeFromWeights, let trained = options.imageSize, shapes != nil,
           imageSize.height != trained || imageSize.width != trained {
            throw ValidationError("\(architecture.name)'s weights fix the image size at \(trained)×\(trained) (a position table row per patch); --image-size \(imageSize) would need other weights")
        }
        if let imageSize { (options.imageSize, options.imageWidth) = (imageSize.height, imageSize.isSquare ? nil : imageSize.width) }
        return options
    }
}

/// `--image-size`: "224" or "197x161" (height × width; "×" also reads).
struct ImageSizeArgument: ExpressibleByArgument, CustomStringConvertible {
    var height: Int
    var width: Int

    init?(argument: String) {
        let parts = argument.lowercased().replacingOccurrences(of: "×", with: "x").split(separator: "x", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let h = Int(parts[0]), let w = Int(parts.last!), h > 0, w > 0, h <= 1 << 16, w <= 1 << 16 else { return nil }
        (height, width) = (h, w)
    }

    var isSquare: Bool { height == width }
    var description: String { isSquare ? "\(height)" : "\(height)x\(width)" }
}

func lookUpArchitecture(_ name: String) throws -> Architecture {
    guard let arch = Registry.named(name) else { throw ZooError(.usage, unknownArchitecture(name)) }
    return arch
}

/// "expected a registered architecture, found 'x'", with the closest names and where to read
/// how to add one.
func unknownArchitecture(_ name: String) -> String {
    let lower = name.lowercased()
    let close = Registry.all.map(\.name).filter { $0.hasPrefix(lower.prefix(4)) || lower.hasPrefix($0.prefix(4)) }.prefix(6)
    let hint = close.isEmpty ? "" : " (close: \(close.joined(separator: ", ")))"
    return "expected an architecture zoo knows (`zoo list` shows all \(Registry.all.count)), found '\(shown: name)'\(hint); docs/adding-an-architecture.md says how to add one"
}
