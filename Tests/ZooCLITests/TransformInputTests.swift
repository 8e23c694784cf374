import Foundation
import Testing
import ZooCore

/// `--transform-input`: how a user says what GoogLeNet's and Inception v3's weights cannot.
@Suite struct TransformInputTests {
    func folder() throws -> String {
        let path = NSTemporaryDirectory() + "zoo-transform-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The .keras file's config.json (stored, not deflated) names the Rescaling layer.
    func hasTransformLayer(_ path: String) throws -> Bool {
        let bytes = try #require(FileManager.default.contents(atPath: path))
        return bytes.range(of: Data("\"transform_input\"".utf8)) != nil
    }

    @Test func offByDefaultOnWhenAsked() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pth = "\(dir)/g.pth"
        let random = try CLI.run(["random", "googlenet", "--classes", "10", "--image-size", "15", "-o", pth])
        #expect(random.status == 0, "\(random.stderr)")
        for (flags, expected) in [([String](), false), (["--no-transform-input"], false), (["--transform-input"], true)] {
            let out = "\(dir)/g\(flags.joined()).keras"
            // detected from the weights; the flag, not the weights, decides transform_input
            let result = try CLI.run(["convert", pth, "--image-size", "15", "-o", out] + flags)
            #expect(result.status == 0, "\(flags): \(result.stderr)")
            #expect(try hasTransformLayer(out) == expected, "\(flags)")
            // unless the user said, a note names the default and the flag
            #expect(result.stderr.contains("converting with it off") == flags.isEmpty, "\(flags): \(result.stderr)")
        }
    }

    @Test func refusedWhereThereIsNone() throws {
        let result = try CLI.run(["map", "resnet18", "--transform-input"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--transform-input applies to googlenet, inception_v3; resnet18 has no transform_input"), "\(result.stderr)")
    }
}
