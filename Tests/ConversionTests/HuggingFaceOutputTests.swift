import Foundation
import Testing
import Architectures
import Conversion
import KerasIO
import TorchIO
import ZooCompute
import ZooCore
import ZooGraph

/// Model folders real transformers wrote (scripts/make_hf_fixtures.py), converted as a user
/// converts them (the family from config.json's model_type, the task from its architectures),
/// and run on the padded batch the real model ran on: zoo's PyTorch-layout pass over the
/// checkpoint and the Keras-layout pass over the written file's own config.json both compute what
/// transformers computed. A descriptor that numbered positions as BERT does, or built another
/// head, fails here, whatever its two layouts say of each other.
@Suite struct HuggingFaceOutputTests {
    static let hf = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/hf").path

    /// A model folder converted to `.keras` as a user converts it (the family from config.json's
    /// model_type, the task from its architectures), verified by zoo; the caller unlinks `out`.
    struct Converted {
        var checkpoint: Checkpoint
        var arch: Architecture
        var shapes: TensorShapes
        var options: ArchitectureOptions
        var out: String
    }

    static func convertAsUser(_ name: String) throws -> Converted {
        let folder = "\(hf)/\(name)"
        let checkpoint = try Checkpoint.open(folder)
        let config = try ModelConfig.find(explicit: nil, beside: folder)
        let arch = try Converter.architecture(for: checkpoint, named: nil, config: config)
        let shapes = try Converter.shapes(of: checkpoint, for: arch)
        let options = try Converter.options(for: arch, shapes: shapes, config: config, checkpointPath: folder)
        let out = NSTemporaryDirectory() + "zoo-hf-\(name)-\(getpid()).keras"
        var request = ConversionRequest(checkpoint: folder, output: out, format: .keras)
        request.overwrite = true
        let result = try Converter.convert(request, checkpoint: checkpoint, architecture: arch, options: options)
        #expect(result.verification?.passed == true, "\(name)")
        return Converted(checkpoint: checkpoint, arch: arch, shapes: shapes, options: options, out: out)
    }

    @Test(arguments: [("roberta-tiny", "roberta", 2), ("roberta-tiny-seqcls", "roberta", 1), ("xlm-roberta-tiny-tokcls", "roberta", 1),
                      ("distilbert-tiny", "distilbert", 1), ("distilbert-tiny-seqcls", "distilbert", 1),
                      ("roberta-tiny-qa", "roberta", 2), ("roberta-tiny-mlm", "roberta", 1), ("roberta-tiny-mlm-bin", "roberta", 1),
                      ("camembert-tiny", "roberta", 2),
                      ("electra-tiny", "electra", 1), ("electra-tiny-seqcls", "electra", 1),
                      ("albert-tiny", "albert", 2), ("albert-tiny-seqcls", "albert", 1), ("albert-tiny-mlm", "albert", 1), ("electra-tiny-mlm", "electra", 1),
                      ("gpt2-tiny", "gpt2", 1), ("gpt2-tiny-lm", "gpt2", 1), ("gpt2-tiny-lm-bin", "gpt2", 1), ("gpt2-tiny-tokcls", "gpt2", 1),
                      ("gpt2-tiny-seqcls", "gpt2", 1), ("clip-text-tiny", "clip_text", 2), ("clip-text-tiny-proj", "clip_text", 2)])
    func computesWhatTransformersComputed(_ name: String, _ family: String, _ outputs: Int) throws {
        let converted = try Self.convertAsUser(name)
        let (checkpoint, arch, shapes, options, out) = (converted.checkpoint, converted.arch, converted.shapes, converted.options, converted.out)
        defer { unlink(out) }
        #expect(arch.name == family)

        // a folder holding another format of a model compares with that model's outputs
        let expected = try Checkpoint.open("\(Self.hf)/\(name.hasSuffix("-bin") ? String(name.dropLast(4)) : name).expected.safetensors")
        var inputs: [String: Tensor] = [:]
        for input in ["input_ids", "attention_mask"] {
            let t = try expected.tensor(named: input)
            inputs[input] = Tensor(shape: t.shape, floats: try t.floats())
        }
        // RoBERTa's padding token (1) sits inside a real row too, and its positions skip it
        #expect(try expected.tensor(named: "input_ids").floats()[3] == 1)

        let reader = try KerasFile.reader(out)
        let model = try #require(reader.model)
        let keras = try KerasWeightBuilder.kerasExecutor(model: model, file: reader).run(inputs, recordIntermediates: false)
        let graph = try arch.graph(options)
        let report = arch.match(shapes, graph: graph)
        let torch = try KerasWeightBuilder.torchExecutor(checkpoint: checkpoint, graph: graph, report: report).run(inputs, recordIntermediates: false)
        #expect(keras.outputs.count == outputs)
        #expect(torch.outputs.count == outputs)
        for i in 0..<outputs {
            let want = try expected.tensor(named: "output.\(i)").floats()
            let scale = want.map(abs).max() ?? 1
            for (pass, got) in [("keras", keras.outputs[i]), ("torch", torch.outputs[i])] {
                #expect(got.shape == (try expected.tensor(named: "output.\(i)")).shape, "\(name) \(pass) output \(i)")
                let values = try got.floats()
                let worst = zip(values, want).map { abs($0 - $1) }.max() ?? .infinity
                #expect(worst / scale < 1e-5, "\(name) \(pass) output \(i): max |Δ|/max |y| = \(worst / scale)")
            }
        }
    }

    /// GPT-2's attention is causal only through the call's `use_causal_mask`: a file whose
    /// MultiHeadAttention calls lost it computes another function (each token sees the ones after
    /// it), and verification fails at the first attention layer.
    @Test func aDecoderWithoutItsCausalMaskFails() throws {
        let converted = try Self.convertAsUser("gpt2-tiny")
        let (checkpoint, arch, options, out) = (converted.checkpoint, converted.arch, converted.options, converted.out)
        let target = NSTemporaryDirectory() + "zoo-hf-gpt2-acausal-\(getpid()).keras"
        defer { unlink(out); unlink(target) }
        var removed = 0
        try FileModelTests().edited(out, to: target) { layers in
            for i in layers.indices where layers[i]["class_name"] as? String == "MultiHeadAttention" {
                var nodes = layers[i]["inbound_nodes"] as! [[String: Any]]
                var kwargs = nodes[0]["kwargs"] as! [String: Any]
                if kwargs.removeValue(forKey: "use_causal_mask") as? Bool == true { removed += 1 }
                nodes[0]["kwargs"] = kwargs
                layers[i]["inbound_nodes"] = nodes
            }
        }
        #expect(removed == 2)
        let report = try Converter.verify(checkpoint: checkpoint, architecture: arch, options: options, kerasFile: target, seed: 0, batch: 2, tolerance: nil)
        #expect(!report.passed, "\(report.summary)")
        #expect(report.comparison.firstDivergent?.name == "h_0_attn", "\(report.comparison.firstDivergent?.name ?? "none")")
    }

    /// The weights alone of a model whose pooling only config.json can say (GPT-2's classifier:
    /// the padding token; CLIP's text tower: the end token) are refused, not guessed, and leave
    /// no file behind; the heads are given as --heads would.
    @Test(arguments: [("gpt2-tiny-seqcls", "gpt2", "pad_token_id"), ("clip-text-tiny", "clip_text", "eos_token_id")])
    func aPoolingOnlyConfigNamesIsNotGuessed(_ fixture: String, _ name: String, _ key: String) throws {
        let checkpoint = try Checkpoint.open("\(Self.hf)/\(fixture)/model.safetensors")
        let arch = try #require(Registry.named(name))
        let shapes = try Converter.shapes(of: checkpoint, for: arch)
        var sized = try #require(arch.infer(shapes).transformer)
        if name == "gpt2" { #expect(sized.task == .sequenceClassification(labels: 3)) }
        sized.heads = 4
        let out = NSTemporaryDirectory() + "zoo-hf-\(fixture)-bare-\(getpid()).keras"
        do {
            _ = try Converter.convert(ConversionRequest(checkpoint: checkpoint.path, output: out, format: .keras), checkpoint: checkpoint,
                                      architecture: arch, options: ArchitectureOptions(transformer: sized))
            Issue.record("\(fixture) converted without config.json")
        } catch let error as ZooError {
            #expect(error.message.contains(key), "\(error.message)")
        }
        #expect(access(out, F_OK) != 0, "a file was left behind")
    }

    /// Hugging Face image models (files with transformers 4's names, as save_pretrained writes
    /// them) on the two images the real model ran on: NCHW for the PyTorch-layout pass, NHWC for
    /// the file's own model.
    @Test(arguments: [("vit-tiny", "vit_hf", 2), ("vit-tiny-cls", "vit_hf", 1), ("deit-tiny", "deit", 2), ("deit-tiny-teacher", "deit", 1),
                      ("swin-tiny", "swin_hf", 2), ("swin-tiny-cls", "swin_hf", 1), ("swin-tiny-v4", "swin_hf", 2),
                      ("clip-vision-tiny", "clip_vision", 2), ("clip-vision-tiny-proj", "clip_vision", 2)])
    func imageModelsComputeWhatTransformersComputed(_ name: String, _ family: String, _ outputs: Int) throws {
        let converted = try Self.convertAsUser(name)
        let (checkpoint, arch, shapes, options, out) = (converted.checkpoint, converted.arch, converted.shapes, converted.options, converted.out)
        defer { unlink(out) }
        #expect(arch.name == family)

        // a folder holding another spelling of a model compares with that model's outputs
        let expected = try Checkpoint.open("\(Self.hf)/\(name.hasSuffix("-v4") ? String(name.dropLast(3)) : name).expected.safetensors")
        let pixels = try expected.tensor(named: "pixel_values")
        let nchw = try pixels.floats()
        let s = pixels.shape
        let nhwc = permute(nchw, shape: s, order: [0, 2, 3, 1])
        let reader = try KerasFile.reader(out)
        let model = try #require(reader.model)
        let keras = try KerasWeightBuilder.kerasExecutor(model: model, file: reader)
            .run(["pixel_values": Tensor(shape: [s[0], s[2], s[3], s[1]], floats: nhwc)], recordIntermediates: false)
        let graph = try arch.graph(options)
        let torch = try KerasWeightBuilder.torchExecutor(checkpoint: checkpoint, graph: graph, report: arch.match(shapes, graph: graph))
            .run(["pixel_values": Tensor(shape: s, floats: nchw)], recordIntermediates: false)
        #expect(keras.outputs.count == outputs)
        #expect(torch.outputs.count == outputs)
        for i in 0..<min(outputs, keras.outputs.count, torch.outputs.count) {
            let want = try expected.tensor(named: "output.\(i)").floats()
            let scale = want.map(abs).max() ?? 1
            for (pass, got) in [("keras", keras.outputs[i]), ("torch", torch.outputs[i])] {
                let values = try got.floats()
                #expect(values.count == want.count, "\(name) \(pass) output \(i)")
                let worst = zip(values, want).map { abs($0 - $1) }.max() ?? .infinity
                #expect(worst / scale < 1e-5, "\(name) \(pass) output \(i): max |Δ|/max |y| = \(worst / scale)")
            }
        }
    }
}

/// Sizes from a stranger's config.json are bounded before a graph is built from them.
@Suite struct HuggingFaceConfigBoundsTests {
    static func read(_ architecture: String, _ text: String) throws -> ArchitectureOptions {
        let arch = try #require(Registry.named(architecture))
        return try #require(arch.huggingFace).read(try JSONValue.parse(Array(text.utf8)), ArchitectureOptions())
    }

    /// GPT-2 names its layer count `n_layer`: held to the 4096 layers of every family, not to
    /// the 2^24 of a width (16 million blocks would take minutes and gigabytes to build).
    @Test func aGPT2OfMillionsOfLayersIsRefused() throws {
        let json = #"{"model_type": "gpt2", "vocab_size": 99, "n_embd": 32, "n_layer": 16000000, "n_head": 4, "n_positions": 64}"#
        #expect(throws: ZooError.self) { _ = try Self.read("gpt2", json) }
        do { _ = try Self.read("gpt2", json) } catch let error as ZooError {
            #expect(error.message.contains("'n_layer' to be an integer from 1 to 4096"), "\(error.message)")
        }
        let fine = try Self.read("gpt2", json.replacingOccurrences(of: "16000000", with: "12"))
        #expect(fine.transformer?.layers == 12)
    }

    /// A Swin's window is held to 32 (published ones use 7 to 24) whether config.json or a bias
    /// table says it: the position index grows with the window's fourth power.
    @Test func aSwinOfAHugeWindowIsRefused() throws {
        let json = #"{"model_type": "swin", "embed_dim": 16, "depths": [2, 2], "num_heads": [2, 4], "window_size": 1000, "patch_size": 2}"#
        do {
            _ = try Self.read("swin_hf", json)
            Issue.record("a window of 1000 was read")
        } catch let error as ZooError {
            #expect(error.message.contains("'window_size' to be an integer from 1 to 32"), "\(error.message)")
        }
        #expect(try Self.read("swin_hf", json.replacingOccurrences(of: "1000", with: "7")).transformer?.windowSize == 7)
        // a table of (2·1000 − 1)² rows does not make a window of 1000
        let arch = try #require(Registry.named("swin_hf"))
        let shapes = TensorShapes([("embeddings.patch_embeddings.projection.weight", [16, 3, 2, 2], .float32),
                                   ("encoder.layers.0.blocks.0.attention.q_proj.weight", [16, 16], .float32),
                                   ("encoder.layers.0.blocks.0.attention.relative_position_bias.relative_position_bias_table", [1999 * 1999, 2], .float32)])
        #expect(arch.infer(shapes).transformer == nil)
    }

    @Test(arguments: ["0", "-3", "100000000"])
    func aClassifierOfNoOrAbsurdlyManyLabelsIsRefused(_ labels: String) throws {
        let json = #"{"model_type": "vit", "architectures": ["ViTForImageClassification"], "hidden_size": 32, "num_hidden_layers": 2, "#
            + #""num_attention_heads": 4, "intermediate_size": 37, "image_size": 32, "patch_size": 8, "num_labels": \#(labels)}"#
        #expect(throws: ZooError.self) { _ = try Self.read("vit_hf", json) }
        do { _ = try Self.read("vit_hf", json) } catch let error as ZooError {
            #expect(error.message.contains("'num_labels'"), "\(error.message)")
        }
    }
}
