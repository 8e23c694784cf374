import Foundation
@testable import KerasIO
import ZooCore
import ZooGraph

/// Committed fixtures, found from this file's location so tests run from any folder.
enum Fixtures {
    static let keras = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/reference/keras")

    static func path(_ name: String) -> String { keras.appendingPathComponent(name).path }

    /// Files written by h5py in every layout the reader supports (scripts/make_h5_fixtures.py).
    static let h5 = keras.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("h5")

    static func h5Path(_ name: String) -> String { h5.appendingPathComponent(name).path }

    static func text(_ name: String) throws -> String {
        try String(contentsOfFile: path(name), encoding: .utf8)
    }

    /// The JSON line following `marker` in a layout dump.
    static func jsonAfter(_ marker: String, in name: String) throws -> JSONValue {
        let lines = try text(name).components(separatedBy: "\n")
        guard let i = lines.firstIndex(where: { $0.hasPrefix(marker) }), i + 1 < lines.count else {
            throw ZooError(.format, "\(name): expected a line starting '\(marker)', found none")
        }
        return try JSONValue.parse(Array(lines[i + 1].utf8))
    }
}

/// A fresh empty folder under the system temporary folder, removed by `remove()`.
struct TemporaryFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "zoo-kerasio-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    var contents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Seeded weights of the declared shapes: kernels scaled by 1/√fan-in so a forward pass stays
/// O(1), BatchNorm variances in [0.5, 1.5], scales around 1, shifts and means around 0.
func randomWeights(_ model: KerasModel, seed: UInt64) -> KerasWeights {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    func uniform() -> Float { // xorshift64*, in [-1, 1)
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        let bits = (state &* 0x2545_F491_4F6C_DD1D) >> 40
        return Float(bits) / Float(1 << 23) - 1
    }
    var out: KerasWeights = [:]
    for layer in model.layers where !layer.weights.isEmpty {
        out[layer.name] = layer.weights.map { spec in
            let n = spec.shape.reduce(1, *)
            let leaf = spec.name.split(separator: "/").last.map(String.init) ?? spec.name
            var values = [Float](repeating: 0, count: n)
            switch leaf {
            case "moving_variance": for i in 0..<n { values[i] = 1 + 0.5 * uniform() }
            case "gamma": for i in 0..<n { values[i] = 1 + 0.1 * uniform() }
            case "beta", "bias", "moving_mean": for i in 0..<n { values[i] = 0.1 * uniform() }
            case "embeddings": for i in 0..<n { values[i] = 0.5 * uniform() }
            default:
                // kernels: fan-in is every axis but the output ones
                let fanIn: Int
                if spec.name == "attention_output/kernel" { fanIn = spec.shape[0] * spec.shape[1] }
                else if spec.name.hasSuffix("/kernel") { fanIn = spec.shape[0] }
                else { fanIn = spec.shape.dropLast().reduce(1, *) }
                let scale = Float(3.0).squareRoot() / Float(max(fanIn, 1)).squareRoot()
                for i in 0..<n { values[i] = scale * uniform() }
            }
            return Tensor(shape: spec.shape, floats: values)
        }
    }
    return out
}

/// The registered architecture's graph at a small size: 10 classes at 32×32 where the
/// descriptor allows it (else its smallest working size, 224), a two-layer BERT.
func smallGraph(_ architecture: Architecture) throws -> Graph {
    if architecture.defaults.transformer != nil {
        // a vision transformer at its own small sizes (patch and image size); text models at tiny BERT's
        if architecture.defaults.imageSize != nil { return try architecture.graph(architecture.smallOptions) }
        return try architecture.graph(ArchitectureOptions(transformer: tinyBERT))
    }
    if let graph = try? architecture.graph(ArchitectureOptions(classes: 10, imageSize: 32)) { return graph }
    return try architecture.graph(ArchitectureOptions(classes: 10, imageSize: 224))
}

let tinyBERT = TransformerConfig(vocabularySize: 64, hiddenSize: 16, layers: 2, heads: 4, intermediateSize: 32, maxPositions: 24,
                                 typeVocabularySize: 2, layerNormEps: 1e-12, activation: .gelu, pooler: true)

/// CRC-32 (IEEE, as zlib.crc32) of a tensor's float32 little-endian bytes: lets the interop
/// script check values are identical without shipping them.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var table = [UInt32](repeating: 0, count: 256)
    for i in 0..<256 {
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        table[i] = c
    }
    var crc: UInt32 = 0xFFFF_FFFF
    bytes.withUnsafeBufferPointer { buffer in
        for b in buffer { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
    }
    return crc ^ 0xFFFF_FFFF
}

/// Every group and dataset path of an HDF5 file, with `vars` name attributes and dataset shapes.
func h5Listing(_ path: String) throws -> [String] {
    let file = try H5ReadFile.open(path: path)
    var lines: [String] = []
    func walk(_ group: H5ReadGroup, depth: Int = 0) throws {
        // HDF5 allows a group to contain itself; Keras files are never this deep
        guard depth < 16 else { throw ZooError(.format, "expected groups at most 16 deep in \(path), found deeper ones (a cycle?)") }
        for name in try group.childNames() {
            let childPath = group.path.isEmpty ? name : "\(group.path)/\(name)"
            switch group.kind(of: name) {
            case .group?:
                let child = try group.openGroup(name)
                let attr = try child.stringsAttribute("name")?.first.map { " name=\($0)" } ?? ""
                lines.append("\(childPath)/\(attr)")
                try walk(child, depth: depth + 1)
            case .dataset?:
                lines.append("\(childPath) \(try group.readFloat32(name).shape)")
            default:
                lines.append("\(childPath) ?")
            }
        }
    }
    try walk(try file.root())
    return lines
}

/// Cheap distinct weights for round trips of large models: slices of one random block, each
/// tensor starting elsewhere, so swapped or misplaced tensors differ (debug builds fill hundreds
/// of megabytes this way in a blink; `randomWeights` draws every value).
func tiledWeights(_ model: KerasModel, seed: UInt64) -> KerasWeights {
    let block = Array(randomBlock[...])
    var out: KerasWeights = [:]
    var start = Int(seed % UInt64(block.count))
    for layer in model.layers where !layer.weights.isEmpty {
        out[layer.name] = layer.weights.map { spec in
            let n = spec.shape.reduce(1, *)
            var values: [Float] = []
            values.reserveCapacity(n)
            var at = start
            while values.count < n {
                let take = min(n - values.count, block.count - at)
                values += block[at..<(at + take)]
                at = (at + take) % block.count
            }
            start = (start + 7919) % block.count
            return Tensor(shape: spec.shape, floats: values)
        }
    }
    return out
}

private let randomBlock: [Float] = {
    var state: UInt64 = 0x2545_F491_4F6C_DD1D
    return (0..<65_537).map { _ in
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        return Float((state &* 0x2545_F491_4F6C_DD1D) >> 40) / Float(1 << 24)
    }
}()

/// Byte-for-byte equality of two weight sets (memcmp, not element-wise, for speed in debug builds).
func identical(_ a: KerasWeights, _ b: KerasWeights) -> Bool {
    guard Set(a.keys) == Set(b.keys) else { return false }
    for (layer, tensors) in a {
        guard let other = b[layer], other.count == tensors.count else { return false }
        for (x, y) in zip(tensors, other) {
            guard x.dtype == y.dtype, x.shape == y.shape, x.bytes.count == y.bytes.count else { return false }
            let same = x.bytes.withUnsafeBytes { p in y.bytes.withUnsafeBytes { q in memcmp(p.baseAddress!, q.baseAddress!, p.count) == 0 } }
            if !same { return false }
        }
    }
    return true
}

/// Every Keras class and option the registry's small models leave out of the interop check:
/// "same" and dilated grouped convolutions, zero-padded max pooling, AveragePooling2D (plain and
/// from an adaptive pool), Dropout.
func mixedGraph() throws -> Graph {
    let g = GraphBuilder(name: "mixed")
    var x = g.input("input", kind: .image, shape: [3, 32, 32])
    x = g.conv2d(x, torch: "stem", keras: "stem_conv", out: 8, kernel: 3, padding: 1, bias: true)
    x = g.batchNorm(x, torch: "stem_bn", keras: "stem_bn")
    x = g.activation(x, .relu, keras: "stem_relu")
    let y = g.conv2d(x, torch: "grouped", keras: "grouped_conv", out: 8, kernel: 3, padding: 2, dilation: 2, groups: 2, bias: false)
    x = g.add(x, y, keras: "residual_add")
    // rectified before the padded max pool, as in ResNet: zero padding then equals PyTorch's −∞
    x = g.activation(x, .relu, keras: "residual_relu")
    x = g.maxPool2d(x, keras: "pool1_pool", kernel: 3, stride: 2, padding: 1)
    x = g.avgPool2d(x, keras: "avg_pool", kernel: 2, stride: 2)
    x = g.adaptiveAvgPool2d(x, keras: "adaptive_pool", height: 2, width: 2)
    x = g.flatten(x, keras: "flatten")
    x = g.dropout(x, keras: "dropout", rate: 0.5)
    x = g.linear(x, torch: "fc", keras: "fc", out: 16, activation: .relu)
    x = g.linear(x, torch: "logits", keras: "logits", out: 10)
    return try g.build(outputs: [x])
}
