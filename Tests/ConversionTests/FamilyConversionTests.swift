import Foundation
import Testing
@testable import Architectures
@testable import Conversion
import KerasIO
import TorchIO
import ZooCore
@testable import ZooGraph

/// Whole conversions (checkpoint file → detection → Keras file → verification in both layouts)
/// of the checkpoint variants DenseNet and the Inceptions meet in the wild, at their small sizes.
@Suite struct FamilyConversionTests {
    static func folder() throws -> String {
        let path = NSTemporaryDirectory() + "zoo-family-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes `state` as a .pth, lets zoo detect the architecture and converts it, verified.
    static func convert(_ state: [(name: String, tensor: Tensor)], in folder: String, options extra: ArchitectureOptions = ArchitectureOptions(),
                        size: Int) throws -> (String, ConversionResult) {
        let path = folder + "/model.pth"
        try PthWriter.write(state, to: path, overwrite: true)
        let checkpoint = try Checkpoint.open(path)
        let arch = try Converter.architecture(for: checkpoint, named: nil)
        var options = try Converter.options(for: arch, shapes: checkpoint.tensorShapes, config: nil, checkpointPath: path)
        options = options.overridden(by: extra).overridden(by: ArchitectureOptions(imageSize: size))
        var request = ConversionRequest(checkpoint: path, output: folder + "/model.keras", format: .keras)
        request.overwrite = true
        return (arch.name, try Converter.convert(request, checkpoint: checkpoint, architecture: arch, options: options))
    }

    /// A checkpoint saved before torchvision renamed `norm.1` to `norm1` (and before
    /// BatchNorm counted batches) is detected, converted and verified like a current one.
    @Test func denseNetInTheOldSpellingConverts() throws {
        let arch = try #require(Registry.named("densenet121"))
        let state = try arch.graph(arch.smallOptions).randomStateDict(seed: 3)
            .filter { !$0.name.hasSuffix("num_batches_tracked") }
            .map { (OldDenseNetKeys.oldSpelling($0.name), $0.tensor) }
        #expect(state.contains { $0.0 == "features.denseblock3.denselayer24.conv.2.weight" })
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (name, result) = try Self.convert(state, in: folder, size: arch.smallOptions.imageSize!)
        #expect(name == "densenet121")
        #expect(result.verification?.passed == true, "\(result.verification?.summary ?? "")")
        #expect(result.tensorsMapped == state.count)
    }

    /// GoogLeNet and Inception v3 saved without their auxiliary classifiers (torchvision's
    /// pretrained builders drop them unless aux_logits=True), and with transform_input on.
    @Test(arguments: [("googlenet", "aux"), ("inception_v3", "AuxLogits.")])
    func inceptionsWithAndWithoutAuxiliaryClassifiersConvert(_ name: String, _ prefix: String) throws {
        let arch = try #require(Registry.named(name))
        let size = arch.smallOptions.imageSize!
        let full = try arch.graph(arch.smallOptions).randomStateDict(seed: 5)
        let bare = full.filter { !$0.name.hasPrefix(prefix) }
        #expect(bare.count < full.count)
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var sizes: [Int] = []
        for (state, transform) in [(full, false), (bare, false), (bare, true)] {
            let (detected, result) = try Self.convert(state, in: folder, options: ArchitectureOptions(transformInput: transform), size: size)
            #expect(detected == name)
            #expect(result.verification?.passed == true, "\(name) aux \(state.count == full.count) transform \(transform)")
            #expect(result.tensorsMapped == state.count) // every tensor matched, the auxiliary ones too
            sizes.append(result.outputBytes)
        }
        // the auxiliary classifiers are not written: the same Keras file size with or without them
        #expect(abs(sizes[0] - sizes[1]) < 4096, "\(sizes)")
    }
}

enum OldDenseNetKeys {
    /// `norm1` → `norm.1`, `conv2` → `conv.2` … under a `denselayerN`: the spelling torchvision's
    /// `_load_state_dict` rewrites.
    static func oldSpelling(_ key: String) -> String {
        var parts = key.split(separator: ".").map(String.init)
        let n = parts.count
        guard n >= 3, parts[n - 3].hasPrefix("denselayer"), ["weight", "bias", "running_mean", "running_var"].contains(parts[n - 1]),
              let last = parts[n - 2].last, last == "1" || last == "2", ["norm", "conv"].contains(String(parts[n - 2].dropLast())) else { return key }
        parts[n - 2] = String(parts[n - 2].dropLast()) + "." + String(last)
        return parts.joined(separator: ".")
    }
}
