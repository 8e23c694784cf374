import Foundation
import Testing
import ZooCore

/// Same keys are not the same model: a RoBERTa checkpoint (real transformers, save_pretrained)
/// has BERT's tensor names and shapes, and converting it as BERT gives a wrong model that both
/// of zoo's layouts agree on. The config's model_type decides; without a config, weights that
/// look like RoBERTa's are refused rather than guessed.
@Suite struct ModelTypeTests {
    static let hf = CLI.repo.appendingPathComponent("Tests/Fixtures/hf").path

    func folder() throws -> String {
        let path = NSTemporaryDirectory() + "zoo-modeltype-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test(arguments: [[String](), ["bert"]])
    func aRoBERTaFolderIsRefusedByItsModelType(_ architecture: [String]) throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["convert"] + architecture + ["\(Self.hf)/roberta-tiny/model.safetensors", "-o", "\(dir)/r.keras"])
        #expect(r.status == 1, "\(r.stdout)")
        #expect(r.stderr.contains("model_type 'roberta'"), "\(r.stderr)")
        #expect(r.stderr.contains("bert (bert)"))
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        // verify refuses the same way: it would otherwise check a wrong model against itself
        let v = try CLI.run(["verify"] + architecture + ["\(Self.hf)/roberta-tiny/model.safetensors"])
        #expect(v.status == 1)
        #expect(v.stderr.contains("model_type 'roberta'"), "\(v.stderr)")
    }

    @Test func bareRoBERTaWeightsNeedTheirConfig() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for architecture in [[String](), ["bert"]] {
            let r = try CLI.run(["convert"] + architecture + ["\(Self.hf)/roberta-bare.pth", "-o", "\(dir)/r.keras", "--heads", "4"])
            #expect(r.status == 1, "\(r.stdout)")
            #expect(r.stderr.contains("RoBERTa's layout"), "\(r.stderr)")
            #expect(r.stderr.contains("--config"))
        }
        // with its own config.json named, the model type decides again
        let named = try CLI.run(["convert", "\(Self.hf)/roberta-bare.pth", "--config", "\(Self.hf)/roberta-tiny/config.json", "-o", "\(dir)/r.keras"])
        #expect(named.status == 1)
        #expect(named.stderr.contains("model_type 'roberta'"), "\(named.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
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

    @Test(arguments: [[String](), ["bert"]])
    func aDistilBERTFolderIsRefusedByItsModelType(_ architecture: [String]) throws {
        let r = try CLI.run(["convert"] + architecture + ["\(Self.hf)/distilbert-tiny", "-o", "/tmp/never.keras"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("model_type 'distilbert'"), "\(r.stderr)")
        #expect(!r.stderr.contains("hidden_size"))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test func aCheckpointOfNoKnownArchitectureSaysSo() throws {
        let none = try CLI.run(["convert", CLI.fixture("zip_float32.pth"), "-o", "/tmp/never.keras"])
        #expect(none.status == 1)
        #expect(none.stderr.contains("found none that matches"))
        #expect(none.stderr.contains("docs/adding-an-architecture.md"))
    }
}
