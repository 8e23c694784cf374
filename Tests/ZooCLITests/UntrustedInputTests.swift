import Foundation
import Testing
import ZooCore
#if canImport(Glibc)
import Glibc
#endif

/// Files from strangers and careless runs (issue #10): each case ends in one sentence, a
/// non-zero exit that is not a signal, the input untouched and nothing left in the folder.
@Suite(.serialized) struct UntrustedInputTests {
    static let example = CLI.repo.appendingPathComponent("examples/bert-tiny/pytorch_model.pth").path

    func folder() throws -> String {
        let path = NSTemporaryDirectory() + "zoo-untrusted-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// One seeded random resnet18 checkpoint (47 MB, as torch.save writes it) for every test that
    /// needs a conversion long enough to interrupt; each test works on its own copy.
    static let resnet18: String = {
        let dir = NSTemporaryDirectory() + "zoo-untrusted-shared-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = "\(dir)/r18.pth"
        _ = try? CLI.run(["random", "resnet18", "-o", path, "--force"])
        return path
    }()

    func copyOfResNet18(into dir: String) throws -> String {
        let path = "\(dir)/r18.pth"
        try FileManager.default.copyItem(atPath: Self.resnet18, toPath: path)
        return path
    }

    func contents(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    }

    /// One line on stderr that starts like every zoo error and names `file`; nothing on stdout.
    func expectOneSentence(_ r: CLI.Result, status: Int32 = 1, naming file: String? = nil,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(lines.count == 1, "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("zoo: error: "), "\(r.stderr)", sourceLocation: sourceLocation)
        if let file { #expect(r.stderr.contains(file), "\(r.stderr)", sourceLocation: sourceLocation) }
    }

    static func safetensors(_ tensors: [(String, String, [Int], Int)]) -> Data {
        var header = "{"
        var offset = 0
        for (i, (name, dtype, shape, bytes)) in tensors.enumerated() {
            let escaped = name.unicodeScalars.map { $0.value < 0x20 || $0 == "\"" || $0 == "\\" ? String(format: "\\u%04x", $0.value) : String($0) }.joined()
            header += (i > 0 ? "," : "") + "\"\(escaped)\":{\"dtype\":\"\(dtype)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}"
            offset += bytes
        }
        header += "}"
        var data = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        data.append(Data(count: offset))
        return data
    }

    /// Sets a little-endian 32-bit field of the central-directory record of every entry whose
    /// name ends in `suffix`.
    static func patchCentralDirectory(_ data: inout Data, entry suffix: String, fieldOffset: Int, value: UInt32) -> Int {
        var patched = 0
        var i = 0
        let bytes = [UInt8](data)
        while i + 46 <= bytes.count {
            if bytes[i] == 0x50, bytes[i + 1] == 0x4b, bytes[i + 2] == 1, bytes[i + 3] == 2 {
                let nameLength = Int(bytes[i + 28]) | Int(bytes[i + 29]) << 8
                let name = String(decoding: bytes[(i + 46)..<min(bytes.count, i + 46 + nameLength)], as: UTF8.self)
                if name.hasSuffix(suffix) {
                    for k in 0..<4 { data[i + fieldOffset + k] = UInt8((value >> (8 * UInt32(k))) & 0xff) }
                    patched += 1
                }
            }
            i += 1
        }
        return patched
    }

    // 1. A safetensors shape whose byte count overflows.
    @Test(arguments: [("F32", [1 << 62]), ("F32", [1 << 31, 1 << 31]), ("I64", [1 << 61]), ("F32", [0, 1 << 62, 4])])
    func overflowingSafetensorsShapesAreRefused(_ dtype: String, _ shape: [Int]) throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = "\(dir)/huge.safetensors"
        try Self.safetensors([("a", dtype, shape, 4)]).write(to: URL(fileURLWithPath: file))
        expectOneSentence(try CLI.run(["inspect", file]), naming: file)
        expectOneSentence(try CLI.run(["convert", "resnet18", file, "-o", "\(dir)/out.keras"]), naming: file)
        #expect(try contents(dir) == ["huge.safetensors"])
    }

    // 3. A zip entry whose central directory claims a huge size: refused before any allocation.
    @Test func hugeClaimedZipSizesAreRefused() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = try Data(contentsOf: URL(fileURLWithPath: CLI.fixture("zip_float32.pth")))
        // uncompressed size (offset 24) of the stored data.pkl, then also its compressed size (20)
        var sizeOnly = source
        #expect(Self.patchCentralDirectory(&sizeOnly, entry: "data.pkl", fieldOffset: 24, value: 0xF000_0000) == 1)
        var both = sizeOnly
        #expect(Self.patchCentralDirectory(&both, entry: "data.pkl", fieldOffset: 20, value: 0xF000_0000) == 1)
        // a deflated data.pkl (written by Python's zipfile from a real torch.save file) claiming 0xF0000000
        var deflated = try Data(contentsOf: URL(fileURLWithPath: CLI.fixture("zip_deflated_pickle.pth")))
        #expect(Self.patchCentralDirectory(&deflated, entry: "data.pkl", fieldOffset: 24, value: 0xF000_0000) == 1)
        // a storage record claiming the same
        var storage = source
        #expect(Self.patchCentralDirectory(&storage, entry: "data/0", fieldOffset: 24, value: 0xF000_0000) == 1)
        for (name, data) in [("size.pth", sizeOnly), ("both.pth", both), ("deflated.pth", deflated), ("storage.pth", storage)] {
            let file = "\(dir)/\(name)"
            try data.write(to: URL(fileURLWithPath: file))
            // a 1 GB address-space limit: any attempt to allocate the claimed size fails loudly
            let r = try CLI.run(name == "storage.pth" ? ["convert", file, "-o", "\(dir)/out.keras"] : ["inspect", file], addressSpaceLimitMB: 1024)
            expectOneSentence(r, naming: file)
        }
        // the untouched deflated fixture reads fine
        #expect(try CLI.run(["inspect", CLI.fixture("zip_deflated_pickle.pth")]).status == 0)
    }

    // 4. The input shrinks while it is read: one sentence, exit 1, nothing written.
    @Test func truncatedInputMidRunEndsCleanly() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try copyOfResNet18(into: dir)
        let process = try CLI.start(["convert", input, "-o", "\(dir)/r18.keras"])
        // once the staging file exists the weights are being read from the mapped checkpoint
        #expect(waitForUnnamedFile(of: process.processIdentifier, in: dir))
        #expect(truncate(input, 20_000_000) == 0)
        let r = CLI.finish(process)
        expectOneSentence(r, naming: input)
        #expect(r.stderr.contains("truncated or rewrote it"), "\(r.stderr)")
        #expect(try contents(dir) == ["r18.pth"])
    }

    /// Waits until `pid` holds an unnamed file (O_TMPFILE) in `folder` open.
    func waitForUnnamedFile(of pid: Int32, in folder: String, seconds: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            for fd in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? [] {
                if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                   target.hasPrefix(folder + "/"), target.hasSuffix("(deleted)") {
                    return true
                }
            }
            usleep(2000)
        }
        return false
    }

    // 5. Signals and limits leave nothing; a named staging file of a dead process is removed.
    @Test(arguments: [SIGTERM, SIGHUP, SIGINT, SIGKILL])
    func interruptedConversionsLeaveNothing(_ signal: Int32) throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try copyOfResNet18(into: dir)
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        let process = try CLI.start(["convert", input, "-o", "\(dir)/r18.keras"])
        #expect(waitForUnnamedFile(of: process.processIdentifier, in: dir))
        kill(process.processIdentifier, signal)
        let r = CLI.finish(process)
        #expect(r.terminatedBySignal == signal, "status \(r.status): \(r.stderr) \(r.stdout) \((try? contents(dir)) ?? [])")
        #expect(try contents(dir) == ["r18.pth"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == before)
    }

    @Test func fileSizeLimitIsAnErrorAndLeavesNothing() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = try copyOfResNet18(into: dir)
        let r = try CLI.run(["convert", input, "-o", "\(dir)/r18.keras"], fileSizeLimitMB: 8)
        expectOneSentence(r, naming: "r18.keras")
        #expect(try contents(dir) == ["r18.pth"])
    }

    @Test func staleStagingFilesOfDeadProcessesAreRemoved() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // pid 2^22 + 1 is above Linux's pid_max limit, so no such process exists
        let stale = "\(dir)/.bert.keras.zoo-staging-4194305-77"
        let alive = "\(dir)/.bert.keras.zoo-staging-\(getpid())-78"
        try Data(count: 1000).write(to: URL(fileURLWithPath: stale))
        try Data(count: 1000).write(to: URL(fileURLWithPath: alive))
        let r = try CLI.run(["convert", "bert", Self.example, "-o", "\(dir)/bert.keras", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try contents(dir) == [".bert.keras.zoo-staging-\(getpid())-78", "bert.keras"])
    }

    // 6. The output is the input, however it is spelled: refused even with --force.
    @Test func theInputIsNeverTheOutput() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: "\(dir)/sub", withIntermediateDirectories: true)
        let original = try Data(contentsOf: URL(fileURLWithPath: Self.example))
        for name in ["model.h5", "x.keras", "w.weights.h5"] {
            try original.write(to: URL(fileURLWithPath: "\(dir)/\(name)"))
            try FileManager.default.copyItem(atPath: CLI.repo.appendingPathComponent("examples/bert-tiny/config.json").path,
                                             toPath: "\(dir)/config.json")
            defer { try? FileManager.default.removeItem(atPath: "\(dir)/config.json") }
            try FileManager.default.createSymbolicLink(atPath: "\(dir)/link-\(name)", withDestinationPath: "\(dir)/\(name)")
            try FileManager.default.linkItem(atPath: "\(dir)/\(name)", toPath: "\(dir)/hard-\(name)")
            for (input, output) in [("\(dir)/\(name)", "\(dir)/\(name)"), ("\(dir)/\(name)", "\(dir)/sub/../\(name)"),
                                    ("\(dir)/link-\(name)", "\(dir)/\(name)"), ("\(dir)/\(name)", "\(dir)/hard-\(name)")] {
                let r = try CLI.run(["convert", "bert", input, "-o", output, "--force"])
                expectOneSentence(r, status: 64, naming: output)
                #expect(r.stderr.contains("never replaces its input"), "\(r.stderr)")
                #expect(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name)")) == original)
            }
        }
    }

    // 7. Two runs to one name without --force: exactly one wins, the other keeps its hands off.
    @Test func racingConversionsWithoutForceHaveOneWinner() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = "\(dir)/bert.keras"
        let runs = try (0..<3).map { _ in try CLI.start(["convert", "bert", Self.example, "-o", out, "--quiet"]) }
        let results = runs.map { CLI.finish($0) }
        #expect(results.filter { $0.status == 0 }.count == 1, "\(results.map(\.stderr))")
        for loser in results where loser.status != 0 {
            expectOneSentence(loser, status: 64, naming: out)
            #expect(loser.stderr.contains("already exists"))
        }
        #expect(try contents(dir) == ["bert.keras"])
    }

    // 8. Symbolic links and folders at the output are never written through or replaced.
    @Test func linksAndFoldersAtTheOutputAreRefused() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: "\(dir)/folder", withIntermediateDirectories: true)
        try Data("target".utf8).write(to: URL(fileURLWithPath: "\(dir)/target.keras"))
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/dangling.keras", withDestinationPath: "\(dir)/nowhere")
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/to-folder.keras", withDestinationPath: "\(dir)/folder")
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/to-file.keras", withDestinationPath: "\(dir)/target.keras")
        try FileManager.default.createDirectory(atPath: "\(dir)/is-folder.keras", withIntermediateDirectories: true)
        for (name, why) in [("dangling.keras", "symbolic link"), ("to-folder.keras", "symbolic link"),
                            ("to-file.keras", "symbolic link"), ("is-folder.keras", "a folder")] {
            for force in [false, true] {
                let r = try CLI.run(["convert", "bert", Self.example, "-o", "\(dir)/\(name)"] + (force ? ["--force"] : []))
                expectOneSentence(r, status: 64, naming: name)
                #expect(r.stderr.contains(why), "\(r.stderr)")
            }
        }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/dangling.keras") == "\(dir)/nowhere")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/to-folder.keras") == "\(dir)/folder")
        #expect(try String(contentsOfFile: "\(dir)/target.keras", encoding: .utf8) == "target")
        #expect(try contents(dir) == ["dangling.keras", "folder", "is-folder.keras", "target.keras", "to-file.keras", "to-folder.keras"])
        #expect(try contents("\(dir)/folder").isEmpty)
    }

    // 9. Names from the file are escaped and cut before they reach a terminal.
    @Test func controlCharactersAndLongNamesAreEscaped() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = "\(dir)/names.safetensors"
        let hostile = "\u{1b}]0;pwned\u{07}evil\nzoo: error: fake line\r\u{9b}31m\u{202e}"
        try Self.safetensors([(hostile, "F32", [1], 4), (String(repeating: "x", count: 100_000), "F32", [1], 4)])
            .write(to: URL(fileURLWithPath: file))
        let inspect = try CLI.run(["inspect", file])
        #expect(inspect.status == 0)
        let forbidden: (Unicode.Scalar) -> Bool = { ($0.value < 0x20 && $0 != "\n") || (0x7f...0x9f).contains($0.value) || $0 == "\u{202e}" }
        #expect(!inspect.stdout.unicodeScalars.contains(where: forbidden))
        #expect(inspect.stdout.contains("\\u{1b}]0;pwned\\u{7}evil\\nzoo: error: fake line\\r"))
        #expect(inspect.stdout.contains("(99840 more characters)"))
        #expect(inspect.stdout.count < 5000)
        // an error naming the tensor stays one line
        let convert = try CLI.run(["convert", "resnet18", file, "-o", "\(dir)/r.keras"])
        #expect(convert.status == 1)
        #expect(!convert.stderr.unicodeScalars.contains(where: forbidden))
        #expect(convert.stderr.split(separator: "\n").last?.hasPrefix("zoo: error: ") == true)
        #expect(convert.stderr.split(separator: "\n").filter { $0.hasPrefix("zoo: error:") }.count == 1)
        // a refused pickle global with an escape sequence in its name
        let pickle = "\(dir)/evil.pth"
        try Data(Self.legacyPickle(global: "os\n\u{1b}[2J", name: "system")).write(to: URL(fileURLWithPath: pickle))
        let refused = try CLI.run(["inspect", pickle])
        expectOneSentence(refused, naming: pickle)
        #expect(!refused.stderr.unicodeScalars.contains(where: forbidden))
        #expect(refused.stderr.contains("\\u{1b}[2J"))
    }

    /// A protocol-2 pickle whose first opcode loads `module.name` with GLOBAL (newline-terminated
    /// strings, so the module can hold any other character).
    static func legacyPickle(global module: String, name: String) -> [UInt8] {
        [0x80, 0x02, UInt8(ascii: "c")] + Array(module.utf8.filter { $0 != 0x0a }) + [0x0a] + Array(name.utf8) + [0x0a, UInt8(ascii: ".")]
    }

    // Internal errors are not bad input: their own exit status.
    @Test func helpNamesTheExitStatuses() throws {
        let r = try CLI.run(["--help"])
        #expect(r.stdout.contains("70 for an internal error"))
    }
}
