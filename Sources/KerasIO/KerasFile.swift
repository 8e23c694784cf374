import ZooCore
import ZooGraph
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The three Keras files zoo writes and reads.
public enum KerasFormat: String, CaseIterable, Sendable {
    /// `.keras`: a zip of `metadata.json`, `config.json` and `model.weights.h5`, loaded by
    /// `keras.saving.load_model(path)` without custom objects.
    case keras
    /// `.weights.h5`: Keras 3 `model.save_weights` layout, loaded by `model.load_weights(path)`.
    case weightsH5
    /// `.h5`: tf.keras 2 legacy weights-only layout, loaded by tf.keras 2 and Keras 3
    /// `model.load_weights(path)`.
    case legacyH5

    /// The file name ending Keras expects (`.keras`, `.weights.h5`, `.h5`).
    public var fileExtension: String {
        switch self {
        case .keras: return ".keras"
        case .weightsH5: return ".weights.h5"
        case .legacyH5: return ".h5"
        }
    }

    /// The format a file name implies, or nil for other endings.
    public init?(path: String) {
        let lower = path.lowercased()
        if lower.hasSuffix(".keras") { self = .keras }
        else if lower.hasSuffix(".weights.h5") { self = .weightsH5 }
        else if lower.hasSuffix(".h5") || lower.hasSuffix(".hdf5") { self = .legacyH5 }
        else { return nil }
    }
}

/// What a `.keras` archive holds besides weights: its model config and the layers it names.
public struct KerasArchive: Sendable {
    /// `config.json`, parsed.
    public var config: JSONValue
    /// Layer names and classes in config order (`model.layers` order for files Keras wrote).
    public var layers: [(name: String, className: String)]
    /// `keras_version` from `metadata.json`, when present.
    public var kerasVersion: String?
    public var weights: KerasWeights
}

/// Writing and reading Keras files.
public enum KerasFile {
    /// The Keras version whose `.keras` layout zoo writes (recorded in `metadata.json`).
    public static let kerasVersion = "3.15.1"

    /// Writes `weights` for `model` in `format` (by default the one `path`'s ending implies).
    ///
    /// Every weight's shape is checked against the model before anything is written. The file
    /// appears at `path` only when complete: it is written to a temporary file in the same
    /// folder and renamed into place; on any error the temporary file is removed.
    /// - Parameters:
    ///   - overwrite: replace an existing file; when false an existing `path` is an error.
    ///   - sync: flush the file to disk before renaming it into place.
    ///   - dtype: how the weights are stored.
    public static func write(_ model: KerasModel, weights: KerasWeights, to path: String,
                             format: KerasFormat? = nil, overwrite: Bool = false, sync: Bool = false, dtype: KerasDType = .float32) throws {
        try write(model, weights: weights, to: path, format: format, overwrite: overwrite, sync: sync, dtype: dtype, faultAfterFirstDataset: nil)
    }

    /// `write` with a hook run after the first dataset is written, so tests can make a write
    /// fail half-way and check that nothing is left behind.
    static func write(_ model: KerasModel, weights: KerasWeights, to path: String, format: KerasFormat?,
                      overwrite: Bool, sync: Bool = false, dtype: KerasDType = .float32, faultAfterFirstDataset: (() throws -> Void)?) throws {
        let validated = try weights.validated(for: model)
        try write(model, to: path, format: format, overwrite: overwrite, sync: sync, dtype: dtype) { writer in
            var hook = faultAfterFirstDataset
            for (i, slot) in writer.slots.enumerated() {
                guard let tensor = validated[slot.layer]?[slot.index] else {
                    throw ZooError(.mismatch, "expected a value for '\(slot.layer)/\(slot.name)', found none")
                }
                try tensor.floats().withUnsafeBufferPointer { try writer.write(i, at: 0, $0) }
                if let h = hook { hook = nil; try h() }
            }
        }
    }

    /// Writes `model` with weights supplied by `fill`, which writes every slot of the writer it
    /// is given (see `KerasFileWriter`) once the file is laid out: the values go straight to
    /// their place in the file. Same guarantees as `write(_:weights:to:)`: the file appears
    /// complete or not at all.
    public static func write(_ model: KerasModel, to path: String, format: KerasFormat? = nil, overwrite: Bool = false,
                             sync: Bool = false, dtype: KerasDType = .float32, fill: @escaping (KerasFileWriter) throws -> Void) throws {
        try write(model, to: path, format: format, overwrite: overwrite, sync: sync, dtype: dtype) { _ in AfterLayout(fill) }
    }

    /// Writes `model` with weights from the feeder `makeFeeder` returns for the file's slots
    /// (checked before the file is created): the feeder hears of each slot as soon as HDF5 has
    /// placed it, so values stream in while the rest of the file is laid out.
    public static func write(_ model: KerasModel, to path: String, format: KerasFormat? = nil, overwrite: Bool = false,
                             sync: Bool = false, dtype: KerasDType = .float32,
                             feeder makeFeeder: ([WeightSlot]) throws -> KerasWeightFeeder) throws {
        let staged = try StagedFile(destination: path, overwrite: overwrite)
        try write(model, into: staged, format: format, dtype: dtype, feeder: makeFeeder)
        try staged.commit(sync: sync)
    }

    /// Writes `model` into a staged file (see `StagedFile`), which the caller commits once it is
    /// content with it (after verifying it, say) or discards. Messages name its destination.
    public static func write(_ model: KerasModel, into staged: StagedFile, format: KerasFormat? = nil, dtype: KerasDType = .float32,
                             feeder makeFeeder: ([WeightSlot]) throws -> KerasWeightFeeder) throws {
        let path = staged.destination
        guard let format = format ?? KerasFormat(path: path) else {
            throw ZooError(.usage, "expected a Keras file name ending in .keras, .weights.h5 or .h5, found '\(path)'")
        }
        let saved = try SavedModel(model)
        var metadata: [UInt8] = [], config: [UInt8] = []
        if format == .keras {
            metadata = Array(JSONValue.object([("keras_version", .string(kerasVersion)), ("date_saved", .string(dateSaved()))]).serialized.utf8)
            config = Array(try KerasConfig.functional(saved).serialized.utf8)
        }
        let feeder = try makeFeeder(KerasFileWriter.plannedSlots(saved, dtype: dtype))
        var finished = false
        defer { if !finished { feeder.abandon() } } // the feeder's threads never outlive a failure
        let writer = try KerasFileWriter.create(saved, format: format, dtype: dtype, path: staged.path, displayName: path,
                                                metadata: metadata, config: config) { feeder.placed($1, in: $0) }
        try feeder.finish(writer)
        try writer.finish()
        finished = true
    }

    /// The `config.json` zoo writes into a `.keras` for `model`.
    public static func functionalConfig(_ model: KerasModel) throws -> JSONValue {
        try KerasConfig.functional(SavedModel(model))
    }

    /// Reads the weights of a Keras file, keyed by layer name (layers without weights are
    /// left out).
    /// - Parameters:
    ///   - format: by default the one `path`'s ending implies.
    ///   - model: when given, the file must belong to it: the same layers with weights, the same
    ///     shapes (and for `.keras`, the config's layers and classes match the model's).
    public static func read(_ path: String, format: KerasFormat? = nil, expecting model: KerasModel? = nil) throws -> KerasWeights {
        if let model, (format ?? KerasFormat(path: path)) == .keras { try checkBelongs(path, to: model) }
        return try readAll(try reader(path, format: format, expecting: model).index)
    }

    /// Opens a Keras file for reading its weights one at a time (see `KerasWeightReader`), with
    /// the same checks as `read`.
    public static func reader(_ path: String, format: KerasFormat? = nil, expecting model: KerasModel? = nil) throws -> KerasWeightReader {
        guard let format = format ?? KerasFormat(path: path) else {
            throw ZooError(.usage, "expected a Keras file name ending in .keras, .weights.h5 or .h5, found '\(path)'")
        }
        let index: [String: [H5DatasetRef]]
        switch format {
        case .keras:
            // A .keras describes its own model: that model, as its config.json builds it, is what
            // runs — not the one `model` would expect — so a wrong config cannot pass.
            let archive = try openArchive(path)
            index = try WeightsH5.index(archive.weights)
            let shapes = try index.mapValues { try $0.map { try $0.shape() } }
            let own = try KerasConfig.model(from: archive.config, weights: shapes, file: path)
            return KerasWeightReader(index: index, model: own)
        case .weightsH5:
            try requireFile(path)
            index = try WeightsH5.index(try H5ReadFile.open(path: path))
        case .legacyH5:
            try requireFile(path)
            index = try LegacyH5.index(try H5ReadFile.open(path: path))
        }
        if let model { try checkWeights(index, belongTo: model, file: path) }
        return KerasWeightReader(index: index, model: nil)
    }

    /// Checks that a `.keras` holds exactly the layers (names and classes) of `model`: for
    /// callers that need the file to be zoo's model (reading back what zoo just wrote).
    public static func checkBelongs(_ path: String, to model: KerasModel) throws {
        let archive = try openArchive(path)
        try checkLayers(archive.layers, belongTo: model, file: path)
        try checkWeights(try WeightsH5.index(archive.weights), belongTo: model, file: path)
    }

    /// Reads a `.keras` archive: config, layer list, metadata and weights.
    public static func readArchive(_ path: String) throws -> KerasArchive {
        let archive = try openArchive(path)
        let weights = try readAll(try WeightsH5.index(archive.weights))
        return KerasArchive(config: archive.config, layers: archive.layers, kerasVersion: archive.version, weights: weights)
    }

    private static func readAll(_ index: [String: [H5DatasetRef]]) throws -> KerasWeights {
        try index.mapValues { try $0.map { try $0.read() } }
    }

    private static func openArchive(_ path: String) throws -> (config: JSONValue, layers: [(name: String, className: String)], version: String?, weights: H5ReadFile) {
        try requireFile(path)
        let zip = try ZipReader(path: path, kind: "a .keras file", displayName: path)
        func json(_ entry: String) throws -> JSONValue {
            do { return try JSONValue.parse(try zip.read(entry)) } catch let error as ZooError where error.kind == .format {
                throw ZooError(.format, "expected the entry '\(entry)' of \(path) to be JSON, found \(error.message)")
            }
        }
        let config = try json("config.json")
        let layers = try KerasConfig.layers(of: config, file: path)
        var version: String?
        if zip.names.contains("metadata.json") {
            version = try json("metadata.json")["keras_version"]?.string
        }
        return (config, layers, version, try openWeightsEntry(of: path, zip: zip))
    }

    // MARK: - internals

    /// The `model.weights.h5` of a `.keras`: read in place, from the memory map, when zoo wrote
    /// it (stored uncompressed, its superblock where HDF5's user block puts it: at a power of two
    /// from 512 on); else copied out of the zip through libzip, which checks the entry's CRC-32.
    private static func openWeightsEntry(of path: String, zip: ZipReader) throws -> H5ReadFile {
        let name = "model.weights.h5"
        let displayName = "\(path) (\(name))"
        if let file = try? MappedFile(path: path), let stored = ZipDirectory(file.bytes).stored[name] {
            let start = stored.range.lowerBound
            let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]
            if start >= 512, start & (start - 1) == 0, stored.range.count >= 8,
               Array(file.bytes[start..<(start + 8)]) == signature {
                return try H5ReadFile(mapped: file, range: stored.range, displayName: displayName)
            }
        }
        return try H5ReadFile(bytes: try zip.read(name), displayName: displayName)
    }

    /// `date_saved` as Keras writes it: local time, `%Y-%m-%d@%H:%M:%S`.
    private static func dateSaved() -> String { timestamp("%Y-%m-%d@%H:%M:%S", utc: false) }

    private static func checkLayers(_ layers: [(name: String, className: String)], belongTo model: KerasModel, file: String) throws {
        let expected = try SavedModel(model).layers.map { ($0.name, $0.className) }
        let found = Dictionary(layers.map { ($0.name, $0.className) }, uniquingKeysWith: { a, _ in a })
        for (name, className) in expected {
            guard let other = found[name] else {
                throw ZooError(.mismatch, "expected \(file) to hold the model '\(model.name)' with a layer '\(shown: name)', found no such layer in its config.json")
            }
            guard other == className else {
                throw ZooError(.mismatch, "expected the layer '\(shown: name)' in \(file) to be a \(className), found a \(other)")
            }
        }
        if layers.count != expected.count {
            throw ZooError(.mismatch, "expected \(file) to hold the model '\(model.name)' with \(expected.count) layers, found \(layers.count)")
        }
    }

    private static func checkWeights(_ weights: [String: [H5DatasetRef]], belongTo model: KerasModel, file: String) throws {
        for layer in model.layers where !layer.weights.isEmpty {
            guard let tensors = weights[layer.name] else {
                throw ZooError(.mismatch, "expected weights for the layer '\(layer.name)' of '\(model.name)' in \(file), found none")
            }
            guard tensors.count == layer.weights.count else {
                throw ZooError(.mismatch, "expected \(layer.weights.count) weights for the layer '\(layer.name)' in \(file), found \(tensors.count)")
            }
            for (spec, tensor) in zip(layer.weights, tensors) {
                let shape = try tensor.shape()
                if spec.shape != shape {
                    throw ZooError(.mismatch, "expected shape \(spec.shape) for '\(layer.name)/\(spec.name)' in \(file), found \(shape)")
                }
            }
        }
        let known = Set(model.layers.map(\.name))
        if let stray = weights.keys.sorted().first(where: { !known.contains($0) }) {
            throw ZooError(.mismatch, "expected \(file) to hold only layers of '\(model.name)', found weights for '\(shown: stray)'")
        }
    }

    private static func requireFile(_ path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else { throw ZooError(.io, "could not read \(path): \(String(cString: strerror(errno)).lowercased())") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw ZooError(.io, "expected a file at \(path), found a folder or device") }
    }
}

/// The weights of a Keras file, each read only when asked for, so a caller can hand them on one
/// at a time without the whole model in memory twice.
public final class KerasWeightReader {
    fileprivate let index: [String: [H5DatasetRef]]
    /// For a `.keras`, the model its config.json describes (with the file's weight shapes); nil
    /// for the weight-only formats, whose structure comes from the descriptor.
    public let model: KerasModel?

    fileprivate init(index: [String: [H5DatasetRef]], model: KerasModel?) {
        self.index = index
        self.model = model
    }

    /// How many weights the file holds for `layer` (0 when none).
    public func count(_ layer: String) -> Int { index[layer]?.count ?? 0 }

    /// Weight i of `layer`, row-major, converted to float32.
    public func floats(_ layer: String, _ i: Int) throws -> [Float] { try ref(layer, i).floats() }

    private func ref(_ layer: String, _ i: Int) throws -> H5DatasetRef {
        guard let refs = index[layer], refs.indices.contains(i) else {
            throw ZooError(.mismatch, "expected weight \(i) of the layer '\(shown: layer)', found \(count(layer)) weights")
        }
        return refs[i]
    }
}

/// Supplies the values of a Keras file while it is laid out (see `KerasFileWriter`).
public protocol KerasWeightFeeder: AnyObject {
    /// Slot `slot` of `writer.slots` has its place: its values may be written from now on, from
    /// any thread. Called on the thread laying out the file: queue the work and return.
    func placed(_ slot: Int, in writer: KerasFileWriter)
    /// The layout is complete: return once every value is written, or throw the first failure.
    func finish(_ writer: KerasFileWriter) throws
    /// The layout failed: stop, and return once nothing writes any more.
    func abandon()
}

/// A feeder that writes everything once the layout is done.
private final class AfterLayout: KerasWeightFeeder {
    let fill: (KerasFileWriter) throws -> Void
    init(_ fill: @escaping (KerasFileWriter) throws -> Void) { self.fill = fill }
    func placed(_ slot: Int, in writer: KerasFileWriter) {}
    func finish(_ writer: KerasFileWriter) throws { try fill(writer) }
    func abandon() {}
}
