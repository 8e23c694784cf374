import Foundation
import Testing
import Architectures
import Conversion
import KerasIO
import TorchIO
import ZooCompute
import ZooCore
import ZooGraph

/// nn.TransformerEncoder checkpoints real PyTorch wrote (scripts/make_encoder_fixtures.py),
/// converted with the options their weights do not record, computing what PyTorch computed on
/// the same batch — in zoo's PyTorch-layout pass and in the written file's own Keras model.
@Suite struct TransformerEncoderTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/encoder").path

    /// The worst max |Δ| / max |y| of the file's Keras model and of zoo's PyTorch-layout pass.
    func error(_ checkpointName: String, expected: String, key: String? = nil, options: (inout TransformerConfig) -> Void) throws -> Double {
        let checkpoint = try Checkpoint.open("\(Self.folder)/\(checkpointName).pth", key: key)
        let arch = try #require(Registry.named("transformer_encoder"))
        let shapes = try Converter.shapes(of: checkpoint, for: arch)
        var chosen = arch.infer(shapes)
        options(&chosen.transformer!)
        let out = NSTemporaryDirectory() + "zoo-encoder-\(checkpointName)-\(getpid()).keras"
        defer { unlink(out) }
        var request = ConversionRequest(checkpoint: checkpoint.path, output: out, format: .keras)
        request.overwrite = true
        let result = try Converter.convert(request, checkpoint: checkpoint, architecture: arch, options: chosen)
        #expect(result.verification?.passed == true)

        let want = try Checkpoint.open("\(Self.folder)/\(expected).expected.safetensors")
        let src = try want.tensor(named: "src")
        let inputs = ["src": Tensor(shape: src.shape, floats: try src.floats())]
        let target = try want.tensor(named: "output.0").floats()
        let reader = try KerasFile.reader(out)
        let keras = try KerasWeightBuilder.kerasExecutor(model: try #require(reader.model), file: reader).run(inputs, recordIntermediates: false)
        let graph = try arch.graph(chosen)
        let torch = try KerasWeightBuilder.torchExecutor(checkpoint: checkpoint, graph: graph, report: arch.match(shapes, graph: graph))
            .run(inputs, recordIntermediates: false)
        let scale = target.map(abs).max() ?? 1
        return try [keras.outputs[0], torch.outputs[0]].map { got in
            #expect(got.shape == src.shape)
            return Double(zip(try got.floats(), target).map { abs($0 - $1) }.max() ?? .infinity / scale) / Double(scale)
        }.max()!
    }

    @Test func preNormGELUWithAFinalNorm() throws {
        let e = try error("pre_gelu", expected: "pre_gelu") { $0.heads = 4; $0.activation = .gelu; $0.normFirst = true }
        #expect(e < 1e-5, "max |Δ|/max |y| = \(e)")
    }

    @Test func pyTorchsDefaults() throws {
        let e = try error("post_relu", expected: "post_relu") { $0.heads = 4 }
        #expect(e < 1e-5, "max |Δ|/max |y| = \(e)")
    }

    /// The weights do not say how the layers are wired: the wrong options give another function,
    /// which zoo's two layouts agree on — so they are options, stated by the user.
    @Test func optionsTheWeightsDoNotRecordMatter() throws {
        let e = try error("pre_gelu", expected: "pre_gelu") { $0.heads = 4 } // relu, post-norm
        #expect(e > 1e-2, "max |Δ|/max |y| = \(e)")
    }

    /// `--key encoder` takes the module `encoder` of a user's model (its tensors alone); the
    /// model's other tensors are left out and listed.
    @Test func theEncoderInsideAUsersModel() throws {
        let e = try error("in_model", expected: "pre_gelu", key: "encoder") { $0.heads = 4; $0.activation = .gelu; $0.normFirst = true }
        #expect(e < 1e-5, "max |Δ|/max |y| = \(e)")
        let checkpoint = try Checkpoint.open("\(Self.folder)/in_model.pth", key: "encoder")
        #expect(checkpoint.selectedKey == "encoder")
        #expect(checkpoint.entries.allSatisfy { $0.name.hasPrefix("layers.") || $0.name.hasPrefix("norm.") })
        #expect(checkpoint.otherEntries.map(\.0).sorted() == ["head.bias", "head.weight"])
    }
}
