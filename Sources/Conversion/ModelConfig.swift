import Architectures
import ZooCore
import ZooGraph
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Hugging Face `config.json` for a checkpoint: it sizes the model, and its `model_type`
/// decides the family. Weights with the same names can belong to models that compute different
/// functions (BERT and RoBERTa save the same keys), so the type a config names is never
/// overruled by what the weights look like.
public struct ModelConfig: Sendable {
    public let path: String
    public let json: JSONValue
    /// Named by the user (`--config`) rather than found beside the checkpoint.
    public let explicit: Bool

    public var modelType: String? { json["model_type"]?.string }

    /// `--config` when given, else `config.json` in the checkpoint's folder (inside the checkpoint
    /// when it is a model folder), else nil.
    public static func find(explicit: String?, beside checkpoint: String?) throws -> ModelConfig? {
        let beside = checkpoint.map { path -> String in
            if isFolder(path) { return path.hasSuffix("/") ? path + "config.json" : path + "/config.json" }
            guard let slash = path.lastIndex(of: "/") else { return "config.json" }
            return String(path[...slash]) + "config.json"
        }
        guard let path = explicit ?? beside.flatMap({ access($0, F_OK) == 0 ? $0 : nil }) else { return nil }
        let data: [UInt8]
        do { data = try MappedFile.contents(of: path) } catch let error as ZooError {
            throw ZooError(.io, "cannot read the config file \(path): \(error.message)")
        }
        do {
            let json = try JSONValue.parse(data)
            guard json.object != nil else { throw ZooError(.format, "expected a JSON object, found another JSON value") }
            return ModelConfig(path: path, json: json, explicit: explicit != nil)
        } catch let error as ZooError {
            throw ZooError(.format, "\(path): expected a Hugging Face config.json (a JSON object), found: \(error.message)")
        }
    }

    /// Where a user should put the config.json a checkpoint lacks, for a message.
    static func placeHint(for checkpoint: String?) -> String {
        checkpoint.map(isFolder) == true ? "in the model folder" : "beside the checkpoint"
    }

    static func isFolder(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether this config may size `arch`: a config found beside the checkpoint concerns only
    /// families that read Hugging Face configs; one named with `--config` concerns any. Either
    /// way, a `model_type` the architecture does not compute is refused.
    public func check(fits arch: Architecture) throws {
        guard let type = modelType, arch.huggingFace != nil || explicit else { return }
        guard arch.huggingFace?.modelTypes.contains(type) != true else { return }
        let own = arch.huggingFace.map { "model type \($0.modelTypes.joined(separator: "/"))" } ?? "no Hugging Face model type"
        throw ZooError(.mismatch, "expected a config.json of \(own) for \(arch.name), found model_type '\(shown: type)' in \(path); \(known)")
    }

    private var known: String {
        let types = Registry.all.compactMap { a in a.huggingFace.map { "\($0.modelTypes.joined(separator: "/")) (\(a.name))" } }
        return "zoo converts the model types \(types.joined(separator: ", ")) and refuses to convert a model as another family (same weight names do not make the same function); see docs/adding-an-architecture.md to add one"
    }

    /// The refusal when detection found weights of `architecture` (whose model types the config
    /// does not name), or none at all.
    func refusal(_ type: String, for architecture: String?) -> ZooError {
        let weights = architecture.map { ", and the weights have the names of \($0)" } ?? ""
        return ZooError(.mismatch, "\(path) says model_type '\(shown: type)'\(weights); \(known)")
    }
}
