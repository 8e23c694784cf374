import Foundation
import Testing
import ZooCore

/// Checkpoints as training code saves them (scripts/make_wrapper_fixtures.py, real PyTorch):
/// the weights are found, the prefix that makes them match is removed, and convert says so.
@Suite struct WrapperTests {
    static let folder = CLI.repo.appendingPathComponent("Tests/Fixtures/wrappers").path

    func convert(_ file: String, _ extra: [String] = []) throws -> JSONValue {
        let out = NSTemporaryDirectory() + "zoo-wrapper-\(UUID().uuidString).keras"
        defer { unlink(out) }
        let r = try CLI.run(["convert", "\(Self.folder)/\(file)", "-o", out, "--json"] + extra)
        #expect(r.status == 0, "\(file): \(r.stderr)")
        return try JSONValue.parse(Array(r.stdout.utf8))
    }

    @Test func lightningCheckpointsConvert() throws {
        let json = try convert("lightning.ckpt")
        #expect(json["architecture"]?.string == "bert")
        #expect(json["weights_at"]?.string == "state_dict")
        #expect(json["stripped_prefix"]?.string == "model.")
        #expect(json["verification"]?["passed"]?.bool == true)
    }

    @Test(arguments: [("compiled.pth", "_orig_mod."), ("dataparallel_compiled.pth", "module._orig_mod.")])
    func compiledModelsConvert(_ file: String, _ prefix: String) throws {
        let json = try convert(file)
        #expect(json["stripped_prefix"]?.string == prefix)
        #expect(json["verification"]?["passed"]?.bool == true)
    }

    @Test func anEMACheckpointSaysWhichWeightsItUsedAndHowToChooseTheOthers() throws {
        let out = NSTemporaryDirectory() + "zoo-wrapper-\(UUID().uuidString).keras"
        defer { unlink(out) }
        let text = try CLI.run(["convert", "\(Self.folder)/ema.pth", "-o", out])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("weights at 'model'; the checkpoint also holds 'model_ema' (convert it with --key model_ema)"), "\(text.stdout)")
        let ema = try convert("ema.pth", ["--key", "model_ema"])
        #expect(ema["weights_at"]?.string == "model_ema")
        #expect(ema["stripped_prefix"]?.string == "module.")
        #expect(ema["verification"]?["passed"]?.bool == true)
    }

    @Test func anExplicitPrefixIsCheckedAgainstEveryName() throws {
        let ok = try convert("lightning.ckpt", ["--strip-prefix", "model."])
        #expect(ok["stripped_prefix"]?.string == "model.")
        let r = try CLI.run(["convert", "\(Self.folder)/compiled.pth", "--strip-prefix", "model.", "-o", "/tmp/never.keras"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("expected every tensor name to start with --strip-prefix 'model.', found '_orig_mod."), "\(r.stderr)")
    }

    @Test func convertJSONDescribesAFailureToo() throws {
        let r = try CLI.run(["convert", "resnet18", "\(Self.folder)/compiled.pth", "-o", "/tmp/never.keras", "--json"])
        #expect(r.status == 1)
        let json = try JSONValue.parse(Array(r.stdout.utf8))
        #expect(json["kind"]?.string == "mismatch")
        #expect(json["exit_status"]?.int == 1)
        #expect(json["error"]?.string?.contains("expected the tensors of resnet18") == true)
    }
}
