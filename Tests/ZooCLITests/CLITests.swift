import Foundation
import Testing
import KerasIO
import ZooCore

/// Runs the built `zoo` executable as a user would.
enum CLI {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var executable: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("zoo").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return repo.appendingPathComponent(".build/debug/zoo").path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The signal that ended the process, if one did.
        var terminatedBySignal: Int32? = nil
    }

    /// A running `zoo` whose output is collected as it comes (so a full pipe never blocks it).
    final class Running {
        let process: Process
        fileprivate let out = Pipe(), err = Pipe()
        fileprivate var outData = Data(), errData = Data()
        fileprivate let group = DispatchGroup()
        var processIdentifier: Int32 { process.processIdentifier }

        init(_ process: Process) { self.process = process }
    }

    static func run(_ arguments: [String], addressSpaceLimitMB: Int? = nil, fileSizeLimitMB: Int? = nil,
                    in directory: String? = nil) throws -> Result {
        finish(try start(arguments, addressSpaceLimitMB: addressSpaceLimitMB, fileSizeLimitMB: fileSizeLimitMB, in: directory))
    }

    /// Starts zoo (in `directory`, else this process's folder); with limits, through
    /// `sh -c 'ulimit …; exec zoo …'`.
    static func start(_ arguments: [String], addressSpaceLimitMB: Int? = nil, fileSizeLimitMB: Int? = nil,
                      in directory: String? = nil) throws -> Running {
        let process = Process()
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var limits: [String] = []
        if let mb = addressSpaceLimitMB { limits.append("ulimit -v \(mb * 1024)") }
        if let mb = fileSizeLimitMB { limits.append("ulimit -f \(mb * 1024)") }
        if limits.isEmpty {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", limits.joined(separator: "; ") + "; exec \"$0\" \"$@\"", executable] + arguments
        }
        let running = Running(process)
        process.standardOutput = running.out
        process.standardError = running.err
        try process.run()
        for (pipe, keyPath) in [(running.out, \Running.outData), (running.err, \Running.errData)] {
            running.group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                running[keyPath: keyPath] = data
                running.group.leave()
            }
        }
        return running
    }

    static func finish(_ running: Running) -> Result {
        running.group.wait()
        running.process.waitUntilExit()
        let signalled = running.process.terminationReason == .uncaughtSignal
        return Result(status: running.process.terminationStatus, stdout: String(decoding: running.outData, as: UTF8.self),
                      stderr: String(decoding: running.errData, as: UTF8.self),
                      terminatedBySignal: signalled ? running.process.terminationStatus : nil)
    }

    static func fixture(_ name: String) -> String { repo.appendingPathComponent("Tests/Fixtures/torch/\(name)").path }
}

@Suite struct InspectCommandTests {
    @Test func jsonListsEveryTensorInFileOrder() throws {
        let manifest = try JSONValue.parse(Array(FileManager.default.contents(atPath: CLI.fixture("manifest.json")) ?? Data()))
        let zipFiles = (manifest["good"]?.array ?? []).filter { $0["format"]?.string == "zip" && ($0["key"] ?? .null) == .null }
        #expect(!zipFiles.isEmpty)
        for item in zipFiles {
            let file = try #require(item["file"]?.string)
            let result = try CLI.run(["inspect", CLI.fixture(file), "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let json = try JSONValue.parse(Array(result.stdout.utf8))
            #expect(json["format"]?.string == "zip")
            let got = (json["tensors"]?.array ?? []).map { t in
                "\(t["name"]?.string ?? "") \(t["dtype"]?.string ?? "") \(t["shape"]?.serialized ?? "")"
            }
            let want = (item["tensors"]?.array ?? []).map { t in
                "\(t["name"]?.string ?? "") \(t["dtype"]?.string ?? "") \(t["shape"]?.serialized ?? "")"
            }
            #expect(got == want, "\(file)")
        }
    }

    @Test func textNamesFormatAndCounts() throws {
        let result = try CLI.run(["inspect", CLI.fixture("zip_float32.pth")])
        #expect(result.status == 0)
        #expect(result.stdout.contains("format:      PyTorch zip"))
        #expect(result.stdout.contains("tensors:"))
        #expect(result.stdout.contains("parameters:"))
    }

    @Test func badInputExitsNonZeroWithOneLine() throws {
        for file in ["empty.pth", "truncated_zip.pth", "not_a_checkpoint.pth"] {
            let result = try CLI.run(["inspect", CLI.fixture(file)])
            #expect(result.status == 1, "\(file)")
            #expect(result.stdout.isEmpty)
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(result.stderr)")
            #expect(lines.first?.hasPrefix("zoo: error: ") == true)
        }
    }

    @Test func hostileFileIsRefusedByName() throws {
        try? FileManager.default.removeItem(atPath: "/tmp/zoo-pwned-os-system")
        let result = try CLI.run(["inspect", CLI.fixture("hostile_os_system.pth")])
        #expect(result.status == 1)
        #expect(result.stderr.contains("refused to load global 'posix.system'"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/zoo-pwned-os-system"))
    }

    @Test func helpExplainsTheCommands() throws {
        let result = try CLI.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("inspect"))
        let inspect = try CLI.run(["inspect", "--help"])
        #expect(inspect.stdout.contains("--key"))
        #expect(inspect.stdout.contains("--json"))
    }
}

@Suite struct ArchitectureCommandTests {
    @Test func listNamesEveryFamily() throws {
        let result = try CLI.run(["list", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONValue.parse(Array(result.stdout.utf8))
        let names = (json["architectures"]?.array ?? []).compactMap { $0["name"]?.string }
        #expect(names.contains("resnet50") && names.contains("vgg16_bn") && names.contains("bert"))
        let text = try CLI.run(["list"])
        #expect(text.stdout.contains("resnext50_32x4d"))
    }

    @Test func mapJSONHasEntriesWithBothSides() throws {
        let result = try CLI.run(["map", "vgg16", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let entries = try JSONValue.parse(Array(result.stdout.utf8))["entries"]?.array ?? []
        #expect(entries.count == 32)
        let fc1 = try #require(entries.first { $0["torch"]?["name"]?.string == "classifier.0.weight" })
        #expect(fc1["torch"]?["shape"] == .array([.int(4096), .int(25088)]))
        #expect(fc1["keras"]?["layer"]?.string == "fc1")
        #expect(fc1["keras"]?["weight"]?.string == "kernel")
        #expect(fc1["keras"]?["shape"] == .array([.int(25088), .int(4096)]))
        #expect(fc1["transform"]?.string?.hasPrefix("flatten_permute") == true)
    }

    @Test func mapAgainstTheWrongCheckpointListsTheDifferences() throws {
        let result = try CLI.run(["map", "resnet18", "--checkpoint", CLI.fixture("zip_tiny_cnn.pth")])
        #expect(result.status == 1)
        #expect(result.stderr.contains("checkpoint does not match resnet18"))
        #expect(result.stderr.contains("unexpected"))
        #expect(result.stderr.split(separator: "\n").last?.hasPrefix("zoo: error: ") == true)
    }

    @Test func unknownArchitectureIsAUsageError() throws {
        let result = try CLI.run(["map", "resnet9000"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("expected an architecture zoo knows"))
        #expect(result.stderr.contains("docs/adding-an-architecture.md"))
        // ARCH WEIGHTS with an unknown ARCH is an unknown architecture, not a missing file
        let convert = try CLI.run(["convert", "mobilenet_v9", CLI.fixture("zip_float32.pth")])
        #expect(convert.status == 64)
        #expect(convert.stderr.contains("found 'mobilenet_v9' (close: mobilenet_v2"), "\(convert.stderr)")
        #expect(!convert.stderr.contains("cannot open"))
    }

    @Test func inspectSaysWhenNothingMatches() throws {
        let result = try CLI.run(["inspect", CLI.fixture("zip_tiny_cnn.pth"), "--json"])
        #expect(result.status == 0)
        #expect(try JSONValue.parse(Array(result.stdout.utf8))["architectures"] == .array([]))
    }
}

@Suite struct ConvertCommandTests {
    static let example = CLI.repo.appendingPathComponent("examples/bert-tiny/pytorch_model.pth").path

    func folder() throws -> String {
        let path = NSTemporaryDirectory() + "zoo-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test(arguments: ["keras", "weights.h5", "h5"])
    func convertsVerifiesAndSummarises(_ ext: String) throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = "\(dir)/bert.\(ext)"
        // the architecture is detected; config.json beside the checkpoint gives the heads
        let result = try CLI.run(["convert", Self.example, "-o", out, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONValue.parse(Array(result.stdout.utf8))
        #expect(json["architecture"]?.string == "bert")
        #expect(json["tensors"]?.int == 39)
        #expect(json["verification"]?["passed"]?.bool == true)
        #expect((json["verification"]?["max_rel_diff"]?.double ?? 1) <= 1e-4)
        #expect(FileManager.default.fileExists(atPath: out))
        // only the output is left in the folder: no staging or temporary files
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["bert.\(ext)"])
        // the written file verifies on its own
        let verify = try CLI.run(["verify", "bert", Self.example, out, "--json"])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(try JSONValue.parse(Array(verify.stdout.utf8))["timings_ms"]?["keras_nhwc"]?.double != nil)
    }

    /// The text report sums the layers up — the first divergent one, the worst five — and
    /// `--layers` prints every one: a file checked against another checkpoint fails at its first
    /// layer.
    @Test func verifySumsUpAndListsEveryLayerOnRequest() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for seed in ["1", "2"] {
            let r = try CLI.run(["random", "resnet18", "-o", "\(dir)/r\(seed).pth", "--classes", "10", "--seed", seed])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let converted = try CLI.run(["convert", "resnet18", "\(dir)/r1.pth", "-o", "\(dir)/r1.keras", "--quiet", "--image-size", "64"])
        #expect(converted.status == 0, "\(converted.stderr)")
        let fine = try CLI.run(["verify", "resnet18", "\(dir)/r1.pth", "\(dir)/r1.keras", "--image-size", "64"])
        #expect(fine.status == 0, "\(fine.stderr)")
        #expect(fine.stdout.contains("compared, all within 1e-05"), "\(fine.stdout)")
        #expect(fine.stdout.contains("the worst 5:"))
        let other = try CLI.run(["verify", "resnet18", "\(dir)/r2.pth", "\(dir)/r1.keras", "--image-size", "64"])
        #expect(other.status == 1)
        #expect(other.stdout.contains("first divergent: conv1_conv "), "\(other.stdout)")
        #expect(other.stdout.contains("(--layers prints all"))
        let rows = other.stdout.split(separator: "\n").count
        let every = try CLI.run(["verify", "resnet18", "\(dir)/r2.pth", "\(dir)/r1.keras", "--image-size", "64", "--layers"])
        #expect(every.status == 1)
        #expect(every.stdout.split(separator: "\n").count > rows + 20, "\(every.stdout)")
        #expect(every.stdout.contains("conv2_block1_1_conv"))
        #expect(!every.stdout.contains("--layers prints"))
    }

    /// `--image-size HxW`: an image model whose graph allows any size converts and verifies at a
    /// non-square odd one; a ViT, whose position table fixes a square size, is refused; a size
    /// that is not one is refused by the parser.
    @Test func nonSquareImageSizes() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try CLI.run(["random", "resnet18", "-o", "\(dir)/r.pth", "--classes", "10"]).status == 0)
        let converted = try CLI.run(["convert", "resnet18", "\(dir)/r.pth", "-o", "\(dir)/r.keras", "--image-size", "197x161"])
        #expect(converted.status == 0, "\(converted.stderr)")
        #expect(converted.stdout.contains("✓"))
        let verified = try CLI.run(["verify", "resnet18", "\(dir)/r.pth", "\(dir)/r.keras", "--input-size", "197x161", "--json"])
        #expect(verified.status == 0, "\(verified.stderr)")
        // the file's input is 197×161 (NHWC), as its config says
        let reader = try KerasFile.reader("\(dir)/r.keras")
        let input = try #require(reader.model?.layers.first { $0.className == "InputLayer" })
        #expect(input.configValue("batch_shape")?.array?.compactMap { $0.int } == [197, 161, 3], "\(input.configValue("batch_shape")?.serialized ?? "")")
        #expect(try CLI.run(["random", "vit_b_16", "-o", "\(dir)/v.pth", "--classes", "10"]).status == 0)
        let vit = try CLI.run(["convert", "vit_b_16", "\(dir)/v.pth", "-o", "\(dir)/v.keras", "--image-size", "224x160"])
        #expect(vit.status != 0)
        #expect(vit.stderr.contains("fix the image size at 224×224"), "\(vit.stderr)")
        let bad = try CLI.run(["convert", "resnet18", "\(dir)/r.pth", "-o", "\(dir)/x.keras", "--image-size", "0x5"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("'0x5' is invalid for '--image-size"), "\(bad.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["r.keras", "r.pth", "v.pth"])
    }

    @Test func existingOutputIsKeptWithoutForce() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = "\(dir)/bert.keras"
        try Data("precious".utf8).write(to: URL(fileURLWithPath: out))
        let refused = try CLI.run(["convert", "bert", Self.example, "-o", out])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("already exists"))
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "precious")
        let forced = try CLI.run(["convert", "bert", Self.example, "-o", out, "--force", "--quiet"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stdout.isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)).count > 1000)
    }

    @Test func wrongArchitectureLeavesNoFile() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try CLI.run(["convert", "resnet18", Self.example, "-o", "\(dir)/r.keras"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("expected the tensors of resnet18"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test func unwritableFolderIsAClearError() throws {
        let result = try CLI.run(["convert", "bert", Self.example, "-o", "/proc/zoo-no/bert.keras"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("zoo: error: "))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func badOutputNameIsAUsageError() throws {
        let result = try CLI.run(["convert", "bert", Self.example, "-o", "model.onnx"])
        #expect(result.status == 64)
        #expect(result.stderr.contains(".keras, .weights.h5 or .h5"))
    }

    @Test func randomCheckpointsConvert() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = CLI.repo.appendingPathComponent("examples/bert-tiny/config.json").path
        let made = try CLI.run(["random", "bert", "--config", config, "--seed", "5", "-o", "\(dir)/r.pth"])
        #expect(made.status == 0, "\(made.stderr)")
        let converted = try CLI.run(["convert", "\(dir)/r.pth", "--config", config, "-o", "\(dir)/r.keras", "--json"])
        #expect(converted.status == 0, "\(converted.stderr)")
        #expect(try JSONValue.parse(Array(converted.stdout.utf8))["verification"]?["passed"]?.bool == true)
    }
}

@Suite struct NightlyCommandTests {
    func folder() throws -> String {
        let path = NSTemporaryDirectory() + "zoo-nightly-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func passingRunWritesAllThreeReports() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try CLI.run(["nightly", "--small", "--only", "bert", "--out", dir])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONValue.parse(Array(FileManager.default.contents(atPath: "\(dir)/report.json") ?? Data()))
        #expect(report["passed"]?.bool == true)
        let bert = try #require(report["architectures"]?.array?.first)
        #expect(bert["formats"]?.array?.map { $0["format"]?.string ?? "" } == ["keras", "weights.h5", "h5"])
        #expect((bert["layers"]?.array?.count ?? 0) > 10)
        let html = try String(contentsOfFile: "\(dir)/report.html", encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("PASSED"))
        #expect(try String(contentsOfFile: "\(dir)/report.md", encoding: .utf8).contains("| bert |"))
        // scratch checkpoints and Keras files are removed as the run goes
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["report.html", "report.json", "report.md"])
    }

    @Test func brokenMappingFailsTheRunAndTheReportSaysWhere() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try CLI.run(["nightly", "--small", "--only", "bert", "--out", dir, "--inject-fault", "bert"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("nightly failed"))
        let report = try JSONValue.parse(Array(FileManager.default.contents(atPath: "\(dir)/report.json") ?? Data()))
        #expect(report["passed"]?.bool == false)
        let bert = try #require(report["architectures"]?.array?.first)
        #expect(bert["first_divergent_layer"]?.string == "word_embeddings")
        #expect(try String(contentsOfFile: "\(dir)/report.html", encoding: .utf8).contains("FAILED"))
    }

    @Test func regressionsAgainstThePreviousRunAreFlagged() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // a previous run whose differences were far smaller than any real one
        let previous = """
        {"architectures": [{"name": "bert", "formats": [{"format": "keras", "max_rel_diff": 0, "convert_ms": 1}]}]}
        """
        try Data(previous.utf8).write(to: URL(fileURLWithPath: "\(dir)/old.json"))
        let result = try CLI.run(["nightly", "--small", "--only", "bert", "--out", dir, "--previous", "\(dir)/old.json",
                                  "--inject-fault", "bert"])
        #expect(result.status == 1)
        let report = try JSONValue.parse(Array(FileManager.default.contents(atPath: "\(dir)/report.json") ?? Data()))
        #expect(report["regressions"]?.array?.first?.string?.contains("bert keras") == true)
    }
}

@Suite struct FullDiskTests {
    /// A file-size limit makes every write past 25 KB fail as a full disk would (EFBIG instead of
    /// ENOSPC); SIGXFSZ is ignored so the write returns the error instead of killing zoo.
    @Test(arguments: ["keras", "weights.h5", "h5"])
    func aFailedWriteLeavesNothingAndSaysSo(_ ext: String) throws {
        let dir = NSTemporaryDirectory() + "zoo-full-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = "\(dir)/bert.\(ext)"
        let script = "ulimit -f 50; trap '' XFSZ; exec \"$0\" convert bert \"$1\" -o \"$2\""
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script, CLI.executable, ConvertCommandTests.example, out]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "\(message)")
        #expect(message.hasPrefix("zoo: error: "))
        #expect(message.contains(out), "\(message)")
        #expect(message.split(separator: "\n").count == 1, "\(message)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }
}
