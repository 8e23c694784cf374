import Foundation
import Testing
import ZooCore

/// Same keys are not the same model: a RoBERTa checkpoint (real transformers, save_pretrained)
/// has BERT's tensor names and shapes, and converting it as BERT gives a wrong model that both
/// of zoo's layouts agree on. The config's model_type decides; without a config, weights are
/// RoBERTa's only when the user names `roberta`, and weights that look like RoBERTa's are
/// refused as BERT rather than guessed.
@Suite struct ModelTypeTests {
    static let hf = CLI.repo.appendingPathComponent("Tests/Fixtures/hf").path

    func folder() throws -> String {
        let path = NSTemporaryDirectory() + "zoo-modeltype-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test(arguments: ["roberta-tiny", "roberta-tiny/model.safetensors", "roberta-tiny-seqcls", "xlm-roberta-tiny-tokcls"])
    func aRoBERTaFolderConvertsAsRoBERTa(_ input: String) throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["convert", "\(Self.hf)/\(input)", "-o", "\(dir)/r.keras"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("converted roberta: "), "\(r.stdout)")
        #expect(r.stdout.contains("✓"))
        let v = try CLI.run(["verify", "\(Self.hf)/\(input)", "\(dir)/r.keras"])
        #expect(v.status == 0, "\(v.stderr)")
    }

    @Test func aRoBERTaFolderIsNotBERT() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["convert", "bert", "\(Self.hf)/roberta-tiny/model.safetensors", "-o", "\(dir)/r.keras"])
        #expect(r.status == 1, "\(r.stdout)")
        #expect(r.stderr.contains("model_type 'roberta'"), "\(r.stderr)")
        #expect(r.stderr.contains("roberta/xlm-roberta/camembert (roberta)"))
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        // verify refuses the same way: it would otherwise check a wrong model against itself
        let v = try CLI.run(["verify", "bert", "\(Self.hf)/roberta-tiny/model.safetensors"])
        #expect(v.status == 1)
        #expect(v.stderr.contains("model_type 'roberta'"), "\(v.stderr)")
        // nor is a BERT folder RoBERTa
        let b = try CLI.run(["convert", "roberta", "\(Self.hf)/bert-tiny-safetensors", "-o", "\(dir)/b.keras"])
        #expect(b.status == 1)
        #expect(b.stderr.contains("model_type 'bert'"), "\(b.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test func bareRoBERTaWeightsNeedTheirConfigOrTheirName() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for architecture in [[String](), ["bert"]] {
            let r = try CLI.run(["convert"] + architecture + ["\(Self.hf)/roberta-bare.pth", "-o", "\(dir)/r.keras", "--heads", "4"])
            #expect(r.status == 1, "\(r.stdout)")
            #expect(r.stderr.contains("RoBERTa's layout"), "\(r.stderr)")
            #expect(r.stderr.contains("--config"))
            #expect(r.stderr.contains("name `roberta`"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        // named, they convert as what the user says they are …
        let named = try CLI.run(["convert", "roberta", "\(Self.hf)/roberta-bare.pth", "-o", "\(dir)/named.keras", "--heads", "4"])
        #expect(named.status == 0, "\(named.stderr)")
        #expect(named.stdout.hasPrefix("converted roberta: "))
        // … and with their own config.json named, the model type decides
        let configured = try CLI.run(["convert", "\(Self.hf)/roberta-bare.pth", "--config", "\(Self.hf)/roberta-tiny/config.json", "-o", "\(dir)/configured.keras"])
        #expect(configured.status == 0, "\(configured.stderr)")
        #expect(configured.stdout.hasPrefix("converted roberta: "))
    }

    /// inspect lists every architecture whose names and shapes fit, and says which one convert
    /// takes: the config's model type decides, and bare RoBERTa-layout weights are nobody's.
    @Test func inspectSaysWhichArchitectureConvertTakes() throws {
        let folder = try CLI.run(["inspect", "\(Self.hf)/roberta-tiny"])
        #expect(folder.status == 0, "\(folder.stderr)")
        #expect(folder.stdout.contains("matches:     bert, roberta\n"), "\(folder.stdout)")
        #expect(folder.stdout.contains("converts as: roberta (\(Self.hf)/roberta-tiny/config.json says model_type 'roberta')"), "\(folder.stdout)")
        let bare = try CLI.run(["inspect", "\(Self.hf)/roberta-bare.pth"])
        #expect(bare.stdout.contains("converts as: none unless an architecture is named: "), "\(bare.stdout)")
        #expect(bare.stdout.contains("RoBERTa's layout"))
        let json = try CLI.run(["inspect", "\(Self.hf)/roberta-tiny", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["converts_as"] as? String == "roberta")
        #expect(object["architectures"] as? [String] == ["bert", "roberta"])
    }

    /// A masked LM saved by save_pretrained stores no decoder weight: the word embeddings are it,
    /// as the tie says — unless config.json unties them, when the missing weight is refused.
    @Test func anUntiedDecoderMustBeStored() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: "\(Self.hf)/roberta-tiny-mlm", toPath: "\(dir)/mlm")
        let tied = try CLI.run(["convert", "\(dir)/mlm", "-o", "\(dir)/tied.keras", "--quiet"])
        #expect(tied.status == 0, "\(tied.stderr)")
        let config = "\(dir)/mlm/config.json"
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as? [String: Any])
        json["tie_word_embeddings"] = false
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: config))
        let untied = try CLI.run(["convert", "\(dir)/mlm", "-o", "\(dir)/untied.keras"])
        #expect(untied.status == 1)
        #expect(untied.stderr.contains("tie_word_embeddings false") && untied.stderr.contains("'lm_head.decoder.weight'"), "\(untied.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/untied.keras"))
    }

    /// A RoBERTa task checkpoint without its config matches no BERT, and the RoBERTa it does match
    /// is not picked by the weights alone.
    @Test func bareRoBERTaTaskWeightsAreNotDetected() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: "\(Self.hf)/roberta-tiny-seqcls/model.safetensors", toPath: "\(dir)/model.safetensors")
        let r = try CLI.run(["convert", "\(dir)/model.safetensors", "-o", "\(dir)/r.keras"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("the weights match roberta, whose tensor names another family shares"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        let named = try CLI.run(["convert", "roberta", "\(dir)/model.safetensors", "-o", "\(dir)/r.keras", "--heads", "4", "--quiet"])
        #expect(named.status == 0, "\(named.stderr)")
    }

    @Test func aConfigOfAnotherTypeIsNotIgnoredForAnImageModel() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let made = try CLI.run(["random", "resnet18", "--classes", "10", "-o", "\(dir)/r18.pth"])
        #expect(made.status == 0, "\(made.stderr)")
        // a config.json merely lying beside a torchvision checkpoint concerns it not …
        try FileManager.default.copyItem(atPath: "\(Self.hf)/roberta-tiny/config.json", toPath: "\(dir)/config.json")
        let beside = try CLI.run(["convert", "\(dir)/r18.pth", "-o", "\(dir)/r18.keras", "--quiet"])
        #expect(beside.status == 0, "\(beside.stderr)")
        // … but one named with --config does, and its model type is not resnet18's
        let named = try CLI.run(["convert", "resnet18", "\(dir)/r18.pth", "--config", "\(dir)/config.json", "-o", "\(dir)/other.keras"])
        #expect(named.status == 1)
        #expect(named.stderr.contains("model_type 'roberta'"), "\(named.stderr)")
    }
}

/// A family zoo has no descriptor for is named as such, and a checkpoint that matches nothing
/// says which architecture came closest and what differs.
@Suite struct UnknownFamilyTests {
    static let hf = CLI.repo.appendingPathComponent("Tests/Fixtures/hf").path

    /// ERNIE saves BERT's very keys: its model type, which zoo has no descriptor for, is refused
    /// by name, whether detected or named as roberta or bert.
    @Test(arguments: [[String](), ["bert"], ["roberta"]])
    func anERNIEFolderIsRefusedByItsModelType(_ architecture: [String]) throws {
        let r = try CLI.run(["convert"] + architecture + ["\(Self.hf)/ernie-tiny", "-o", "/tmp/never.keras"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("model_type 'ernie'"), "\(r.stderr)")
        #expect(r.stderr.contains("distilbert (distilbert)"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never.keras"))
    }

    /// CamemBERT is RoBERTa (transformers subclasses RobertaModel; HuggingFaceOutputTests checks
    /// its outputs): its folder converts as roberta, and as bert is refused by model type.
    @Test func aCamemBERTFolderConvertsAsRoBERTa() throws {
        let dir = NSTemporaryDirectory() + "zoo-camembert-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["convert", "\(Self.hf)/camembert-tiny", "-o", "\(dir)/c.keras"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("converted roberta: "), "\(r.stdout)")
        let bert = try CLI.run(["convert", "bert", "\(Self.hf)/camembert-tiny", "-o", "\(dir)/b.keras"])
        #expect(bert.status == 1)
        #expect(bert.stderr.contains("model_type 'camembert'"), "\(bert.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/b.keras"))
    }

    /// DistilBERT is a family of its own now: its folder converts as it, and as bert is refused.
    @Test func aDistilBERTFolderConvertsAsDistilBERT() throws {
        let dir = NSTemporaryDirectory() + "zoo-distil-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["convert", "\(Self.hf)/distilbert-tiny-seqcls", "-o", "\(dir)/d.keras"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("converted distilbert: "), "\(r.stdout)")
        let named = try CLI.run(["convert", "bert", "\(Self.hf)/distilbert-tiny", "-o", "\(dir)/b.keras"])
        #expect(named.status == 1)
        #expect(named.stderr.contains("model_type 'distilbert'"), "\(named.stderr)")
        #expect(!named.stderr.contains("hidden_size"))
    }

    @Test func aCheckpointOfNoKnownArchitectureSaysSo() throws {
        let none = try CLI.run(["convert", CLI.fixture("zip_float32.pth"), "-o", "/tmp/never.keras"])
        #expect(none.status == 1)
        #expect(none.stderr.contains("found none that matches"))
        #expect(none.stderr.contains("docs/adding-an-architecture.md"))
    }
}

/// nn.TransformerEncoder from the command line: the options its weights do not record are
/// required (heads) or stated beside the result (activation, norm placement), and `--key`
/// takes the encoder out of a user's model.
@Suite struct TransformerEncoderCLITests {
    static let encoder = CLI.repo.appendingPathComponent("Tests/Fixtures/encoder").path

    @Test func whatTheWeightsDoNotRecordIsAskedForOrSaid() throws {
        let dir = NSTemporaryDirectory() + "zoo-encoder-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let noHeads = try CLI.run(["convert", "\(Self.encoder)/post_relu.pth", "-o", "\(dir)/e.keras"])
        #expect(noHeads.status == 64)
        #expect(noHeads.stderr.contains("the number of attention heads is not recorded in the weights; pass --heads (nn.MultiheadAttention's num_heads)"), "\(noHeads.stderr)")
        let defaults = try CLI.run(["convert", "\(Self.encoder)/post_relu.pth", "-o", "\(dir)/e.keras", "--heads", "4"])
        #expect(defaults.status == 0, "\(defaults.stderr)")
        #expect(defaults.stdout.contains("layers read as ReLU, norm after each residual (not in the weights"), "\(defaults.stdout)")
        let inModel = try CLI.run(["convert", "\(Self.encoder)/in_model.pth", "--key", "encoder", "-o", "\(dir)/m.keras",
                                   "--heads", "4", "--activation", "gelu", "--norm-first"])
        #expect(inModel.status == 0, "\(inModel.stderr)")
        #expect(inModel.stdout.contains("weights at 'encoder'; layers read as GELU, norm first"), "\(inModel.stdout)")
        let wrong = try CLI.run(["convert", "resnet18", "\(Self.encoder)/post_relu.pth", "--norm-first", "-o", "\(dir)/x.keras"])
        #expect(wrong.status == 64)
        #expect(wrong.stderr.contains("--activation and --norm-first apply to transformer_encoder"), "\(wrong.stderr)")
    }
}

/// ViT's position table fixes the image size: it is read off the weights, and another size is
/// refused in a sentence rather than reported as a shape mismatch.
@Suite struct ViTSizeCLITests {
    @Test func theWeightsFixTheImageSize() throws {
        let dir = NSTemporaryDirectory() + "zoo-vit-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let made = try CLI.run(["random", "vit_b_32", "--classes", "3", "--image-size", "96", "-o", "\(dir)/v.pth"])
        #expect(made.status == 0, "\(made.stderr)")
        let read = try CLI.run(["map", "vit_b_32", "--checkpoint", "\(dir)/v.pth"])
        #expect(read.status == 0, "\(read.stderr)")
        #expect(read.stdout.contains("encoder.pos_embedding [1, 10, 768]"), "\(read.stdout.prefix(600))")
        let other = try CLI.run(["convert", "vit_b_32", "\(dir)/v.pth", "--image-size", "64", "-o", "\(dir)/v.keras"])
        #expect(other.status == 64)
        #expect(other.stderr.contains("vit_b_32's weights fix the image size at 96×96"), "\(other.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/v.keras"))
    }
}
