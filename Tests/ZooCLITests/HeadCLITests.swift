import Foundation
import Testing

/// A fine-tuned head as a user meets it: inspect names it, convert refuses what the weights
/// cannot say and converts once it is named (checkpoints from `zoo random`, whose names real
/// torchvision loads strictly: scripts/interop.sh).
@Suite struct HeadCLITests {
    @Test func aSequentialHeadIsShownRefusedUntilNamedThenConverted() throws {
        let dir = NSTemporaryDirectory() + "zoo-head-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ckpt = "\(dir)/finetuned.pth", out = "\(dir)/finetuned.keras"
        let made = try CLI.run(["random", "resnet18", "--head", "dropout,linear(7)", "--image-size", "32", "-o", ckpt])
        #expect(made.status == 0, "\(made.stderr)")

        let inspect = try CLI.run(["inspect", ckpt])
        #expect(inspect.stdout.contains("head:        'fc' Sequential(?, Linear(→7))"), "\(inspect.stdout)")

        let refused = try CLI.run(["convert", "resnet18", ckpt, "--image-size", "32", "-o", out])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("module 0 has no weights") && refused.stderr.contains("--head 'dropout,linear'"), "\(refused.stderr)")
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: out))

        let converted = try CLI.run(["convert", "resnet18", ckpt, "--image-size", "32", "--head", "dropout,linear", "-o", out])
        #expect(converted.status == 0, "\(converted.stderr)")
        #expect(converted.stdout.contains("head 'fc': Sequential(Dropout, Linear(→7))") && converted.stdout.contains("✓"), "\(converted.stdout)")

        let wrong = try CLI.run(["convert", "resnet18", ckpt, "--image-size", "32", "--head", "linear,linear", "-o", "\(dir)/wrong.keras"])
        #expect(wrong.status != 0 && wrong.stderr.contains("module 0"), "\(wrong.stderr)")
    }
}
